import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { SgdMomentum } from '../../src/train/sgd.js';

test('matches PyTorch SGD(momentum=0.9, weight_decay) worked by hand over two steps', async () => {
  await tf.setBackend('cpu');
  const p = tf.variable(tf.tensor1d([1, -2]), true, 'p');
  const opt = new SgdMomentum([{ variables: [p], weightDecay: 0.1 }], 0.9);
  // Step 1: d = g + 0.1 p = [0.5+0.1, 0.5-0.2] = [0.6, 0.3]; buf = d; p -= 0.1 buf -> [0.94, -2.03].
  opt.step({ p: tf.tensor1d([0.5, 0.5]) }, 0.1);
  assert.deepEqual(
    [...p.dataSync()].map((v) => +v.toFixed(6)),
    [0.94, -2.03],
  );
  // Step 2: d = [0.5+0.094, 0.5-0.203] = [0.594, 0.297]; buf = 0.9 [0.6,0.3] + d = [1.134, 0.567];
  // p -= 0.1 buf -> [0.8266, -2.0867].
  opt.step({ p: tf.tensor1d([0.5, 0.5]) }, 0.1);
  assert.deepEqual(
    [...p.dataSync()].map((v) => +v.toFixed(5)),
    [0.8266, -2.0867],
  );
  opt.dispose();
  p.dispose();
});

test('a group scale multiplies the learning rate; no tensors leak per step', async () => {
  await tf.setBackend('cpu');
  const a = tf.variable(tf.scalar(1), true, 'a');
  const b = tf.variable(tf.scalar(1), true, 'b');
  const opt = new SgdMomentum([{ variables: [a] }, { variables: [b], lrScale: 0.1 }], 0);
  const g = { a: tf.scalar(1), b: tf.scalar(1) };
  opt.step(g, 1);
  const before = tf.memory().numTensors;
  opt.step(g, 1);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Math.abs(a.dataSync()[0]! - -1) < 1e-6);
  assert.ok(Math.abs(b.dataSync()[0]! - 0.8) < 1e-6);
  tf.dispose([a, b, g.a, g.b]);
  opt.dispose();
});
