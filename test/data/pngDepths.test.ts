import assert from 'node:assert/strict';
import { test } from 'node:test';
import pngjs from 'pngjs';
import { decodePng } from '../../src/data/png.js';
import { makePng, pngChunk, type PngSpec } from '../helpers/pngFiles.js';

const W = 13; // odd: sub-byte rows end in padding bits
const H = 9;
const luma = (r: number, g: number, b: number): number => Math.round(0.299 * r + 0.587 * g + 0.114 * b);

/** Deterministic samples covering 0 and the maximum of `depth`. */
function values(depth: number, salt: number): number[] {
  const max = 2 ** depth - 1;
  return Array.from({ length: W * H }, (_, i) => (i === 0 ? 0 : i === 1 ? max : (i * 2654435761 + salt * 40503) % (max + 1)));
}

function spec(colorType: PngSpec['colorType'], depth: PngSpec['depth']): { spec: Omit<PngSpec, 'interlace' | 'filters'>; expected: number[] } {
  const max = 2 ** depth - 1;
  const [a, b, c, d] = [values(depth, 1), values(depth, 2), values(depth, 3), values(depth, 4)];
  switch (colorType) {
    case 0:
      return { spec: { width: W, height: H, colorType, depth, samples: a.map((v) => [v]) }, expected: a.map((v) => (depth === 16 ? v : Math.round((v * 255) / max))) };
    case 4:
      return { spec: { width: W, height: H, colorType, depth, samples: a.map((v, i) => [v, d[i]!]) }, expected: a };
    case 2:
      return { spec: { width: W, height: H, colorType, depth, samples: a.map((v, i) => [v, b[i]!, c[i]!]) }, expected: a.map((v, i) => luma(v, b[i]!, c[i]!)) };
    case 6:
      return { spec: { width: W, height: H, colorType, depth, samples: a.map((v, i) => [v, b[i]!, c[i]!, d[i]!]) }, expected: a.map((v, i) => luma(v, b[i]!, c[i]!)) };
    case 3: {
      const palette = Array.from({ length: max + 1 }, (_, k) => [(k * 97) % 256, (k * 31 + 7) % 256, 255 - ((k * 13) % 256)] as [number, number, number]);
      return { spec: { width: W, height: H, colorType, depth, samples: a.map((v) => [v]), palette }, expected: a.map((k) => luma(...palette[k]!)) };
    }
  }
}

const ALLOWED: [PngSpec['colorType'], PngSpec['depth'][]][] = [[0, [1, 2, 4, 8, 16]], [2, [8, 16]], [3, [1, 2, 4, 8]], [4, [8, 16]], [6, [8, 16]]];

for (const [colorType, depths] of ALLOWED) {
  for (const depth of depths) {
    for (const interlace of [false, true]) {
      test(`colour type ${colorType}, ${depth}-bit${interlace ? ', Adam7' : ''}, all five row filters: every pixel as the spec says`, () => {
        const { spec: s, expected } = spec(colorType, depth);
        const img = decodePng(makePng({ ...s, interlace, filters: [0, 1, 2, 3, 4] }));
        assert.equal(img.width, W);
        assert.equal(img.height, H);
        assert.equal(img.bitDepth, depth === 16 ? 16 : 8);
        assert.deepEqual([...img.pixels], expected);
      });
    }
  }
}

test('a 4-bit film at full white decodes to 255 (1.0), not 15 (the old 0.059)', () => {
  const img = decodePng(makePng({ width: 2, height: 1, colorType: 0, depth: 4, samples: [[15], [8]] }));
  assert.deepEqual([...img.pixels], [255, 136]);
});

test('1- and 2-bit greyscale: black, white and the 2-bit greys 85 and 170', () => {
  assert.deepEqual([...decodePng(makePng({ width: 3, height: 1, colorType: 0, depth: 1, samples: [[0], [1], [1]] })).pixels], [0, 255, 255]);
  assert.deepEqual([...decodePng(makePng({ width: 4, height: 1, colorType: 0, depth: 2, samples: [[0], [1], [2], [3]] })).pixels], [0, 85, 170, 255]);
});

test('a tRNS colour is ignored (greyscale keeps its value; pngjs would zero it)', () => {
  const trns = pngChunk('tRNS', Buffer.from([0, 200]));
  const img = decodePng(makePng({ width: 3, height: 1, colorType: 0, depth: 8, samples: [[200], [10], [200]], extra: [trns] }));
  assert.deepEqual([...img.pixels], [200, 10, 200]);
});

test('8-bit files agree with pngjs (an independent decoder) on filtered and interlaced data', () => {
  for (const interlace of [false, true]) {
    const { spec: s } = spec(0, 8);
    const bytes = makePng({ ...s, interlace, filters: [4, 3, 2, 1, 0] });
    const ref = pngjs.PNG.sync.read(bytes);
    const img = decodePng(bytes);
    assert.deepEqual([...img.pixels], Array.from({ length: W * H }, (_, i) => ref.data[4 * i]!));
  }
});

test('depths the format does not allow, and broken files, are errors that say what is wrong', () => {
  const rgb4 = makePng({ width: 1, height: 1, colorType: 2, depth: 4, samples: [[1, 2, 3]] });
  assert.throws(() => decodePng(rgb4), /bit depth 4 with colour type 2 is not allowed/);
  const pal16 = makePng({ width: 1, height: 1, colorType: 3, depth: 16, samples: [[0]], palette: [[0, 0, 0]] });
  assert.throws(() => decodePng(pal16), /bit depth 16 with colour type 3/);
  assert.throws(() => decodePng(new Uint8Array(0)), /empty file/);
  assert.throws(() => decodePng(Buffer.from('GIF89a not a png at all')), /not a PNG/);
  const good = makePng({ width: 8, height: 8, colorType: 0, depth: 8, samples: Array.from({ length: 64 }, (_, i) => [i]) });
  assert.throws(() => decodePng(good.subarray(0, good.length - 20)), /truncated/);
  const flipped = Buffer.from(good);
  flipped[40]! ^= 0xff;
  assert.throws(() => decodePng(flipped), /CRC|truncated|inflate/);
  const badIndex = makePng({ width: 1, height: 1, colorType: 3, depth: 8, samples: [[5]], palette: [[0, 0, 0]] });
  assert.throws(() => decodePng(badIndex), /palette index 5 outside/);
});
