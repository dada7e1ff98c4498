import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { compareBackends, countCalls, input, int, mulberry32, nativeTest, withGrads } from './helpers.js';

nativeTest('Sum and Mean over random axes equal the cpu kernels on 120 random shapes', () => {
  const rng = mulberry32(41);
  let native = 0;
  for (let i = 0; i < 120; i++) {
    const shape = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, 9));
    if (i % 10 === 0) shape.splice(0, shape.length, int(rng, 500, 3000), int(rng, 1, 3)); // long columns
    const axes = shape.map((_, a) => a).filter(() => rng() < 0.6);
    if (axes.length === 0) axes.push(int(rng, 0, shape.length - 1));
    const keepDims = rng() < 0.5;
    const kind = i % 2 ? 'Mean' : 'Sum';
    const f = (x: tf.Tensor) => (kind === 'Mean' ? tf.mean : tf.sum)(x, axes, keepDims);
    const what = `${kind} ${shape} axes=${axes} keepDims=${keepDims}`;
    native += countCalls(kind, () => compareBackends([input(rng, shape)], withGrads(f, i), what)).native;
  }
  // Non-contiguous axes fall back; most of these cases are contiguous.
  assert.ok(native >= 70, `reductions ran natively ${native} times`);
});

nativeTest('Transpose equals the cpu kernel on 100 random permutations', () => {
  const rng = mulberry32(42);
  let native = 0;
  for (let i = 0; i < 100; i++) {
    const shape = Array.from({ length: int(rng, 1, 5) }, () => int(rng, 1, 6));
    const perm = shape.map((_, a) => a);
    for (let j = perm.length - 1; j > 0; j--) {
      const r = int(rng, 0, j);
      [perm[j], perm[r]] = [perm[r], perm[j]];
    }
    native += countCalls('Transpose', () =>
      compareBackends(
        [input(rng, shape)],
        withGrads((x) => tf.transpose(x, perm), i),
        `transpose ${shape} ${perm}`,
      ),
    ).native;
  }
  assert.ok(native >= 100);
});
