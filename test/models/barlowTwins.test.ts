import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine, tensorCount } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { BarlowTwins, Projector, barlowTwinsLoss, crossCorrelation } from '../../src/models/barlowTwins.js';
import { ResNet } from '../../src/models/resnet.js';
import { loadReference } from '../reference.js';

interface BarlowCase {
  name: string;
  input: { lambd: number; z1: number[][]; z2: number[][] };
  expected: { loss: number; grad_z1?: number[][] };
}

before(async () => {
  await initEngine('cpu');
});

test('barlowTwinsLoss matches main.py (float64 peer) in value and gradient, within float32 rounding', () => {
  const ref = loadReference<BarlowCase>('barlow.json');
  assert.ok(ref.cases.length >= 6);
  for (const c of ref.cases) {
    const z1 = tf.tensor2d(c.input.z1);
    const z2 = tf.tensor2d(c.input.z2);
    const before = tensorCount();
    const loss = barlowTwinsLoss(z1, z2, c.input.lambd);
    const v = loss.dataSync()[0]!;
    loss.dispose();
    assert.equal(tensorCount(), before, `${c.name}: leak`);
    // float32 vs float64: relative 1e-4 on the loss (D up to 96 summed terms).
    assert.ok(
      Math.abs(v - c.expected.loss) <= 1e-4 * Math.max(1, Math.abs(c.expected.loss)),
      `${c.name}: ${v} vs ${c.expected.loss}`,
    );
    if (c.expected.grad_z1) {
      const g = tf.grad((a: tf.Tensor) => barlowTwinsLoss(a as tf.Tensor2D, z2, c.input.lambd))(z1);
      const got = g.arraySync() as number[][];
      g.dispose();
      const scale = Math.max(...c.expected.grad_z1.flat().map(Math.abs));
      c.expected.grad_z1.forEach((row, i) =>
        row.forEach((e, j) => {
          assert.ok(
            Math.abs(got[i]![j]! - e) <= 1e-4 * scale,
            `${c.name} grad[${i}][${j}] ${got[i]![j]} vs ${e}`,
          );
        }),
      );
    }
    z1.dispose();
    z2.dispose();
  }
});

test('identical views with decorrelated features give a loss near 0; the cross-correlation is then ~I', () => {
  // Columns of a scaled Hadamard-like ±1 design are exactly uncorrelated, so c = I up to eps.
  const rows = [
    [1, 1, 1],
    [1, -1, -1],
    [-1, 1, -1],
    [-1, -1, 1],
  ];
  const z = tf.tensor2d(rows);
  const loss = barlowTwinsLoss(z, z);
  assert.ok(loss.dataSync()[0]! < 1e-4);
  const c = crossCorrelation(z, z);
  assert.deepEqual(
    (c.arraySync() as number[][]).map((r) => r.map((x) => Math.round(x * 1e3) / 1e3)),
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  );
  tf.dispose([z, loss, c]);
});

test('bad shapes are clear errors', () => {
  const a = tf.zeros([4, 3]) as tf.Tensor2D;
  const b = tf.zeros([4, 2]) as tf.Tensor2D;
  const one = tf.zeros([1, 3]) as tf.Tensor2D;
  assert.throws(() => barlowTwinsLoss(a, b), /must both be \[B, D\]/);
  assert.throws(() => barlowTwinsLoss(one, one), /at least 2/);
  tf.dispose([a, b, one]);
});

test('projector has main.py names and shapes; BarlowTwins gives a finite loss without leaks', () => {
  const rng = makeRng(3);
  const p = new Projector(16, [8, 8, 4], rng);
  assert.deepEqual(
    p.store.all().map((x) => `${x.name}:${x.variable.shape}`),
    [
      'projector.0.weight:16,8',
      'projector.1.weight:8',
      'projector.1.bias:8',
      'projector.1.running_mean:8',
      'projector.1.running_var:8',
      'projector.3.weight:8,8',
      'projector.4.weight:8',
      'projector.4.bias:8',
      'projector.4.running_mean:8',
      'projector.4.running_var:8',
      'projector.6.weight:8,4',
    ],
  );
  p.store.dispose();
  const bt = new BarlowTwins(
    new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1 }, rng),
    [16, 16],
    rng,
  );
  const x1 = tf.randomUniform([4, 32, 32, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
  const x2 = tf.randomUniform([4, 32, 32, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
  const before = tensorCount();
  const l = bt.loss(x1, x2);
  assert.ok(Number.isFinite(l.dataSync()[0]!));
  l.dispose();
  assert.equal(tensorCount(), before);
  tf.dispose([x1, x2]);
  bt.dispose();
});
