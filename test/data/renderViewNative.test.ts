// The native views (native/src/augment.cc, what training uses where the addon is built) against
// renderView's JavaScript (the reference, itself checked against the tfjs ops in augment.test.ts):
// the same bits, on every interpolation, many image and view sizes, every random op on, off and as
// main.py draws them, inputs with subnormal pixels, and more images than threads.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadNative } from '../../src/backend/native.js';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { VIEW_1, VIEW_2, renderView, sampleViewParams, type Interpolation, type ViewOptions } from '../../src/data/augment.js';

before(async () => {
  await initEngine('cpu');
});

const addon = loadNative().addon;
const skip = addon ? false : 'the native addon is not built here';

/** Index of the first element whose bits differ, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

const SETTINGS: ViewOptions[] = [
  VIEW_1,
  VIEW_2,
  { blurP: 1, solarizeP: 1, jitterP: 1 },
  { blurP: 0, solarizeP: 0, jitterP: 0 },
  { blurP: 1, solarizeP: 0.5, sigma: [3, 12] },
  { blurP: 0.5, solarizeP: 0.5, scale: [0.01, 0.05] },
];
const FILTERS: Interpolation[] = ['bilinear', 'pil-bicubic', 'pil-bilinear'];

test('native views equal renderView\'s JavaScript bit for bit: 3 interpolations x 5 image sizes x 5 view sizes x 6 settings', { skip }, () => {
  const rng = makeRng(31);
  let cases = 0;
  for (const [n, h, w] of [[5, 48, 48], [3, 37, 53], [4, 128, 128], [1, 9, 16], [9, 20, 20]] as const) {
    const data = tf.tidy(() => tf.pow(tf.randomUniform([n, h, w, 1], 0, 1, 'float32', cases + 1), 1.5).dataSync() as Float32Array);
    for (const outSize of [1, 2, 7, 32, 64]) {
      for (const opts of SETTINGS) {
        for (const interpolation of FILTERS) {
          const params = sampleViewParams(n, h, w, outSize, rng.fork(cases), { ...opts, interpolation });
          const js = renderView(data, [n, h, w], params, false);
          const native = renderView(data, [n, h, w], params);
          const at = firstDifference(js, native);
          assert.equal(at, -1, `n ${n} ${h}x${w} -> ${outSize}, ${interpolation}, ${JSON.stringify(opts)}: element ${at}: ${js[at]} vs ${native[at]}`);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 450);
});

test('native views keep subnormal pixels and blur taps as JavaScript does (no flush to zero), and a batch of 64 as the demo draws it', { skip }, () => {
  // Dark images whose pixels are float32 subnormals or near them, and σ so small that the outer
  // Gaussian taps are subnormal: a kernel that flushed them would differ in the last bits.
  const n = 64;
  const [h, w] = [128, 128];
  const data = new Float32Array(n * h * w);
  const r = makeRng(5);
  for (let i = 0; i < data.length; i++) data[i] = r.next() < 0.5 ? r.next() * 1e-38 : r.next() * 2e-37;
  let subnormal = 0;
  for (const v of data) if (v !== 0 && Math.abs(v) < 1.1754943508222875e-38) subnormal++;
  assert.ok(subnormal > data.length / 3, `${subnormal} subnormal inputs`);
  for (const [k, opts] of [VIEW_1, { blurP: 1, solarizeP: 0, sigma: [0.35, 0.4] as [number, number] }, VIEW_2].entries()) {
    for (const interpolation of FILTERS) {
      const params = sampleViewParams(n, h, w, 64, makeRng(40 + k), { ...opts, interpolation });
      const js = renderView(data, [n, h, w], params, false);
      let tiny = 0;
      for (const v of js) if (v !== 0 && Math.abs(v) < 1.1754943508222875e-38) tiny++;
      assert.ok(tiny > 0, `${interpolation}: the JavaScript views hold subnormals`);
      const at = firstDifference(js, renderView(data, [n, h, w], params));
      assert.equal(at, -1, `${interpolation} setting ${k}: element ${at}`);
    }
  }
  // The demo's draw: 64 images of 128 px, 64 px views, main.py's two views, Pillow's bicubic.
  const images = new Float32Array(n * h * w).map(() => r.next());
  for (const opts of [VIEW_1, VIEW_2]) {
    const params = sampleViewParams(n, h, w, 64, makeRng(9), { ...opts, interpolation: 'pil-bicubic' });
    assert.equal(firstDifference(renderView(images, [n, h, w], params, false), renderView(images, [n, h, w], params)), -1);
  }
});

test('the native kernel refuses arrays shorter than its geometry', { skip }, () => {
  const g = Int32Array.from([2, 8, 8, 4, 1, 0]);
  const ints = new Int32Array(16).fill(0).map((_, i) => [0, 0, 8, 8, 0, 0, 0, 0][i % 8]!);
  const reals = new Float32Array(12).fill(1);
  addon!.renderViews(new Float32Array(128), new Float32Array(32), g, ints, reals, null);
  assert.throws(() => addon!.renderViews(new Float32Array(127), new Float32Array(32), g, ints, reals, null), RangeError);
  assert.throws(() => addon!.renderViews(new Float32Array(128), new Float32Array(31), g, ints, reals, null), RangeError);
  assert.throws(() => addon!.renderViews(new Float32Array(128), new Float32Array(32), g, ints.subarray(8), reals, null), RangeError);
  assert.throws(() => addon!.renderViews(new Float32Array(128), new Float32Array(32), Int32Array.from([2, 8, 8, 4, 1, 1]), ints, reals, new Float32Array(5)), RangeError);
});
