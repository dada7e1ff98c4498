/**
 * The fused LARS update (`larsUpdate`, native `lars_update`) against `Lars`'s tensor code on plain
 * tfjs: parameters and momentum buffers after several steps, on random shapes, with and without
 * weight decay, zero parameters (the trust ratio's guard), bias-like tensors, and storage that is
 * shared or was read out (updated into fresh tensors, not in place).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { ACCELERATED_BACKEND } from '../../src/backend/index.js';
import { Lars } from '../../src/models/lars.js';
import { assertClose, int, mulberry32, nativeTest, randomValues, type Rng } from './helpers.js';

interface Case {
  shapes: number[][];
  init: Float32Array[];
  grads: Float32Array[][];
  weightDecay: number;
  lrs: [number, number][];
}

function makeCase(rng: Rng, i: number): Case {
  const shapes = Array.from({ length: int(rng, 1, 4) }, () =>
    Array.from({ length: int(rng, 1, 4) }, () => int(rng, 1, i % 5 === 0 ? 40 : 9)),
  );
  const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  const init = shapes.map((s, k) =>
    // One parameter all zeros now and then: LARS then keeps the trust ratio at 1.
    i % 4 === 1 && k === 0 ? new Float32Array(size(s)) : randomValues(rng, size(s)),
  );
  const steps = 4;
  const grads = Array.from({ length: steps }, (_, t) =>
    shapes.map((s) => (i % 7 === 3 && t === 1 ? new Float32Array(size(s)) : randomValues(rng, size(s)))),
  );
  return {
    shapes,
    init,
    grads,
    weightDecay: i % 3 === 0 ? 0 : 1e-6 * (1 + 1000 * rng()),
    lrs: Array.from({ length: steps }, () => [0.01 + rng(), 0.001 + 0.1 * rng()] as [number, number]),
  };
}

/** Runs the case's steps on `backend`, returning every parameter and momentum buffer after the last. */
async function run(
  c: Case,
  backend: string,
  fused: boolean,
  hook?: (params: Map<string, tf.Variable>) => void,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const params = new Map(
    c.shapes.map((s, k) => [`p${k}`, tf.variable(tf.tensor(c.init[k]!, s), true, undefined)]),
  );
  const lars = new Lars({ weightDecay: c.weightDecay });
  lars.fused = fused;
  for (let t = 0; t < c.grads.length; t++) {
    hook?.(params);
    const grads: Record<string, tf.Tensor> = {};
    c.shapes.forEach((s, k) => (grads[`p${k}`] = tf.tensor(c.grads[t]![k]!, s)));
    lars.applyGradients(params, grads, c.lrs[t]![0], c.lrs[t]![1]);
    tf.dispose(Object.values(grads));
  }
  const out = [
    ...[...params.values()].map((v) => Float32Array.from(v.dataSync())),
    ...[...lars.state().values()].map((v) => Float32Array.from(v.dataSync())),
  ];
  lars.dispose();
  for (const v of params.values()) v.dispose();
  return out;
}

nativeTest('fused LARS equals Lars on plain tfjs on 60 random parameter sets over 4 steps', async () => {
  const rng = mulberry32(61);
  const before = tf.getBackend() as string | undefined;
  try {
    for (let i = 0; i < 60; i++) {
      const c = makeCase(rng, i);
      const ref = await run(c, 'cpu', false);
      // Every third case: storage shared (a clone) or read out (dataSync) before each step, which
      // takes the fresh-tensor path instead of the in-place one.
      const keep: tf.Tensor[] = [];
      const hook =
        i % 3 === 1
          ? (ps: Map<string, tf.Variable>) => ps.forEach((v) => keep.push(v.clone()))
          : i % 3 === 2
            ? (ps: Map<string, tf.Variable>) => ps.forEach((v) => void v.dataSync())
            : undefined;
      const got = await run(c, ACCELERATED_BACKEND, true, hook);
      tf.dispose(keep);
      assert.equal(got.length, ref.length);
      got.forEach((g, k) => {
        const what = `case ${i} tensor ${k} shapes ${JSON.stringify(c.shapes)} wd ${c.weightDecay}`;
        const r = ref[k]!;
        if (k < c.shapes.length) {
          assertClose({ shape: [g.length], values: g }, { shape: [r.length], values: r }, what, 1e-6);
          return;
        }
        // Momentum buffers are ~1e-3 (eta times the update); compare them relative to their own size.
        let maxRef = 0;
        let maxDiff = 0;
        for (let j = 0; j < r.length; j++) {
          maxRef = Math.max(maxRef, Math.abs(r[j]!));
          maxDiff = Math.max(maxDiff, Math.abs(g[j]! - r[j]!));
        }
        assert.ok(maxDiff <= 1e-5 * maxRef, `${what}: momentum max |diff| ${maxDiff} > 1e-5 * ${maxRef}`);
      });
    }
  } finally {
    if (before) await tf.setBackend(before);
  }
});

nativeTest(
  'fused LARS runs natively: one pass per parameter, no tensor kernels, nothing leaked',
  async () => {
    const before = tf.getBackend() as string | undefined;
    await tf.setBackend(ACCELERATED_BACKEND);
    try {
      const rng = mulberry32(62);
      const shapes = [[3, 3, 4, 8], [8], [16, 32]];
      const params = new Map(
        shapes.map((s, k) => [
          `p${k}`,
          tf.variable(
            tf.tensor(
              randomValues(
                rng,
                s.reduce((a, b) => a * b),
              ),
              s,
            ),
          ),
        ]),
      );
      const lars = new Lars({ weightDecay: 1e-4 });
      const grads = (): Record<string, tf.Tensor> =>
        Object.fromEntries(
          shapes.map((s, k) => [
            `p${k}`,
            tf.tensor(
              randomValues(
                rng,
                s.reduce((a, b) => a * b),
              ),
              s,
            ),
          ]),
        );
      const g0 = grads();
      lars.applyGradients(params, g0, 0.1, 0.01); // creates the momentum buffers
      tf.dispose(Object.values(g0));
      const g1 = grads();
      const tensors = tf.memory().numTensors;
      const info = await tf.profile(() => {
        lars.applyGradients(params, g1, 0.1, 0.01);
        return [];
      });
      assert.equal(tf.memory().numTensors, tensors, 'no tensor leaked');
      // The tensor code issues ~15 kernels per weight; in place, the fused update issues none.
      assert.ok(info.kernels.length <= 2 * shapes.length, `${info.kernels.length} kernel calls`);
      tf.dispose(Object.values(g1));
      lars.dispose();
      for (const v of params.values()) v.dispose();
    } finally {
      if (before) await tf.setBackend(before);
    }
  },
);
