import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { ACCELERATED_BACKEND, setBatchNormEvalGradient } from '../../src/backend/index.js';
import { ResNet } from '../../src/models/resnet.js';
import { makeRng } from '../../src/rng.js';
import { compareBackends, int, mulberry32, nativeTest, pick, randomValues } from './helpers.js';

/** Equal bit for bit: -0 is not +0, and a NaN is a NaN. */
function assertSameBits(got: Float32Array, ref: Float32Array, what: string): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const r = new Uint32Array(ref.buffer, ref.byteOffset, ref.length);
  for (let i = 0; i < r.length; i++) {
    if (Number.isNaN(ref[i]) && Number.isNaN(got[i])) continue;
    if (g[i] !== r[i]) assert.fail(`${what}: element ${i} is ${got[i]}, not ${ref[i]}`);
  }
}

/** Runs fn with tfjs's own FusedBatchNorm gradient, whatever it throws. */
function tfjsGradient<T>(fn: () => T): T {
  setBatchNormEvalGradient(false);
  try {
    return fn();
  } finally {
    setBatchNormEvalGradient(true);
  }
}

nativeTest(
  'eval-mode batch norm: the lazy gradient equals tfjs’s bit for bit (x, mean, variance, scale, offset; 120 shapes)',
  () => {
    tf.setBackend(ACCELERATED_BACKEND);
    const rng = mulberry32(1411);
    for (let i = 0; i < 120; i++) {
      const rank = pick(rng, [2, 3, 4, 4]);
      const shape = Array.from({ length: rank }, () => int(rng, 1, 9));
      const c = shape[rank - 1]!;
      const pRank4 = rng() < 0.2;
      const len = rng() < 0.15 ? 1 : c;
      const pShape = pRank4 ? [1, 1, 1, len] : [len];
      const x = tf.tensor(
        randomValues(
          rng,
          shape.reduce((a, b) => a * b, 1),
        ),
        shape,
      );
      const mean = tf.tensor(randomValues(rng, len), pShape);
      const variance = tf.tensor(
        randomValues(rng, len).map((v) => Math.abs(v) + 0.05),
        pShape,
      );
      const offset = tf.tensor(randomValues(rng, len), pShape);
      const scale = tf.tensor(randomValues(rng, len), pShape);
      const w = tf.tensor(randomValues(rng, x.size), shape);
      const relu = rng() < 0.5;
      const eps = pick(rng, [1e-5, 1e-3]);
      const loss = (a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor): tf.Scalar => {
        const y = tf.batchNorm(a, m, v, o, s, eps);
        return tf.sum(tf.mul(relu ? tf.relu(y) : y, w));
      };
      // tfjs's own gradient cannot reshape the parameter gradients of rank-4 parameters (it sums them
      // only for rank 1), so with those only x's gradient is compared.
      const args = pRank4 ? [x] : [x, mean, variance, offset, scale];
      const f = pRank4
        ? (a: tf.Tensor) => loss(a, mean, variance, offset, scale)
        : (...t: tf.Tensor[]) => loss(t[0]!, t[1]!, t[2]!, t[3]!, t[4]!);
      const before = tf.memory().numTensors;
      const ours = tf.grads(f)(args);
      const theirs = tfjsGradient(() => tf.grads(f)(args));
      // Only x's gradient: the closures of the others are not called.
      const oursX = tf.grad((a: tf.Tensor) => loss(a, mean, variance, offset, scale))(x);
      const names = ['x', 'mean', 'variance', 'offset', 'scale'];
      assert.equal(ours.length, args.length);
      ours.forEach((g, k) =>
        assertSameBits(
          g.dataSync() as Float32Array,
          theirs[k]!.dataSync() as Float32Array,
          `case ${i} [${shape}], params [${pShape}]: d${names[k]}`,
        ),
      );
      assertSameBits(
        oursX.dataSync() as Float32Array,
        theirs[0]!.dataSync() as Float32Array,
        `case ${i}: dx alone`,
      );
      tf.dispose([...ours, ...theirs, oursX]);
      assert.equal(tf.memory().numTensors, before, `case ${i}: tensors leaked`);
      tf.dispose([x, mean, variance, offset, w, scale]);
    }
  },
);

nativeTest('eval-mode batch norm gradients on cxr-cpu equal plain tfjs (cpu) within float32 rounding', () => {
  const rng = mulberry32(1412);
  for (let i = 0; i < 30; i++) {
    const shape = [int(rng, 1, 3), int(rng, 1, 9), int(rng, 1, 9), int(rng, 1, 17)];
    const c = shape[3]!;
    const inputs = [
      {
        shape,
        values: randomValues(
          rng,
          shape.reduce((a, b) => a * b, 1),
        ),
      },
      { shape: [c], values: randomValues(rng, c) },
      { shape: [c], values: randomValues(rng, c).map((v) => Math.abs(v) + 0.05) },
      { shape: [c], values: randomValues(rng, c) },
      { shape: [c], values: randomValues(rng, c) },
    ];
    compareBackends(
      inputs,
      (x, m, v, o, s) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor, d: tf.Tensor, e: tf.Tensor) =>
          tf.sum(tf.square(tf.relu(tf.batchNorm(a, b, cc, d, e, 1e-5)))),
        )([x!, m!, v!, o!, s!]),
      `case ${i} [${shape}]`,
      1e-4,
    );
  }
});

nativeTest(
  'a norm-eval ResNet step (eval-mode batch norm under a tape): the same loss and parameter gradients as with tfjs’s gradient',
  () => {
    tf.setBackend(ACCELERATED_BACKEND);
    const m = new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1, numClasses: 3 }, makeRng(3));
    const rng = mulberry32(1413);
    // Non-trivial running statistics, gamma and beta.
    for (const { name, variable } of m.store.all()) {
      if (!/(running_mean|running_var|bn\d\.(weight|bias)|downsample\.1\.(weight|bias))$/.test(name))
        continue;
      const vals = randomValues(rng, variable.size).map((a) =>
        name.endsWith('running_var') ? Math.abs(a) + 0.05 : a,
      );
      variable.assign(tf.tensor(vals, variable.shape));
    }
    const x = tf.tensor4d(randomValues(rng, 2 * 32 * 32), [2, 32, 32, 1]);
    const step = (): Float32Array[] => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(m.forward(x, { training: false }).logits!)) as tf.Scalar,
        m.parameters(),
      );
      const out = [
        Float32Array.from(value.dataSync()),
        ...Object.keys(grads)
          .sort()
          .map((k) => Float32Array.from(grads[k]!.dataSync())),
      ];
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const ref = tfjsGradient(step);
    const got = step();
    assert.equal(got.length, ref.length);
    assert.ok(got.length > 20, 'every conv weight, gamma and beta has a gradient');
    got.forEach((g, k) => assertSameBits(g, ref[k]!, `output ${k}`));
    x.dispose();
    m.dispose();
  },
);
