import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { broadcastMode } from '../../src/backend/elementwiseKernels.js';
import {
  compareBackends,
  countCalls,
  input,
  int,
  mulberry32,
  pick,
  nativeTest,
  withGrads,
  type Rng,
} from './helpers.js';

const binaryOps: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  Add: tf.add,
  Sub: tf.sub,
  Multiply: tf.mul,
  RealDiv: tf.div,
  Maximum: tf.maximum,
  Minimum: tf.minimum,
  SquaredDifference: tf.squaredDifference,
};

/** Shape pairs covering every native broadcast mode and some that must fall back. */
function shapePair(rng: Rng): [number[], number[]] {
  const full = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, 6));
  const cut = int(rng, 0, full.length);
  switch (int(rng, 0, 5)) {
    case 0:
      return [full, full];
    case 1:
      return [full, full.slice(cut)]; // trailing block
    case 2:
      return [full.slice(cut), full];
    case 3:
      return [full, [...full.slice(0, cut), ...full.slice(cut).map(() => 1)]]; // leading block
    case 4:
      return [[], full]; // scalar
    default:
      return [full, full.map((d, i) => (i % 2 ? 1 : d))]; // general: strided loop
  }
}

nativeTest(
  'binary element-wise ops and their gradients equal the cpu kernels on 140 random broadcasts',
  () => {
    const rng = mulberry32(31);
    let native = 0;
    const names = Object.keys(binaryOps);
    for (let i = 0; i < 140; i++) {
      const name = names[i % names.length];
      const [aShape, bShape] = shapePair(rng);
      const a = input(rng, aShape);
      const b = input(rng, bShape);
      // Keep divisors away from zero so the gradient comparison is about kernels, not 1/0.
      if (name === 'RealDiv')
        b.values.forEach((v, j) => {
          b.values[j] = v >= 0 ? v + 0.5 : v - 0.5;
        });
      // tfjs's SquaredDifference gradient does not reduce broadcast axes; differentiate it only
      // on equal shapes.
      const differentiable =
        !['Maximum', 'Minimum'].includes(name) &&
        (name !== 'SquaredDifference' || tf.util.arraysEqual(aShape, bShape));
      const fn = differentiable ? withGrads(binaryOps[name], i) : binaryOps[name];
      const calls = countCalls(name, () => compareBackends([a, b], fn, `${name} ${aShape} ${bShape}`));
      assert.equal(calls.fallback, 0, `${name} ${aShape} ${bShape} fell back`);
      native += calls.native;
    }
    assert.ok(native >= 140, `binary ops ran natively ${native} times`);
  },
);

test('broadcastMode classifies shapes', () => {
  assert.deepEqual(broadcastMode([2, 3], [2, 3]), { mode: 0, inner: 1, shape: [2, 3] });
  assert.deepEqual(broadcastMode([2, 3, 4], [4]), { mode: 1, inner: 4, shape: [2, 3, 4] });
  assert.deepEqual(broadcastMode([], [2, 3]), { mode: 2, inner: 1, shape: [2, 3] });
  assert.deepEqual(broadcastMode([2, 3, 4], [2, 1, 1]), { mode: 3, inner: 12, shape: [2, 3, 4] });
  assert.deepEqual(broadcastMode([2, 3, 1], [2, 3, 4]), { mode: 4, inner: 4, shape: [2, 3, 4] });
  assert.equal(broadcastMode([2, 1, 4], [2, 3, 4]), null); // the middle axis repeats: strided loop
  assert.equal(broadcastMode([2, 1], [1, 3]), null);
});

const unaryOps: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  Relu: tf.relu,
  Relu6: tf.relu6,
  Neg: tf.neg,
  Square: tf.square,
  Sqrt: tf.sqrt,
  Rsqrt: tf.rsqrt,
  Exp: tf.exp,
  Log: tf.log,
  Abs: tf.abs,
  Sigmoid: tf.sigmoid,
  Step: (x) => tf.step(x, 0.25),
};

nativeTest('unary element-wise ops equal the cpu kernels on 110 random shapes', () => {
  const rng = mulberry32(32);
  let native = 0;
  const names = Object.keys(unaryOps);
  for (let i = 0; i < 110; i++) {
    const name = names[i % names.length];
    const shape = Array.from({ length: int(rng, 0, 4) }, () => int(rng, 1, 9));
    const x = input(rng, shape);
    if (['Sqrt', 'Rsqrt', 'Log'].includes(name))
      x.values.forEach((v, j) => {
        x.values[j] = Math.abs(v) + 0.1;
      });
    if (pick(rng, [true, false]) && x.values.length > 0) x.values[0] = 0; // relu/step/abs at 0
    const fn = name === 'Step' ? unaryOps[name] : withGrads(unaryOps[name], i);
    const grad = countCalls('CxrReluGrad', () => {
      native += countCalls(name, () => compareBackends([x], fn, `${name} ${shape}`)).native;
    });
    if (name === 'Relu') assert.deepEqual(grad, { native: 1, fallback: 0 }, 'relu gradient ran natively');
  }
  assert.ok(native >= 110, `unary ops ran natively ${native} times`);
});
