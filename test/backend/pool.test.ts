import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
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

nativeTest('MaxPool, AvgPool and their gradients equal the cpu kernels on 120 random shapes', () => {
  const rng = mulberry32(11);
  const calls = { MaxPool: 0, AvgPool: 0, MaxPoolGrad: 0, AvgPoolGrad: 0 };
  for (let i = 0; i < 120; i++) {
    const f = pick(rng, [1, 2, 3, 3, 5]);
    const stride = int(rng, 1, 3);
    const pad = pick(rng, ['same', 'valid', 0, 1] as const);
    const minSize = pad === 'valid' ? f : typeof pad === 'number' ? Math.max(1, f - 2 * pad) : 1;
    const shape = [
      int(rng, 1, 3),
      Math.max(minSize, int(rng, 1, 12)),
      Math.max(minSize, int(rng, 1, 12)),
      int(rng, 1, 7),
    ];
    const kind = i % 2 === 0 ? 'max' : 'avg';
    const pool = (x: tf.Tensor) =>
      kind === 'max'
        ? tf.maxPool(x as tf.Tensor4D, f, stride, pad)
        : tf.avgPool(x as tf.Tensor4D, f, stride, pad);
    const what = `${kind}Pool f=${f} s=${stride} pad=${pad} x=${shape}`;
    const fwd = kind === 'max' ? 'MaxPool' : 'AvgPool';
    const bwd = kind === 'max' ? 'MaxPoolGrad' : 'AvgPoolGrad';
    const xs = [input(rng, shape)];
    const b = countCalls(bwd, () => {
      calls[fwd] += countCalls(fwd, () => compareBackends(xs, withGrads(pool, i), what)).native;
    });
    calls[bwd] += b.native;
    assert.equal(b.fallback, 0, what);
  }
  // Each case runs the forward kernel twice on cxr-cpu (value, then inside tf.grads).
  assert.deepEqual(calls, { MaxPool: 120, AvgPool: 120, MaxPoolGrad: 60, AvgPoolGrad: 60 });
});
