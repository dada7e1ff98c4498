import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pilResizedCrop, type PilFilter } from '../../src/data/pilResample.js';

interface Fixture {
  height: number;
  width: number;
  imageFloat: number[];
  imageUint8: number[];
  cases: {
    filter: PilFilter;
    crop: { top: number; left: number; height: number; width: number; size: number; flip: number };
    float: number[];
    uint8: number[];
  }[];
}

// Made by test/fixtures/pil_crops/make_fixture.py: torchvision 0.14.1's F.resized_crop (+ F.hflip) on PIL
// images (Pillow 9.4.0), the transform behind main.py's bicubic and evaluate.py's bilinear RandomResizedCrop.
const fx = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/pil_crops/pil_crops.json', import.meta.url), 'utf8'),
) as Fixture;

function run(image: Float32Array, c: Fixture['cases'][number]): Float32Array {
  const { top, left, height, width, size, flip } = c.crop;
  const out = new Float32Array(size * size);
  pilResizedCrop(image, 0, fx.width, [top, left, height, width], size, c.filter, flip === 1, out, 0);
  return out;
}

test('Pillow float path: every crop of the fixture (shrinking, enlarging, one axis kept, flips) within 1e-8 (the fixture keeps 9 decimals)', () => {
  const image = Float32Array.from(fx.imageFloat);
  assert.equal(fx.cases.length, 18);
  for (const c of fx.cases) {
    const got = run(image, c);
    assert.equal(got.length, c.float.length);
    let worst = 0;
    got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - c.float[i]!))));
    assert.ok(worst <= 1e-8, `${c.filter} ${JSON.stringify(c.crop)}: max |diff| ${worst}`);
  }
});

// Pillow's 8-bit path (the authors' images) rounds to 0..255 after each pass; ours keeps float32 between
// them. Half a level of rounding after the first pass, times the second pass's absolute weight sum (the
// cubic's negative lobes: at most ~1.3), plus half a level at the end: under 1.2 levels.
test('Pillow 8-bit path: the same crops of a hard-edged image agree within 1.2 grey levels, clipped edges included', () => {
  const image = Float32Array.from(fx.imageUint8, (v) => v / 255);
  let worst = 0;
  let exact = 0;
  let total = 0;
  for (const c of fx.cases) {
    const got = run(image, c);
    got.forEach((v, i) => {
      const d = Math.abs(v * 255 - c.uint8[i]!);
      worst = Math.max(worst, d);
      if (Math.round(v * 255) === c.uint8[i]) exact++;
      total++;
    });
  }
  assert.ok(worst < 1.2, `max difference ${worst} grey levels`);
  assert.ok(exact / total > 0.95, `${exact} of ${total} pixels round to Pillow's value`);
});

test('hand-computed: Pillow bicubic 4 → 2 px weights (support widened ×2) and a kept size is the identity', () => {
  // Output pixel 0 is centred at 1.0 input px; weights bicubic((x − 1 + 0.5) / 2) for x = 0..3:
  // b(0.25) = 0.8671875, b(0.25), b(0.75) = 0.2265625, b(1.25) = −0.0703125, normalised by their sum 1.890625.
  const row = [0.2, 0.4, 0.7, 0.5];
  const src = Float32Array.from([...row, ...row, ...row, ...row]);
  const out = new Float32Array(4);
  pilResizedCrop(src, 0, 4, [0, 0, 4, 4], 2, 'bicubic', false, out, 0);
  const want0 = (0.8671875 * (0.2 + 0.4) + 0.2265625 * 0.7 - 0.0703125 * 0.5) / 1.890625;
  const want1 = (0.8671875 * (0.7 + 0.5) + 0.2265625 * 0.4 - 0.0703125 * 0.2) / 1.890625;
  assert.ok(Math.abs(out[0]! - want0) < 1e-6 && Math.abs(out[2]! - want0) < 1e-6, `${out[0]} vs ${want0}`);
  assert.ok(Math.abs(out[1]! - want1) < 1e-6 && Math.abs(out[3]! - want1) < 1e-6, `${out[1]} vs ${want1}`);
  // A 3×3 crop kept at 3 px is copied exactly; flipped, mirrored exactly.
  const img = Float32Array.from({ length: 25 }, (_, i) => ((i * 7) % 11) / 10);
  for (const filter of ['bicubic', 'bilinear'] as const) {
    const same = new Float32Array(9);
    const mirror = new Float32Array(9);
    pilResizedCrop(img, 0, 5, [1, 2, 3, 3], 3, filter, false, same, 0);
    pilResizedCrop(img, 0, 5, [1, 2, 3, 3], 3, filter, true, mirror, 0);
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 3; x++) {
        assert.equal(same[y * 3 + x], img[(1 + y) * 5 + 2 + x]);
        assert.equal(mirror[y * 3 + x], img[(1 + y) * 5 + 4 - x]);
      }
  }
});

test('a constant image stays constant at any scale (weights normalised per pixel, truncated at the crop edges)', () => {
  const src = new Float32Array(30 * 40).fill(0.37);
  for (const [crop, size] of [
    [[0, 0, 30, 40], 7],
    [[3, 5, 4, 9], 25],
    [[10, 0, 20, 3], 11],
  ] as const) {
    for (const filter of ['bicubic', 'bilinear'] as const) {
      const out = new Float32Array(size * size);
      pilResizedCrop(src, 0, 40, [...crop], size, filter, false, out, 0);
      out.forEach((v) => assert.ok(Math.abs(v - 0.37) < 1e-6, `${filter} ${crop} -> ${size}: ${v}`));
    }
  }
});
