import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { PROXY_CLASSES, naturalImages } from '../../src/data/naturalImages.js';
import { ProxyPretrainTask } from '../../src/models/proxyPretrain.js';
import { ResNet } from '../../src/models/resnet.js';
import { trainLoop } from '../../src/train/loop.js';

before(async () => {
  await initEngine('cpu');
});

test('proxy images: balanced labels, [0,1] pixels, a pure function of the seed', () => {
  const a = naturalImages(24, 16, 12, makeRng(1));
  const b = naturalImages(24, 16, 12, makeRng(1));
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.pixels, b.pixels);
  assert.deepEqual(
    [...new Set(a.labels)].sort((x, y) => x - y),
    Array.from({ length: 12 }, (_, i) => i),
  );
  assert.ok(a.pixels.every((p) => p >= 0 && p <= 1));
  assert.ok(PROXY_CLASSES.length >= 10);
  assert.throws(() => naturalImages(4, 8, 1, makeRng(1)), /classes must be/);
});

test('supervised proxy pretraining learns: training loss falls through the common loop', async () => {
  const rng = makeRng(2);
  const { pixels, labels } = naturalImages(16, 32, 4, rng);
  const images = tf.tensor4d(pixels, [16, 32, 32, 1]);
  const model = new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1, numClasses: 4 }, rng);
  const task = new ProxyPretrainTask(model, images, labels, { batchSize: 8, lr: 0.05, seed: 3 });
  const r = await trainLoop(task, { seed: 4, epochs: 6, stepsPerEpoch: 2, batchSize: 8, log: () => {} });
  const first = (r.losses[0]!.loss + r.losses[1]!.loss) / 2;
  const last = (r.losses.at(-1)!.loss + r.losses.at(-2)!.loss) / 2;
  assert.ok(last < first * 0.9, `loss ${first} -> ${last}`);
  assert.ok(task.stateTensors().has('optimizer.velocity.conv1.weight'));
  task.dispose();
  model.dispose();
  images.dispose();
});

test('a resumed proxy run (momentum buffers restored by parameter name) equals an uninterrupted one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-proxy-'));
  const { pixels, labels } = naturalImages(16, 32, 4, makeRng(2));
  const images = tf.tensor4d(pixels, [16, 32, 32, 1]);
  const make = (seed: number) => {
    const model = new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1, numClasses: 4 }, makeRng(seed));
    return { model, task: new ProxyPretrainTask(model, images, labels, { batchSize: 8, lr: 0.05, seed: 3 }) };
  };
  const common = { seed: 4, epochs: 2, stepsPerEpoch: 2, batchSize: 8, log: () => {} };
  const a = make(1);
  const full = await trainLoop(a.task, { ...common, checkpointPath: join(dir, 'a.safetensors') });
  const ck = join(dir, 'b.safetensors');
  const b1 = make(1);
  await trainLoop(b1.task, { ...common, checkpointPath: ck, stopAtStep: 3 });
  b1.task.dispose();
  b1.model.dispose();
  const b2 = make(77); // another initialisation: the checkpoint, momentum included, must win
  const rest = await trainLoop(b2.task, { ...common, checkpointPath: ck });
  assert.equal(rest.resumedFrom, 2);
  assert.deepEqual(
    rest.losses.map((l) => l.loss),
    full.losses.map((l) => l.loss),
  );
  const wa = new Map(a.model.store.all().map((p) => [p.name, p.variable]));
  for (const p of b2.model.store.all())
    assert.deepEqual(p.variable.dataSync(), wa.get(p.name)!.dataSync(), p.name);
  for (const x of [a, b2]) {
    x.task.dispose();
    x.model.dispose();
  }
  images.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('proxy learning rate: linear warm-up from 0, then cosine to 0 at the last step; constant without totalSteps', () => {
  const { pixels, labels } = naturalImages(8, 16, 4, makeRng(2));
  const images = tf.tensor4d(pixels, [8, 16, 16, 1]);
  const model = new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1, numClasses: 4 }, makeRng(1));
  const sched = new ProxyPretrainTask(model, images, labels, {
    batchSize: 4,
    lr: 0.05,
    seed: 3,
    totalSteps: 10,
    warmupSteps: 2,
  });
  const constant = new ProxyPretrainTask(model, images, labels, { batchSize: 4, lr: 0.05, seed: 3 });
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);
  close(sched.lrAt(0), 0);
  close(sched.lrAt(1), 0.025);
  close(sched.lrAt(2), 0.05);
  // Half-way through the 8 cosine steps: 0.05 * (1 + cos(pi/2)) / 2.
  close(sched.lrAt(6), 0.025);
  close(sched.lrAt(4), 0.05 * 0.5 * (1 + Math.cos(Math.PI / 4)));
  close(sched.lrAt(10), 0);
  for (const s of [0, 5, 9]) close(constant.lrAt(s), 0.05);
  sched.dispose();
  constant.dispose();
  model.dispose();
  images.dispose();
});

test('proxy weight decay is PyTorch SGD weight_decay: one step with decay moves each weight by lr * wd * w more', async () => {
  const { pixels, labels } = naturalImages(8, 16, 4, makeRng(2));
  const images = tf.tensor4d(pixels, [8, 16, 16, 1]);
  const run = (weightDecay: number) => {
    const model = new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1, numClasses: 4 }, makeRng(1));
    const before = model.store.get('fc.weight').dataSync().slice();
    const task = new ProxyPretrainTask(model, images, labels, {
      batchSize: 4,
      lr: 0.1,
      seed: 3,
      weightDecay,
      flip: false,
    });
    task.trainStep(0, makeRng(9));
    const after = model.store.get('fc.weight').dataSync().slice();
    task.dispose();
    model.dispose();
    return { before, after };
  };
  const plain = run(0);
  const decayed = run(0.5);
  // First step: the momentum buffer is the gradient itself, so w1 = w0 - lr (g + wd w0).
  for (let i = 0; i < plain.before.length; i++)
    assert.ok(
      Math.abs(decayed.after[i]! - (plain.after[i]! - 0.1 * 0.5 * plain.before[i]!)) < 1e-6,
      `fc.weight[${i}]`,
    );
  images.dispose();
});
