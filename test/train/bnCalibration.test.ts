import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { ResNet } from '../../src/models/resnet.js';
import { makeRng } from '../../src/rng.js';
import { applyBatchNormStats, reestimateBatchNorm } from '../../src/train/bnCalibration.js';
import type { ImageSource } from '../../src/train/pretrain.js';

before(async () => {
  await initEngine('auto');
});

const N = 5;
const S = 32;
const tiny = (): ResNet => new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1 }, makeRng(7));

function images(): { pixels: Float32Array; source: ImageSource; all: tf.Tensor4D } {
  const r = makeRng(11);
  const pixels = Float32Array.from({ length: N * S * S }, () => r.next());
  const all = tf.tensor4d(pixels, [N, S, S, 1]);
  return {
    pixels,
    all,
    source: {
      count: N,
      batch: (idx) => tf.tidy(() => tf.gather(all, tf.tensor1d(idx, 'int32')) as tf.Tensor4D),
    },
  };
}

/** Mean and unbiased variance per channel of `[count][channels]` values given as a flat array. */
function meanVar(v: ArrayLike<number>, channels: number): { mean: number[]; variance: number[] } {
  const n = v.length / channels;
  const mean = Array.from({ length: channels }, (_, c) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i * channels + c]!;
    return s / n;
  });
  const variance = mean.map((m, c) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += (v[i * channels + c]! - m) ** 2;
    return s / (n - 1);
  });
  return { mean, variance };
}

function close(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++)
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
}

// bn1 sees conv1's output, which no BatchNorm precedes: its re-estimated statistics must be the
// mean and unbiased variance of that output over every pixel of every image, whatever the batches.
test('re-estimated bn1 statistics are the whole set’s batch statistics of conv1’s output, computed by hand (batches of 2, 2, 1)', () => {
  const model = tiny();
  const { pixels, source, all } = images();
  try {
    const w = model.store.get('conv1.weight').dataSync(); // HWIO [7, 7, 1, 2]
    const C = 2;
    const O = S / 2;
    const out = new Float64Array(N * O * O * C);
    for (let n = 0; n < N; n++)
      for (let oy = 0; oy < O; oy++)
        for (let ox = 0; ox < O; ox++)
          for (let c = 0; c < C; c++) {
            let s = 0;
            for (let ky = 0; ky < 7; ky++)
              for (let kx = 0; kx < 7; kx++) {
                const y = oy * 2 - 3 + ky;
                const x = ox * 2 - 3 + kx;
                if (y < 0 || x < 0 || y >= S || x >= S) continue;
                s += pixels[n * S * S + y * S + x]! * w[(ky * 7 + kx) * C + c]!;
              }
            out[((n * O + oy) * O + ox) * C + c] = s;
          }
    const want = meanVar(out, C);
    const before = model.store.get('conv1.weight').dataSync().slice();
    const r = reestimateBatchNorm(model, source, 2);
    assert.equal(r.images, N);
    close(model.store.get('bn1.running_mean').dataSync(), want.mean, 1e-4, 'bn1.running_mean');
    close(model.store.get('bn1.running_var').dataSync(), want.variance, 1e-4, 'bn1.running_var');
    assert.deepEqual(model.store.get('conv1.weight').dataSync(), before, 'weights are not touched');
    // Every BatchNorm of the model got statistics.
    const bns = model.store.all().filter((p) => p.name.endsWith('.running_mean')).length;
    assert.equal(r.stats.size, 2 * bns);
  } finally {
    model.dispose();
    all.dispose();
  }
});

// A deeper BatchNorm: with one batch holding every image, layer1.0.bn1's statistics are those of its
// input in a training-mode pass, rebuilt here from primitives (conv1, batch-normalised with the
// batch's biased moments, ReLU, max-pool, the block's first 1×1 conv).
test('with one whole-set batch, a deeper BatchNorm gets the batch statistics of its input (layer1.0.bn1, rebuilt from primitives)', () => {
  const model = tiny();
  const { source, all } = images();
  try {
    const input = tf.tidy(() => {
      const c1 = tf.conv2d(all, model.store.get('conv1.weight') as tf.Tensor4D, 2, 3);
      const { mean, variance } = tf.moments(c1, [0, 1, 2]);
      const h = tf.relu(tf.div(tf.sub(c1, mean), tf.sqrt(tf.add(variance, 1e-5))));
      const p = tf.maxPool(h as tf.Tensor4D, 3, 2, 1);
      return tf.conv2d(p, model.store.get('layer1.0.conv1.weight') as tf.Tensor4D, 1, 'valid');
    });
    const want = meanVar(input.dataSync(), input.shape[3]);
    input.dispose();
    reestimateBatchNorm(model, source, N);
    close(model.store.get('layer1.0.bn1.running_mean').dataSync(), want.mean, 1e-4, 'running_mean');
    close(model.store.get('layer1.0.bn1.running_var').dataSync(), want.variance, 1e-4, 'running_var');
  } finally {
    model.dispose();
    all.dispose();
  }
});

test('the statistics carry over to another copy of the same weights: identical eval-mode features', () => {
  const a = tiny();
  const b = tiny();
  const { source, all } = images();
  try {
    const { stats } = reestimateBatchNorm(a, source, 3);
    const fresh = tf.tidy(() => b.forward(all, { training: false }).pooled.dataSync().slice());
    applyBatchNormStats(b, stats);
    const fa = tf.tidy(() => a.forward(all, { training: false }).pooled.dataSync().slice());
    const fb = tf.tidy(() => b.forward(all, { training: false }).pooled.dataSync().slice());
    assert.deepEqual(fb, fa);
    assert.notDeepEqual(fresh, fa, 'the re-estimated statistics change the features');
    assert.throws(
      () =>
        applyBatchNormStats(b, new Map([['nope.running_mean', { shape: [1], data: new Float32Array(1) }]])),
      /no nope\.running_mean/,
    );
  } finally {
    a.dispose();
    b.dispose();
    all.dispose();
  }
});
