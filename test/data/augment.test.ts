import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine, tensorCount } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { VIEW_1, VIEW_2, barlowTwinsView, barlowTwinsViews, randomResizedCropFlip, renderView, renderViewTf, sampleCrop, sampleViewParams, type ViewOptions } from '../../src/data/augment.js';

before(async () => { await initEngine('cpu'); });

function ramp(n: number, size: number): tf.Tensor4D {
  // A left-to-right ramp: makes flips and crops visible in the values.
  return tf.tidy(() => tf.tile(tf.reshape(tf.linspace(0, 1, size), [1, 1, size, 1]), [n, size, 1, 1]) as tf.Tensor4D);
}

test('sampleCrop follows torchvision: inside the image, area 8–100%, aspect 3/4–4/3', () => {
  const rng = makeRng(1);
  for (let i = 0; i < 500; i++) {
    const [top, left, h, w] = sampleCrop(64, 64, rng);
    assert.ok(top >= 0 && left >= 0 && top + h <= 64 && left + w <= 64);
    const a = (h * w) / 4096;
    assert.ok(a >= 0.06 && a <= 1.0 && w / h >= 0.7 && w / h <= 1.4, `${h}x${w}`);
  }
});

test('views: shape, range [0,1], same seed -> same views, different seeds differ, no leaks', () => {
  const x = tf.randomUniform([6, 48, 48, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const before = tensorCount();
  const [a1, a2] = barlowTwinsViews(x, 32, makeRng(3));
  const [b1, b2] = barlowTwinsViews(x, 32, makeRng(3));
  const [c1, c2] = barlowTwinsViews(x, 32, makeRng(4));
  assert.deepEqual(a1.shape, [6, 32, 32, 1]);
  assert.ok(tf.tidy(() => a1.min().dataSync()[0]! >= 0 && a2.max().dataSync()[0]! <= 1));
  assert.deepEqual(a1.dataSync(), b1.dataSync());
  assert.notDeepEqual(a1.dataSync(), c1.dataSync());
  tf.dispose([a1, a2, b1, b2, c1, c2]);
  assert.equal(tensorCount(), before);
  x.dispose();
});

test('with every random op off but the crop at full scale, a view is a resize; flip p=1 mirrors it', () => {
  const x = ramp(2, 32);
  const off = { blurP: 0, solarizeP: 0, jitterP: 0, flipP: 0, scale: [1, 1] as [number, number], ratio: [1, 1] as [number, number] };
  const same = barlowTwinsView(x, 32, makeRng(5), off);
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(same, x))).dataSync()[0]!) < 1e-6);
  const flipped = barlowTwinsView(x, 32, makeRng(5), { ...off, flipP: 1 });
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(flipped, tf.reverse(x, 2)))).dataSync()[0]!) < 1e-6);
  // Solarise p=1 inverts the bright half only.
  const sol = barlowTwinsView(x, 32, makeRng(5), { ...off, solarizeP: 1 });
  const row = Array.from(sol.dataSync().slice(0, 32));
  assert.ok(row.every((v, i) => (i / 31 >= 0.5 ? Math.abs(v - (1 - i / 31)) < 1e-5 : Math.abs(v - i / 31) < 1e-5)));
  // Blur p=1 keeps a constant image constant (normalised kernel, reflect padding) and smooths noise.
  const flat = tf.fill([2, 32, 32, 1], 0.3) as tf.Tensor4D;
  const blurred = barlowTwinsView(flat, 32, makeRng(6), { ...off, blurP: 1, sigma: [4, 4] });
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(blurred, 0.3))).dataSync()[0]!) < 1e-5);
  tf.dispose([x, same, flipped, sol, flat, blurred]);
});

