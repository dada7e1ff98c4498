import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { momentumOptimizer } from '../../../src/backend/index.js';
import { initEngine } from '../../../src/engine.js';
import { detectionTrainStep } from '../../../src/models/fasterRcnn/train.js';
import { makeRng } from '../../../src/rng.js';
import { referenceDir } from '../../helpers/reference.js';
import { PARITY, PARITY_TARGETS, paritySetup, parityTensors } from './detectorStepSetup.js';

// The native kernels when built (npm ci builds them), plain tfjs otherwise: a ResNet step on pure-JS
// filter gradients takes minutes.
before(async () => {
  await initEngine('auto');
});

interface Fixture {
  settings: typeof PARITY;
  losses: { rpnCls: number; rpnBox: number; roiCls: number; roiBox: number };
  updates: Record<
    string,
    { trainable: boolean; shape: number[]; sum: number; l2: number; at: Record<string, number> }
  >;
}

// Made by test/peers/detector_step.py (torchvision 0.14.1 FasterRCNN, torch 1.13.1); see its `notes`.
const fixture = JSON.parse(readFileSync(join(referenceDir, 'detector_step.json'), 'utf8')) as Fixture;

test('one detector training step matches torchvision FasterRCNN: the four losses and every parameter update (float32 tolerance)', () => {
  assert.deepEqual(fixture.settings, { ...PARITY }, 'the fixture was made from these settings');
  const s = paritySetup();
  const before = new Map([...parityTensors(s)].map(([k, t]) => [k, (t.dataSync() as Float32Array).slice()]));
  const opt = momentumOptimizer(PARITY.lr, PARITY.momentum);
  const l = detectionTrainStep(s.detector, opt, s.images, PARITY_TARGETS, {
    weightDecay: PARITY.weightDecay,
    rng: makeRng(1),
    clipNorm: 0,
  });
  // Losses: float32 forward passes of ~10^5-term sums in different orders.
  for (const k of ['rpnCls', 'rpnBox', 'roiCls', 'roiBox'] as const) {
    const want = fixture.losses[k];
    assert.ok(
      Math.abs(l[k] - want) <= 2e-5 * Math.abs(want) + 1e-7,
      `${k}: ours ${l[k]}, torchvision ${want}`,
    );
  }
  assert.ok(fixture.losses.roiBox > 0.05 && fixture.losses.rpnBox > 0.005, 'both box losses take part');
  let compared = 0;
  let moved = 0;
  for (const [name, t] of parityTensors(s)) {
    if (name.endsWith('running_mean') || name.endsWith('running_var')) continue;
    const u = fixture.updates[name];
    assert.ok(u, `${name} missing from the fixture`);
    assert.deepEqual([...t.shape], u.shape, name);
    const now = t.dataSync() as Float32Array;
    const b = before.get(name)!;
    const d = Array.from(now, (v, i) => v - b[i]!);
    const l2 = Math.sqrt(d.reduce((a, x) => a + x * x, 0));
    const sum = d.reduce((a, x) => a + x, 0);
    if (!u.trainable) {
      assert.equal(l2, 0, `${name} is frozen in both`);
      assert.equal(u.l2, 0, name);
      continue;
    }
    // The update is lr × (gradient + decay): compare it relative to its own size. The weights
    // themselves are ~10^3 times larger, so their float32 rounding (~6e-8 × |w|) sets a floor.
    const wScale = Math.sqrt(b.reduce((a, x) => a + x * x, 0) / b.length);
    const tol = 2e-3 * u.l2 + 1e-7 * wScale * Math.sqrt(d.length);
    assert.ok(Math.abs(l2 - u.l2) <= tol, `${name}: |update| ours ${l2}, torchvision ${u.l2}`);
    assert.ok(
      Math.abs(sum - u.sum) <= tol * Math.sqrt(d.length),
      `${name}: sum of update ours ${sum}, torchvision ${u.sum}`,
    );
    for (const [i, want] of Object.entries(u.at)) {
      assert.ok(
        Math.abs(d[Number(i)]! - want) <= tol,
        `${name}[${i}]: update ours ${d[Number(i)]}, torchvision ${want}`,
      );
    }
    compared++;
    if (u.l2 > 0) moved++;
  }
  assert.ok(compared > 60 && moved === compared, `${compared} trainable tensors compared, ${moved} moved`);
  opt.dispose();
  s.dispose();
});

test('FPN nearest upsampling: torch nearest rule forward, and a gradient equal to the explicit sum for a batch (tfjs ResizeNearestNeighborGrad is not)', async () => {
  const { upsampleNearest } = await import('../../../src/models/fasterRcnn/fpn.js');
  for (const [h, w, oh, ow] of [
    [4, 3, 8, 6],
    [3, 2, 5, 3],
    [2, 2, 4, 4],
  ] as const) {
    const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const dy = tf.randomNormal([2, oh, ow, 3], 0, 1, 'float32', 2);
    const y = upsampleNearest(x, oh, ow);
    const g = tf.grad((a) => tf.sum(tf.mul(upsampleNearest(a as tf.Tensor4D, oh, ow), dy)))(x);
    const xs = x.dataSync();
    const ys = y.dataSync();
    const d = dy.dataSync();
    const want = new Float32Array(xs.length);
    for (let n = 0; n < 2; n++)
      for (let r = 0; r < oh; r++)
        for (let q = 0; q < ow; q++)
          for (let k = 0; k < 3; k++) {
            const src = ((n * h + Math.floor((r * h) / oh)) * w + Math.floor((q * w) / ow)) * 3 + k;
            const dst = ((n * oh + r) * ow + q) * 3 + k;
            assert.equal(ys[dst], xs[src], `forward at ${dst}`);
            want[src]! += d[dst]!;
          }
    Array.from(g.dataSync()).forEach((v, i) =>
      assert.ok(Math.abs(v - want[i]!) < 1e-5, `gradient ${h}x${w}->${oh}x${ow} at ${i}: ${v} vs ${want[i]}`),
    );
    tf.dispose([x, dy, y, g]);
  }
});
