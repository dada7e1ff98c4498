import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCELERATED_BACKEND, FusedMomentumOptimizer, momentumOptimizer } from '../../src/backend/index.js';
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

/** Three steps of decayed, optionally scaled gradients: `fused` through applyDecayedGradients, else as tensor ops. */
function runDecayed(
  backend: string,
  fused: boolean,
  shapes: number[][],
  rng: Rng,
  o: { lr: number; momentum: number; scale: number; weightDecay: number; share: boolean },
): Float32Array[] {
  tf.setBackend(backend);
  const vars = shapes.map((s, i) =>
    tf.variable(
      tf.tensor(randomValues(rng, tf.util.sizeFromShape(s)), s),
      true,
      `d${i}_${backend}_${Math.floor(rng() * 1e9)}`,
    ),
  );
  const grads = shapes.map((s) => randomValues(rng, tf.util.sizeFromShape(s)));
  const clones = o.share ? vars.map((v) => v.clone()) : [];
  const opt = backend === 'cpu' ? tf.train.momentum(o.lr, o.momentum) : momentumOptimizer(o.lr, o.momentum);
  const out: Float32Array[] = [];
  const before = tf.memory().numTensors;
  for (let step = 0; step < 3; step++) {
    const g: tf.NamedTensorMap = {};
    grads.forEach(
      (values, i) =>
        (g[vars[i].name] = tf.tensor(
          values.map((x) => x * (step + 1)),
          shapes[i],
        )),
    );
    if (fused)
      (opt as FusedMomentumOptimizer).applyDecayedGradients(g, {
        scale: o.scale,
        weightDecay: o.weightDecay,
      });
    else
      tf.tidy(() => {
        const d: tf.NamedTensorMap = {};
        vars.forEach((v) => {
          const gi = o.scale !== 1 ? tf.mul(g[v.name], o.scale) : g[v.name];
          d[v.name] = tf.add(gi, tf.mul(v, o.weightDecay));
        });
        (opt as tf.Optimizer).applyGradients(d);
      });
    tf.dispose(Object.values(g));
    for (const v of vars) out.push(Float32Array.from(v.dataSync()));
    assert.equal(
      tf.memory().numTensors,
      before + vars.length,
      `step ${step}: one slot per variable, no leak`,
    );
  }
  opt.dispose();
  tf.dispose([...vars, ...clones]);
  return out;
}

nativeTest(
  'applyDecayedGradients (scale and weight decay in the native update) equals the tensor ops bit for bit, 3 steps, 120 shapes',
  () => {
    const shapesRng = mulberry32(91);
    for (let i = 0; i < 12; i++) {
      const shapes = Array.from({ length: 10 }, () =>
        Array.from({ length: int(shapesRng, 1, 4) }, () => int(shapesRng, 1, 9)),
      );
      const o = {
        lr: 0.001 + 0.1 * shapesRng(),
        momentum: 0.5 + 0.49 * shapesRng(),
        scale: i % 2 === 0 ? 1 : 0.01 + shapesRng(),
        weightDecay: [1e-4, 0.3, 5e-4][i % 3]!,
        share: i % 4 === 1,
      };
      const ops = runDecayed(ACCELERATED_BACKEND, false, shapes, mulberry32(200 + i), o);
      const fused = runDecayed(ACCELERATED_BACKEND, true, shapes, mulberry32(200 + i), o);
      const plain = runDecayed('cpu', false, shapes, mulberry32(200 + i), o);
      ops.forEach((r, j) => {
        assert.deepEqual(fused[j], r, `set ${i} output ${j}: fused vs tensor ops`);
        assertClose(
          { shape: [r.length], values: fused[j] },
          { shape: [r.length], values: plain[j] },
          `set ${i} output ${j}: fused vs plain tfjs`,
          1e-6,
        );
      });
    }
  },
);

test('applyDecayedGradients on plain cpu is the tensor ops (no addon needed)', () => {
  const shapes = [[3, 2], [5]];
  const o = { lr: 0.05, momentum: 0.9, scale: 0.5, weightDecay: 0.1, share: false };
  tf.setBackend('cpu');
  const vars = shapes.map((s, i) => tf.variable(tf.ones(s), true, `plainDecay${i}`));
  const opt = momentumOptimizer(o.lr, o.momentum);
  const g: tf.NamedTensorMap = { plainDecay0: tf.fill([3, 2], 2), plainDecay1: tf.fill([5], -4) };
  opt.applyDecayedGradients(g, { scale: o.scale, weightDecay: o.weightDecay });
  // acc = 2 * 0.5 + 0.1 * 1 = 1.1, value = 1 - 0.05 * 1.1; the second: -4 * 0.5 + 0.1 = -1.9
  assertClose(
    { shape: [6], values: vars[0]!.dataSync() as Float32Array },
    { shape: [6], values: new Float32Array(6).fill(1 - 0.05 * 1.1) },
    'first',
    1e-7,
  );
  assertClose(
    { shape: [5], values: vars[1]!.dataSync() as Float32Array },
    { shape: [5], values: new Float32Array(5).fill(1 + 0.05 * 1.9) },
    'second',
    1e-7,
  );
  tf.dispose([...vars, ...Object.values(g)]);
  opt.dispose();
});
