import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addRelu } from '../../src/backend/index.js';
import { compareBackends, countCalls, input, int, mulberry32, nativeTest, withGrads } from './helpers.js';

nativeTest('addRelu (native) equals tf.relu(tf.add()) (cpu), value and both gradients, on 110 shapes', () => {
  const rng = mulberry32(71);
  let native = 0;
  let grads = 0;
  for (let i = 0; i < 110; i++) {
    const shape = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, 7));
    // The same tensor as both operands makes the engine add the two gradients it returns.
    const same = i % 10 === 0;
    const f = same ? (a: tf.Tensor) => addRelu(a, a) : (a: tf.Tensor, b: tf.Tensor) => addRelu(a, b);
    const inputs = same ? [input(rng, shape)] : [input(rng, shape), input(rng, shape)];
    const calls = countCalls('CxrReluGrad', () => {
      native += countCalls('CxrAddRelu', () =>
        compareBackends(inputs, withGrads(f, i), `addRelu ${shape}`),
      ).native;
    });
    grads += calls.native;
  }
  // withGrads runs the forward twice (value, then under tf.grads).
  assert.equal(native, 220);
  assert.equal(grads, 110);
});

nativeTest('addRelu, relu and step keep tfjs semantics for NaN, ±Infinity and ±0', () => {
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2.5];
  const a = {
    shape: [special.length ** 2],
    values: Float32Array.from(special.flatMap((x) => special.map(() => x))),
  };
  const b = { shape: [special.length ** 2], values: Float32Array.from(special.flatMap(() => special)) };
  // Finite upstream gradients, so NaN in a gradient comes from the mask alone.
  compareBackends(
    [a, b],
    (x, y) => {
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(addRelu(p, q)))([x, y]);
      return [addRelu(x, y), ...g];
    },
    'addRelu non-finite',
  );
  compareBackends(
    [a],
    (x) => [tf.step(x), tf.relu(x), tf.grad((p: tf.Tensor) => tf.sum(tf.relu(p)))(x)],
    'step, relu non-finite',
  );
});

test('addRelu on the plain cpu backend is relu(a + b) (no addon needed)', () => {
  tf.setBackend('cpu');
  const y = addRelu(tf.tensor1d([1, -3, 2]), tf.tensor1d([1, 1, -2]));
  // 2, relu(-2) = 0, relu(0) = 0
  assert.deepEqual(Array.from(y.dataSync()), [2, 0, 0]);
  y.dispose();
});
