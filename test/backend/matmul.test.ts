import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { ACCELERATED_BACKEND } from '../../src/backend/index.js';
import {
  compareBackends,
  countCalls,
  input,
  int,
  mulberry32,
  pick,
  runOn,
  nativeTest,
  withGrads,
} from './helpers.js';

nativeTest('BatchMatMul and its gradients equal the cpu kernel on 120 random shapes', () => {
  const rng = mulberry32(21);
  let native = 0;
  for (let i = 0; i < 120; i++) {
    const [m, k, n] = [int(rng, 1, 40), int(rng, 1, 40), int(rng, 1, 40)];
    const ta = rng() < 0.5;
    const tb = rng() < 0.5;
    const batch = pick(rng, [[], [], [3], [2, 2]]);
    // One side a single matrix now and then: batches broadcast.
    const batchB = batch.length > 0 && rng() < 0.3 ? [] : batch;
    const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
    const bShape = [...batchB, ...(tb ? [n, k] : [k, n])];
    const mm = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
    const what = `matMul a=${aShape} b=${bShape} ta=${ta} tb=${tb}`;
    // tfjs's matMul gradient does not broadcast batches; check those forward only.
    const fn = batchB.length === batch.length ? withGrads(mm, i) : mm;
    native += countCalls('BatchMatMul', () =>
      compareBackends([input(rng, aShape), input(rng, bShape)], fn, what),
    ).native;
  }
  assert.ok(native >= 120, `BatchMatMul ran natively ${native} times`);
});

nativeTest('_FusedMatMul with bias and relu equals the cpu kernel on 40 random shapes', () => {
  const rng = mulberry32(22);
  let native = 0;
  for (let i = 0; i < 40; i++) {
    const [m, k, n] = [int(rng, 1, 30), int(rng, 1, 30), int(rng, 1, 30)];
    const activation = pick(rng, ['linear', 'relu'] as const);
    const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
      tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation });
    native += countCalls('_FusedMatMul', () =>
      compareBackends(
        [input(rng, [m, k]), input(rng, [k, n]), input(rng, [n])],
        f,
        `fused ${m}x${k}x${n} ${activation}`,
      ),
    ).native;
  }
  assert.equal(native, 40);
});

nativeTest(
  'native kernels flush subnormal floats (as TensorFlow does); JavaScript on the same thread keeps them',
  () => {
    // 1e-39 is subnormal in float32. With denormals-are-zero the native product reads it as 0;
    // the reference cpu kernel keeps IEEE semantics and gives 2e-39.
    const a = { shape: [1, 1], values: new Float32Array([1e-39]) };
    const b = { shape: [1, 1], values: new Float32Array([2]) };
    const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D);
    const calls = countCalls('BatchMatMul', () =>
      assert.equal(runOn(ACCELERATED_BACKEND, [a, b], mm)[0]!.values[0], 0),
    );
    assert.equal(calls.native, 1);
    assert.ok(runOn('cpu', [a, b], mm)[0]!.values[0]! > 0);
    // The flush is scoped to the native call: this thread's float arithmetic is IEEE again.
    const f = new Float32Array(1);
    f[0] = 1e-39 * Number(process.argv.length > 0); // computed at run time, not folded
    assert.ok(f[0]! > 0, 'JavaScript still produces subnormal float32');
  },
);
