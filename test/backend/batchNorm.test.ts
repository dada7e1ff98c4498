import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchNormTrain } from '../../src/backend/index.js';
import {
  compareBackends,
  countCalls,
  input,
  int,
  mulberry32,
  pick,
  nativeTest,
  withGrads,
} from './helpers.js';

nativeTest(
  'batchNormTrain (native) equals tf.moments + tf.batchNorm (cpu), values and gradients, with and without relu, on 110 shapes',
  () => {
    const rng = mulberry32(51);
    let native = 0;
    for (let i = 0; i < 110; i++) {
      const c = int(rng, 1, 9);
      const shape = i % 3 === 0 ? [int(rng, 2, 12), c] : [int(rng, 1, 3), int(rng, 1, 7), int(rng, 1, 7), c];
      if (shape.slice(0, -1).reduce((a, b) => a * b, 1) < 2) shape[0] = 2;
      const eps = pick(rng, [1e-5, 1e-3]);
      const relu = i % 2 === 1;
      const x = input(rng, shape);
      // An offset mean and a spread scale, as real activations have.
      const offset = 3 * (rng() - 0.5);
      x.values.forEach((v, j) => {
        x.values[j] = v * (1 + 2 * rng()) + offset;
      });
      const gamma = input(rng, [c]);
      const beta = input(rng, [c]);
      // Weights on all three outputs, so gradients flowing back through mean and variance count too.
      const f = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const r = batchNormTrain(xt, g as tf.Tensor1D, b as tf.Tensor1D, eps, { relu });
        return tf.concat([r.y.flatten(), r.mean, r.variance]);
      };
      native += countCalls('CxrBatchNormTrainGrad', () =>
        compareBackends(
          [x, gamma, beta],
          withGrads(f, i),
          `batchNormTrain ${shape} eps=${eps} relu=${relu}`,
          2e-4,
        ),
      ).native;
    }
    assert.equal(native, 110);
  },
);

nativeTest('tf.batchNorm (FusedBatchNorm, inference mode) equals the cpu kernel on 100 shapes', () => {
  const rng = mulberry32(52);
  let native = 0;
  for (let i = 0; i < 100; i++) {
    const c = int(rng, 1, 8);
    const shape = [int(rng, 1, 3), int(rng, 1, 5), int(rng, 1, 5), c];
    const variance = input(rng, [c]);
    variance.values.forEach((v, j) => {
      variance.values[j] = Math.abs(v) + 0.1;
    });
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
      tf.batchNorm(x, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3);
    native += countCalls('FusedBatchNorm', () =>
      compareBackends(
        [input(rng, shape), input(rng, [c]), variance, input(rng, [c]), input(rng, [c])],
        withGrads(f, i),
        `batchNorm ${shape}`,
      ),
    ).native;
  }
  assert.ok(native >= 100);
});

test('batchNormTrain on the plain cpu backend normalises each channel (no addon needed)', () => {
  tf.setBackend('cpu');
  // Channel 0 holds 1, 3 (mean 2, variance 1); channel 1 holds 10, 10 (variance 0).
  const x = tf.tensor2d([
    [1, 10],
    [3, 10],
  ]);
  const r = batchNormTrain(x, tf.tensor1d([2, 1]), tf.tensor1d([0, 5]), 0);
  assert.deepEqual(Array.from(r.mean.dataSync()), [2, 10]);
  assert.deepEqual(Array.from(r.variance.dataSync()), [1, 0]);
  // y = gamma * (x - mean) / sqrt(var + eps) + beta; channel 1 is 0/0 with eps = 0.
  const y = r.y.dataSync();
  assert.deepEqual([y[0], y[2]], [-2, 2]);
  assert.ok(Number.isNaN(y[1]));
  tf.dispose([x, r.y, r.mean, r.variance]);
});
