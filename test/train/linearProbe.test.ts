import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { bceWithLogits } from '../../src/models/classifier.js';
import { fitLinearProbe, type FeatureSet } from '../../src/train/linearProbe.js';
import { makeRng, type Rng } from '../../src/rng.js';

/** Label j is on when feature j is positive: trivially linearly separable with margin. */
function separable(n: number, dim: number, labels: number, rng: Rng): FeatureSet {
  const x = new Float32Array(n * dim);
  const y = new Float32Array(n * labels);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) x[i * dim + d] = rng.normal();
    for (let j = 0; j < labels; j++) {
      const on = rng.next() < 0.3;
      y[i * labels + j] = on ? 1 : 0;
      x[i * dim + j] = (on ? 1 : -1) * (1 + Math.abs(rng.normal()));
    }
  }
  return { x, y, n, dim, labels };
}

test('BCE with logits matches the textbook formula, including large logits', async () => {
  await tf.setBackend('cpu');
  const logits = tf.tensor2d([[0, 2, -30]], [1, 3]);
  const targets = tf.tensor2d([[1, 0, 0]], [1, 3]);
  // −log σ(0) = log 2; −log(1 − σ(2)) = 2 + log(1 + e^−2); −log(1 − σ(−30)) ≈ e^−30.
  const expected = (Math.log(2) + 2 + Math.log1p(Math.exp(-2)) + Math.exp(-30)) / 3;
  assert.ok(Math.abs(bceWithLogits(logits, targets).dataSync()[0]! - expected) < 1e-6);
});

test('a linear probe reaches AUC near 1 on separable features, without leaking tensors', async () => {
  await tf.setBackend('cpu');
  const rng = makeRng(1);
  const [train, val, test] = [
    separable(400, 16, 5, rng.fork('a')),
    separable(150, 16, 5, rng.fork('b')),
    separable(150, 16, 5, rng.fork('c')),
  ];
  const before = tf.memory().numTensors;
  const r = fitLinearProbe(train, val, test, { epochs: 8, batchSize: 32, lr: 0.5, rng: rng.fork('fit') });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(r.testAuc > 0.98, `test AUC ${r.testAuc}`);
  assert.ok(r.bestTestAuc >= r.testAuc);
  assert.equal(r.epochs.length, 8);
  assert.ok(r.epochs[7]!.trainLoss < r.epochs[0]!.trainLoss);
  assert.equal(r.perLabel.length, 5);
  // The selected epoch is the one with the best validation AUC.
  assert.equal(r.epochs[r.selectedEpoch - 1]!.valAuc, Math.max(...r.epochs.map((e) => e.valAuc)));
});

test('same seed, same result', async () => {
  await tf.setBackend('cpu');
  const rng = makeRng(2);
  const sets = [
    separable(100, 8, 3, rng.fork('a')),
    separable(60, 8, 3, rng.fork('b')),
    separable(60, 8, 3, rng.fork('c')),
  ] as const;
  const a = fitLinearProbe(...sets, { epochs: 2, batchSize: 16, lr: 0.1, rng: makeRng(5) });
  const b = fitLinearProbe(...sets, { epochs: 2, batchSize: 16, lr: 0.1, rng: makeRng(5) });
  assert.deepEqual(a, b);
});

test('epochFeatures: each epoch trains on the features it returns (augmented crops), and a wrong size is an error', async () => {
  await tf.setBackend('cpu');
  const rng = makeRng(5);
  const [train, val, test] = [
    separable(200, 8, 3, rng.fork('a')),
    separable(80, 8, 3, rng.fork('b')),
    separable(80, 8, 3, rng.fork('c')),
  ];
  const calls: number[] = [];
  // Epoch features equal to train.x give exactly the plain run; noise instead destroys what it learns.
  const same = fitLinearProbe(train, val, test, {
    epochs: 3,
    batchSize: 32,
    lr: 0.5,
    rng: makeRng(6),
    epochFeatures: (e) => {
      calls.push(e);
      return train.x;
    },
  });
  const plain = fitLinearProbe(train, val, test, { epochs: 3, batchSize: 32, lr: 0.5, rng: makeRng(6) });
  assert.deepEqual(calls, [1, 2, 3]);
  assert.deepEqual(same.epochs, plain.epochs);
  const noise = makeRng(7);
  const noisy = fitLinearProbe(train, val, test, {
    epochs: 3,
    batchSize: 32,
    lr: 0.5,
    rng: makeRng(6),
    epochFeatures: () => Float32Array.from(train.x, () => noise.normal()),
  });
  assert.ok(noisy.testAuc < plain.testAuc - 0.2, `${noisy.testAuc} vs ${plain.testAuc}`);
  assert.throws(
    () =>
      fitLinearProbe(train, val, test, {
        epochs: 1,
        batchSize: 32,
        lr: 0.5,
        rng: makeRng(6),
        epochFeatures: () => new Float32Array(3),
      }),
    /epoch 1 features have 3 values/,
  );
});
