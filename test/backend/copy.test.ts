import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { compareBackends, countCalls, input, int, mulberry32, nativeTest, withGrads } from './helpers.js';

nativeTest('Reverse equals the cpu kernel on 100 random shapes and axis sets (gradient included)', () => {
  const rng = mulberry32(43);
  let native = 0;
  for (let i = 0; i < 100; i++) {
    const shape = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, 7));
    const axes = shape.map((_, a) => a).filter(() => rng() < 0.5);
    if (axes.length === 0) axes.push(int(rng, 0, shape.length - 1));
    // Negative axes as tfjs allows them.
    const dims = axes.map((a) => (rng() < 0.3 ? a - shape.length : a));
    native += countCalls('Reverse', () =>
      compareBackends(
        [input(rng, shape)],
        withGrads((x) => tf.reverse(x, dims), i),
        `reverse ${shape} dims=${dims}`,
      ),
    ).native;
  }
  assert.ok(native >= 100, `Reverse ran natively ${native} times`);
});

nativeTest(
  'GatherV2 equals the cpu kernel on 100 random shapes, axes and index lists (gradient included)',
  () => {
    const rng = mulberry32(44);
    let native = 0;
    for (let i = 0; i < 100; i++) {
      const shape = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, 6));
      const axis = int(rng, 0, shape.length - 1);
      const idx = Array.from({ length: int(rng, 1, 8) }, () => int(rng, 0, shape[axis]! - 1));
      const what = `gather ${shape} axis=${axis} idx=${idx}`;
      native += countCalls('GatherV2', () =>
        compareBackends(
          [input(rng, shape)],
          withGrads((x) => tf.gather(x, tf.tensor1d(idx, 'int32'), axis), i),
          what,
        ),
      ).native;
    }
    assert.ok(native >= 100, `GatherV2 ran natively ${native} times`);
  },
);

nativeTest('GatherV2 rejects an index out of range like the cpu kernel', () => {
  tf.setBackend('cxr-cpu');
  assert.throws(
    () => tf.gather(tf.ones([3, 2]), tf.tensor1d([0, 3], 'int32')).dataSync(),
    /index value 3 is not in \[0, 2\]/,
  );
});

nativeTest('Tile equals the cpu kernel on 100 random shapes and repetitions (gradient included)', () => {
  const rng = mulberry32(45);
  let native = 0;
  for (let i = 0; i < 100; i++) {
    const shape = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, 5));
    const reps = shape.map(() => int(rng, 1, 3));
    native += countCalls('Tile', () =>
      compareBackends(
        [input(rng, shape)],
        withGrads((x) => tf.tile(x, reps), i),
        `tile ${shape} reps=${reps}`,
      ),
    ).native;
  }
  assert.ok(native >= 100, `Tile ran natively ${native} times`);
});

nativeTest('SplitV equals the cpu kernel on 100 random shapes and splits (gradient included)', () => {
  const rng = mulberry32(46);
  let native = 0;
  for (let i = 0; i < 100; i++) {
    const shape = Array.from({ length: int(rng, 1, 4) }, () => int(rng, 2, 7));
    const axis = int(rng, 0, shape.length - 1);
    const a = int(rng, 1, shape[axis]! - 1);
    const sizes = rng() < 0.3 ? [a, -1] : [a, shape[axis]! - a];
    const f = (x: tf.Tensor) =>
      tf.concat(
        tf.split(x, sizes, axis).map((t, k) => tf.mul(t, k + 1)),
        axis,
      );
    native += countCalls('SplitV', () =>
      compareBackends([input(rng, shape)], withGrads(f, i), `split ${shape} sizes=${sizes} axis=${axis}`),
    ).native;
  }
  assert.ok(native >= 100, `SplitV ran natively ${native} times`);
});
