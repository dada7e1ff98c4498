/**
 * Hand-made PNG files for the decoder tests: every colour type and bit depth the format allows,
 * any of the five row filters, optional Adam7 interlacing. Written from the PNG specification
 * (ISO/IEC 15948), independent of src/data/png.ts, so the two check each other.
 */
import { deflateSync } from 'node:zlib';

function crc(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, tail]);
}

export interface PngSpec {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  depth: 1 | 2 | 4 | 8 | 16;
  /** Per pixel, its samples (1 to 4 channel values, or the palette index), row-major. */
  samples: number[][];
  /** RGB triples, for colour type 3. */
  palette?: [number, number, number][];
  interlace?: boolean;
  /** Row filter used for each row: row y uses filters[y % filters.length]; default all 0. */
  filters?: number[];
  /** Extra chunks written before IDAT (e.g. tRNS). */
  extra?: Buffer[];
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

function filterRow(f: number, row: Uint8Array, prev: Uint8Array | null, bpp: number): Uint8Array {
  const out = new Uint8Array(row.length);
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp]! : 0;
    const b = prev ? prev[i]! : 0;
    const c = prev && i >= bpp ? prev[i - bpp]! : 0;
    const p = a + b - c;
    const pred = [
      0,
      a,
      b,
      (a + b) >> 1,
      Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
          ? b
          : c,
    ][f]!;
    out[i] = (row[i]! - pred) & 0xff;
  }
  return out;
}

export function makePng(s: PngSpec): Buffer {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[s.colorType];
  const bits = channels * s.depth;
  const bpp = Math.max(1, bits >> 3);
  const passes = s.interlace ? ADAM7 : [[0, 0, 1, 1]];
  const raw: number[] = [];
  let rowNo = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const xs: number[] = [];
    for (let x = x0!; x < s.width; x += dx!) xs.push(x);
    if (xs.length === 0) continue;
    let prev: Uint8Array | null = null;
    for (let y = y0!; y < s.height; y += dy!) {
      const row = new Uint8Array(Math.ceil((xs.length * bits) / 8));
      let bit = 0;
      for (const x of xs) {
        for (const v of s.samples[y * s.width + x]!) {
          if (s.depth === 16) {
            row[bit >> 3] = v >> 8;
            row[(bit >> 3) + 1] = v & 0xff;
          } else if (s.depth === 8) row[bit >> 3] = v;
          else row[bit >> 3]! |= v << (8 - s.depth - (bit & 7));
          bit += s.depth;
        }
      }
      const f = s.filters ? s.filters[rowNo % s.filters.length]! : 0;
      raw.push(f, ...filterRow(f, row, prev, bpp));
      prev = row;
      rowNo++;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(s.width, 0);
  ihdr.writeUInt32BE(s.height, 4);
  ihdr[8] = s.depth;
  ihdr[9] = s.colorType;
  ihdr[12] = s.interlace ? 1 : 0;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (s.palette) parts.push(chunk('PLTE', Buffer.from(s.palette.flat())));
  parts.push(...(s.extra ?? []));
  parts.push(chunk('IDAT', deflateSync(Buffer.from(raw))), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

export { chunk as pngChunk };
