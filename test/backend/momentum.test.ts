import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCELERATED_BACKEND, momentumOptimizer } from '../../src/backend/index.js';
import { assertClose, int, mulberry32, randomValues, nativeTest, type Rng } from './helpers.js';

/**
 * Three steps of `make()` on variables of the given shapes with fixed gradients; returns the
 * variables' and the momentum slots' values after every step. `share` keeps a clone of each
 * variable alive, so the native update must not write in place.
 */
function run(
  backend: string,
  make: () => tf.Optimizer,
  shapes: number[][],
  rng: Rng,
  share: boolean,
): Float32Array[] {
  tf.setBackend(backend);
  const vars = shapes.map((s, i) =>
    tf.tidy(() =>
      tf.variable(
        tf.tensor(randomValues(rng, tf.util.sizeFromShape(s)), s),
        true,
        `m${i}_${backend}_${Math.floor(rng() * 1e9)}`,
      ),
    ),
  );
  const grads = shapes.map((s) => randomValues(rng, tf.util.sizeFromShape(s)));
  const clones = share ? vars.map((v) => v.clone()) : [];
  const opt = make();
  const out: Float32Array[] = [];
  const before = tf.memory().numTensors;
  const ids = vars.map((v) => v.dataId);
  for (let step = 0; step < 3; step++) {
    const g = grads.map((values, i) => ({
      name: vars[i].name,
      tensor: tf.tensor(
        values.map((x) => x * (step + 1)),
        shapes[i],
      ),
    }));
    opt.applyGradients(g);
    tf.dispose(g.map((x) => x.tensor));
    for (const v of vars) out.push(Float32Array.from(v.dataSync()));
    if (step === 0)
      assert.equal(tf.memory().numTensors, before + vars.length, 'one momentum slot per variable');
    else assert.equal(tf.memory().numTensors, before + vars.length, `step ${step} leaked tensors`);
  }
  // Unshared variables are updated in place on cxr-cpu (the native path ran); shared ones not.
  if (backend === ACCELERATED_BACKEND)
    vars.forEach((v, i) => assert.equal(v.dataId === ids[i], !share, 'in place iff unshared'));
  // The clones still hold the initial values.
  clones.forEach((c, i) => assert.notDeepEqual(Array.from(c.dataSync()), Array.from(out[i])));
  opt.dispose();
  tf.dispose([...vars, ...clones]);
  return out;
}

nativeTest(
  'momentumOptimizer on cxr-cpu equals tf.train.momentum on cpu, 3 steps, on 110 variable shapes',
  () => {
    const shapesRng = mulberry32(81);
    for (let i = 0; i < 11; i++) {
      const shapes = Array.from({ length: 10 }, () =>
        Array.from({ length: int(shapesRng, 1, 4) }, () => int(shapesRng, 1, 9)),
      );
      const lr = 0.001 + 0.1 * shapesRng();
      const momentum = 0.5 + 0.49 * shapesRng();
      const share = i % 3 === 0;
      const ref = run('cpu', () => tf.train.momentum(lr, momentum), shapes, mulberry32(100 + i), share);
      const got = run(
        ACCELERATED_BACKEND,
        () => momentumOptimizer(lr, momentum),
        shapes,
        mulberry32(100 + i),
        share,
      );
      ref.forEach((r, j) =>
        assertClose(
          { shape: [r.length], values: got[j] },
          { shape: [r.length], values: r },
          `momentum set ${i} output ${j}`,
          1e-6,
        ),
      );
    }
  },
);

test("momentumOptimizer with Nesterov and on plain cpu is tfjs's own update (no addon needed)", () => {
  for (const nesterov of [false, true]) {
    tf.setBackend('cpu');
    const v = tf.variable(tf.tensor1d([1, 2]));
    const opt = momentumOptimizer(0.1, 0.9, nesterov);
    // acc = 0.9 * 0 + g = g; value = value - 0.1 * acc (Nesterov: - 0.1 * (g + 0.9 * acc)).
    opt.applyGradients([{ name: v.name, tensor: tf.tensor1d([1, -1]) }]);
    const want = nesterov ? [1 - 0.19, 2 + 0.19] : [0.9, 2.1];
    Array.from(v.dataSync()).forEach((x, i) =>
      assert.ok(Math.abs(x - want[i]) < 1e-6, `nesterov=${nesterov}: ${x} vs ${want[i]}`),
    );
    opt.dispose();
    v.dispose();
  }
});
