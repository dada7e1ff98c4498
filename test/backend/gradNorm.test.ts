import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCELERATED_BACKEND, globalNorm } from '../../src/backend/index.js';
import { globalNormOps } from '../../src/backend/gradNorm.js';
import { int, mulberry32, nativeTest, randomValues } from './helpers.js';

nativeTest('globalNorm equals sqrt(addN(sum(square(g)))) bit for bit on 60 random gradient sets', () => {
  tf.setBackend(ACCELERATED_BACKEND);
  const rng = mulberry32(5);
  for (let c = 0; c < 60; c++) {
    const shapes = Array.from({ length: int(rng, 1, 30) }, () =>
      Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, c % 5 === 0 ? 200 : 12)),
    );
    // magnitudes from 1e-25 (squares below float32's normal range) to 1e15 (squares near its top)
    const scale = 10 ** [0, -3, 4, -25, 15, -19][c % 6]!;
    const ts = shapes.map((s) =>
      tf.tensor(
        randomValues(rng, tf.util.sizeFromShape(s)).map((x) => x * scale),
        s,
      ),
    );
    const want = globalNormOps(ts);
    const got = globalNorm(ts);
    assert.equal(got, want, `case ${c} (scale ${scale})`);
    // and it is the norm (where the squares are normal float32 numbers): within float32 rounding of a double sum
    if (scale < 1e-3) {
      tf.dispose(ts);
      continue;
    }
    let exact = 0;
    for (const t of ts) for (const x of t.dataSync()) exact += x * x;
    assert.ok(
      Math.abs(got - Math.sqrt(exact)) <= 1e-6 * Math.sqrt(exact),
      `case ${c}: ${got} vs ${Math.sqrt(exact)}`,
    );
    tf.dispose(ts);
  }
});

test('globalNorm on plain cpu is the tensor ops (no addon needed); a hand case; no tensors throws', () => {
  tf.setBackend('cpu');
  const ts = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])];
  assert.equal(globalNorm(ts), 13);
  assert.throws(() => globalNorm([]), /no tensors/);
  tf.dispose(ts);
});