// renderView's JavaScript (the reference that the native kernel equals bit for bit,
// test/data/renderViewNative.test.ts) against renderViewTf (the
// same view as tfjs ops) on the same seeded draws: equal up to float32 rounding of sums taken in
// another order, on many image and view sizes, with every random op forced on, off, and as main.py has them.
test('renderView equals the tfjs ops on the same draws: many sizes, flips, jitter orders, blur radii, solarisation', () => {
  const rng = makeRng(21);
  const settings: ViewOptions[] = [VIEW_1, VIEW_2, { blurP: 1, solarizeP: 1, jitterP: 1 }, { blurP: 0, solarizeP: 0, jitterP: 0 },
    { blurP: 1, solarizeP: 0.5, sigma: [3, 12] }, { blurP: 0.5, solarizeP: 0.5, scale: [0.01, 0.05] }];
  let cases = 0;
  for (const [n, h, w] of [[5, 48, 48], [3, 37, 53], [4, 128, 128], [1, 9, 16], [6, 20, 20]] as const) {
    const images = tf.tidy(() => tf.pow(tf.randomUniform([n, h, w, 1], 0, 1, 'float32', cases + 1), 1.5) as tf.Tensor4D);
    const data = images.dataSync() as Float32Array;
    for (const outSize of [1, 2, 7, 32, 64]) {
      for (const opts of settings) {
        const params = sampleViewParams(n, h, w, outSize, rng.fork(cases), opts);
        const ref = renderViewTf(images, params);
        const got = renderView(data, [n, h, w], params, false);
        const r = ref.dataSync();
        let worst = 0;
        for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(r[i]! - got[i]!));
        assert.ok(worst <= 2e-6, `n ${n} ${h}x${w} -> ${outSize}, ${JSON.stringify(opts)}: max |diff| ${worst}`);
        ref.dispose();
        cases++;
      }
    }
    images.dispose();
  }
  assert.equal(cases, 150);
});

/** Pixel mean, spread and share above 0.8 over a set of views. */
function viewStats(views: Float32Array[]): number[] {
  let sum = 0; let sq = 0; let bright = 0; let count = 0;
  for (const v of views) for (const p of v) { sum += p; sq += p * p; bright += p > 0.8 ? 1 : 0; count++; }
  const mean = sum / count;
  return [mean, Math.sqrt(sq / count - mean * mean), bright / count];
}

test('views keep their distribution: pixel mean, spread, solarised and blurred shares of renderView match the tfjs ops over many seeds', () => {
  const x = tf.tidy(() => tf.add(tf.mul(ramp(16, 64), 0.6), tf.randomUniform([16, 64, 64, 1], 0, 0.4, 'float32', 8)) as tf.Tensor4D);
  const ours: Float32Array[] = [];
  const ref: Float32Array[] = [];
  const data = x.dataSync() as Float32Array;
  for (let seed = 0; seed < 20; seed++) {
    for (const opts of [VIEW_1, VIEW_2]) {
      const params = sampleViewParams(16, 64, 64, 32, makeRng(100 + seed), opts);
      ours.push(renderView(data, [16, 64, 64], params));
      const t = renderViewTf(x, params);
      ref.push(t.dataSync() as Float32Array);
      t.dispose();
    }
  }
  const [a, b] = [viewStats(ours), viewStats(ref)];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `statistic ${i}: ${a[i]} vs ${b[i]}`);
  // and the views are augmented, not copies: spread differs from the input's, mean within the jitter's range
  assert.ok(a[0]! > 0.2 && a[0]! < 0.8 && a[1]! > 0.05);
  x.dispose();
});

test('randomResizedCropFlip (evaluate.py\'s training transform): a full-scale crop is the image or its mirror, per image', () => {
  // 2 images 4×4 with a ramp along x; scale [1, 1] at a square image forces the whole image (ratio 1 is in range,
  // or the centre-crop fallback gives the whole image too), so each output is the input or its left-right mirror.
  const ramp = Array.from({ length: 16 }, (_, i) => i % 4);
  const x = tf.tensor4d([...ramp, ...ramp.map((v) => v + 10)], [2, 4, 4, 1]);
  const flips: boolean[] = [];
  const out = randomResizedCropFlip(x, 4, makeRng(3), [1, 1]);
  const v = out.arraySync() as number[][][][];
  for (let n = 0; n < 2; n++) {
    const row = v[n]![0]!.map((p) => p[0]! - 10 * n);
    const mirrored = row[0]! > row[3]!;
    flips.push(mirrored);
    assert.deepEqual(row.map((p) => Math.round(p * 1e4) / 1e4), mirrored ? [3, 2, 1, 0] : [0, 1, 2, 3]);
  }
  // Same seed, same crops and flips; the shape follows outSize.
  assert.deepEqual(randomResizedCropFlip(x, 4, makeRng(3), [1, 1]).arraySync(), v);
  assert.deepEqual(randomResizedCropFlip(x, 2, makeRng(3)).shape, [2, 2, 2, 1]);
  // Over many seeds both outcomes occur (one coin per image, not per batch).
  const seen = new Set<string>();
  for (let s = 0; s < 12; s++) {
    const w = randomResizedCropFlip(x, 4, makeRng(100 + s), [1, 1]).arraySync() as number[][][][];
    seen.add(w.map((im) => String(im[0]![0]![0]! % 10 > 1)).join(','));
  }
  assert.ok(seen.has('true,false') || seen.has('false,true'), [...seen].join(' '));
  tf.dispose([x, out]);
});

