import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { ACCELERATED_BACKEND, momentumOptimizer } from '../../src/backend/index.js';
import { createResNet, trainStep, type ResNetSpec } from '../helpers/testModels.js';
import { mulberry32, randomValues, nativeTest } from './helpers.js';

const SPEC: ResNetSpec = { blocks: [1, 1], width: 4, classes: 5, inputChannels: 3 };
const STEPS = 20;

/** 20 SGD-momentum steps of a tiny ResNet on one fixed batch; returns the losses. */
function train(backend: string): number[] {
  tf.setBackend(backend);
  const rng = mulberry32(61);
  const x = tf.tensor4d(randomValues(rng, 6 * 20 * 20 * 3), [6, 20, 20, 3]);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'), SPEC.classes).toFloat() as tf.Tensor2D;
  const model = createResNet(SPEC, 5);
  // tfjs's own update on cpu, the fused native one on cxr-cpu.
  const optimizer = momentumOptimizer(0.05, 0.9);
  const losses = [trainStep(model, optimizer, x, labels)];
  // After the first step (which creates the momentum slots) the tensor count must not grow.
  const count = tf.memory().numTensors;
  for (let i = 1; i < STEPS; i++) {
    losses.push(trainStep(model, optimizer, x, labels));
    assert.equal(tf.memory().numTensors, count, `step ${i} on ${backend} leaked tensors`);
  }
  optimizer.dispose();
  model.dispose();
  tf.dispose([x, labels]);
  return losses;
}

nativeTest(
  '20 training steps of a small ResNet give the same losses on cpu and cxr-cpu (1e-3 relative)',
  () => {
    const ref = train('cpu');
    const got = train(ACCELERATED_BACKEND);
    assert.ok(ref[STEPS - 1] < ref[0], `the reference run should learn: ${ref[0]} -> ${ref[STEPS - 1]}`);
    ref.forEach((r, i) => {
      assert.ok(Math.abs(got[i] - r) <= 1e-3 * Math.abs(r), `step ${i}: cxr-cpu ${got[i]} vs cpu ${r}`);
    });
  },
);
