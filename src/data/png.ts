/**
/**
 * Greyscale PNG encoding (pngjs) and a decoder of our own for every PNG the format allows: bit
 * depths 1, 2, 4, 8 and 16, greyscale, RGB, palette, grey+alpha and RGBA, Adam7 interlacing.
 * pngjs leaves sub-byte samples unscaled when asked to keep 16-bit ones, and zeroes tRNS colours;
 * both made films darker than they are, so decoding is done here. Browser-safe: 'buffer' is Node's
 * own here and the npm polyfill in the web bundle (which also swaps in pngjs's browser build), and
 * the image data is inflated by fflate (pure JavaScript) rather than node:zlib.
 */
import { Buffer } from 'buffer';
import { unzlibSync } from 'fflate';
import pngjs from 'pngjs';

const { PNG } = pngjs;

/** A greyscale image: row-major pixel values. */
export interface GrayImage {
  width: number;
  height: number;
  /** Pixel values, `width*height`, row-major; Uint8Array for 8-bit, Uint16Array for 16-bit. */
  pixels: Uint8Array | Uint16Array;
  bitDepth: 8 | 16;
}

/** Encodes a greyscale image as PNG bytes (deterministic: fixed zlib level, no timestamps). */
export function encodeGrayPng(img: GrayImage): Buffer {
  const { width, height, pixels, bitDepth } = img;
  if (pixels.length !== width * height) throw new Error(`encodeGrayPng: ${pixels.length} pixels for ${width}x${height}`);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth, inputHasAlpha: false });
  if (bitDepth === 16) {
    // pngjs takes 16-bit input as one uint16 per channel in a Uint16Array-backed buffer.
    png.data = Buffer.from(new Uint16Array(pixels).buffer) as unknown as Buffer;
  } else {
    png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  }
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth, inputHasAlpha: false, deflateLevel: 6 });
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Samples per pixel by colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Bit depths the format allows per colour type. */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
] as const;

let crcTable: Uint32Array | null = null;
function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes the five PNG row filters in place over `h` rows of `rowBytes` (+1 filter byte) each. */
function unfilter(data: Uint8Array, offset: number, rowBytes: number, h: number, bpp: number): Uint8Array {
  const out = new Uint8Array(rowBytes * h);
  for (let y = 0; y < h; y++) {
    const f = data[offset + y * (rowBytes + 1)];
    if (f === undefined) throw new Error('image data ends early');
    const src = offset + y * (rowBytes + 1) + 1;
    const row = y * rowBytes;
    const prev = row - rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const raw = data[src + x]!;
      const a = x >= bpp ? out[row + x - bpp]! : 0;
      const b = y > 0 ? out[prev + x]! : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp]! : 0;
      let v: number;
      switch (f) {
        case 0: v = raw; break;
        case 1: v = raw + a; break;
        case 2: v = raw + b; break;
        case 3: v = raw + ((a + b) >> 1); break;
        case 4: v = raw + paeth(a, b, c); break;
        default: throw new Error(`unknown row filter ${f} in row ${y}`);
      }
      out[row + x] = v & 0xff;
    }
  }
  return out;
}

/**
 * Decodes a PNG to greyscale: colour is reduced with Rec. 601 luma, alpha and tRNS ignored,
 * palette entries looked up; 1/2/4-bit samples are scaled to 0–255 (so a 4-bit white is 255, not
 * 15); 16-bit files stay 16-bit. Throws, saying what is wrong, on a file that is not a PNG, is
 * truncated, fails a checksum or uses a depth/colour type the format does not define.
 */
export function decodePng(bytes: Uint8Array): GrayImage {
  if (bytes.length === 0) throw new Error('empty file (0 bytes)');
  if (bytes.length < 8 || SIGNATURE.some((s, i) => bytes[i] !== s)) throw new Error('not a PNG (no PNG signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let interlace = 0;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos < bytes.length) {
    if (pos + 8 > bytes.length) throw new Error('truncated (chunk header cut off)');
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    if (pos + 12 + len > bytes.length) throw new Error(`truncated (${type} chunk cut off)`);
    if (crc32(bytes, pos + 4, pos + 8 + len) !== view.getUint32(pos + 8 + len)) throw new Error(`corrupt (${type} chunk fails its CRC)`);
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      if (len !== 13) throw new Error('corrupt IHDR');
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      depth = body[8]!;
      colorType = body[9]!;
      interlace = body[12]!;
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos += 12 + len;
  }
  if (colorType < 0) throw new Error('no IHDR chunk');
  if (!(width > 0 && height > 0)) throw new Error(`bad size ${width}x${height}`);
  if (!DEPTHS[colorType]?.includes(depth)) throw new Error(`bit depth ${depth} with colour type ${colorType} is not allowed by the PNG format`);
  if (interlace > 1) throw new Error(`unknown interlace method ${interlace}`);
  if (colorType === 3 && !palette) throw new Error('palette image without a PLTE chunk');
  if (idat.length === 0) throw new Error('no image data (IDAT)');
  if (!ended) throw new Error('truncated (no IEND chunk)');
  let data: Uint8Array;
  try {
    data = unzlibSync(concatBytes(idat));
  } catch (e) {
    throw new Error(`image data does not inflate: ${(e as Error).message}`);
  }
  const channels = CHANNELS[colorType]!;
  const bitsPerPixel = channels * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const out16 = depth === 16;
  const n = width * height;
  const pixels = out16 ? new Uint16Array(n) : new Uint8Array(n);
  const maxSample = (1 << depth) - 1;
  const scale = depth < 8 && colorType !== 3 ? 255 / maxSample : 1;
  const passes = interlace ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let offset = 0;
  const sample = (row: Uint8Array, base: number, x: number, c: number): number => {
    if (depth === 8) return row[base + x * channels + c]!;
    if (depth === 16) {
      const i = base + 2 * (x * channels + c);
      return (row[i]! << 8) | row[i + 1]!;
    }
    const bit = x * depth; // sub-byte depths have one channel
    return (row[base + (bit >> 3)]! >> (8 - depth - (bit & 7))) & maxSample;
  };
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = Math.ceil((pw * bitsPerPixel) / 8);
    if (offset + ph * (rowBytes + 1) > data.length) throw new Error('truncated (image data ends early)');
    const rows = unfilter(data, offset, rowBytes, ph, bpp);
    offset += ph * (rowBytes + 1);
    for (let y = 0; y < ph; y++) {
      const base = y * rowBytes;
      const dst = (y0 + y * dy) * width;
      for (let x = 0; x < pw; x++) {
        let v: number;
        if (colorType === 3) {
          const k = sample(rows, base, x, 0);
          if (3 * k + 2 >= palette!.length) throw new Error(`palette index ${k} outside the ${palette!.length / 3}-entry palette`);
          v = 0.299 * palette![3 * k]! + 0.587 * palette![3 * k + 1]! + 0.114 * palette![3 * k + 2]!;
        } else if (channels >= 3) {
          v = 0.299 * sample(rows, base, x, 0) + 0.587 * sample(rows, base, x, 1) + 0.114 * sample(rows, base, x, 2);
        } else {
          v = sample(rows, base, x, 0) * scale;
        }
        pixels[dst + x0 + x * dx] = Math.round(v);
      }
    }
  }
  return { width, height, pixels, bitDepth: out16 ? 16 : 8 };
}