// main.py's bicubic crops (config `pretrain.interpolation: 'pil-bicubic'`; Pillow parity in pilResample.test.ts).
test('Pillow crops: the interpolation changes no random draw, a full-scale crop at the same size is the image or its mirror', () => {
  const a = sampleViewParams(8, 40, 56, 24, makeRng(4), VIEW_2);
  const b = sampleViewParams(8, 40, 56, 24, makeRng(4), { ...VIEW_2, interpolation: 'pil-bicubic' });
  assert.deepEqual({ ...b, interpolation: 'bilinear' }, a);
  // tf.linspace ends at 1 + 4e-7; Pillow's filters clip to [0, 1] as its 8-bit path clips to 0..255.
  const x = tf.tidy(() => tf.clipByValue(ramp(2, 32), 0, 1) as tf.Tensor4D);
  const off = { blurP: 0, solarizeP: 0, jitterP: 0, scale: [1, 1] as [number, number], ratio: [1, 1] as [number, number], interpolation: 'pil-bicubic' as const };
  const same = barlowTwinsView(x, 32, makeRng(5), { ...off, flipP: 0 });
  const flipped = barlowTwinsView(x, 32, makeRng(5), { ...off, flipP: 1 });
  assert.deepEqual(same.dataSync(), x.dataSync());
  assert.deepEqual(flipped.dataSync(), tf.tidy(() => tf.reverse(x, 2).dataSync()));
  const e2e = randomResizedCropFlip(x, 32, makeRng(3), [1, 1], 'pil-bilinear');
  const v = e2e.arraySync() as number[][][][];
  for (let n = 0; n < 2; n++) {
    const row = v[n]!.map((r) => r.map((p) => p[0]!))[0]!;
    const want = Array.from(x.dataSync().slice(n * 1024, n * 1024 + 32));
    assert.deepEqual(row, row[0]! > row[31]! ? [...want].reverse() : want);
  }
  // The same seed draws the same crops and coins whatever the interpolation.
  const tfFlips = (randomResizedCropFlip(x, 32, makeRng(3), [1, 1]).arraySync() as number[][][][]).map((im) => im[0]![0]![0]! > im[0]![31]![0]!);
  assert.deepEqual(v.map((im) => im[0]![0]![0]! > im[0]![31]![0]!), tfFlips);
  tf.dispose([x, same, flipped, e2e]);
});

test('Pillow crops: renderView equals the tensor path on the same draws, and the views keep the bilinear views\' distribution', () => {
  const x = tf.tidy(() => tf.add(tf.mul(ramp(16, 64), 0.6), tf.randomUniform([16, 64, 64, 1], 0, 0.4, 'float32', 8)) as tf.Tensor4D);
  const data = x.dataSync() as Float32Array;
  const bic: Float32Array[] = [];
  const bil: Float32Array[] = [];
  let worst = 0;
  for (let seed = 0; seed < 20; seed++) {
    for (const opts of [VIEW_1, VIEW_2]) {
      const params = sampleViewParams(16, 64, 64, 32, makeRng(100 + seed), { ...opts, interpolation: 'pil-bicubic' });
      const got = renderView(data, [16, 64, 64], params);
      const t = renderViewTf(x, params);
      t.dataSync().forEach((r, i) => (worst = Math.max(worst, Math.abs(r - got[i]!))));
      t.dispose();
      bic.push(got);
      bil.push(renderView(data, [16, 64, 64], { ...params, interpolation: 'bilinear' }));
    }
  }
  assert.ok(worst <= 2e-6, `renderView vs tensor ops: max |diff| ${worst}`);
  const [a, b] = [viewStats(bic), viewStats(bil)];
  // Same crops, jitter, blur and solarisation: only the resampling differs, and it preserves the mean.
  assert.ok(Math.abs(a[0]! - b[0]!) < 0.005, `mean ${a[0]} vs ${b[0]}`);
  assert.ok(Math.abs(a[1]! / b[1]! - 1) < 0.05, `spread ${a[1]} vs ${b[1]}`);
  assert.ok(Math.abs(a[2]! - b[2]!) < 0.01, `bright share ${a[2]} vs ${b[2]}`);
  x.dispose();
});
