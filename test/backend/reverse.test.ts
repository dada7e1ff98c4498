import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareBackends, countCalls, input, int, mulberry32, skipReason, withGrads } from './helpers.js';

test('Reverse equals the cpu kernel on 100 random shapes and axis sets (gradient included)', { skip: skipReason }, () => {
  const rng = mulberry32(43);
  let native = 0;
  for (let i = 0; i < 100; i++) {
    const shape = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, 7));
    const axes = shape.map((_, a) => a).filter(() => rng() < 0.5);
    if (axes.length === 0) axes.push(int(rng, 0, shape.length - 1));
    // Negative axes as tfjs allows them.
    const dims = axes.map((a) => (rng() < 0.3 ? a - shape.length : a));
    native += countCalls('Reverse', () => compareBackends([input(rng, shape)], withGrads((x) => tf.reverse(x, dims), i), `reverse ${shape} dims=${dims}`)).native;
  }
  assert.ok(native >= 100, `Reverse ran natively ${native} times`);
});
