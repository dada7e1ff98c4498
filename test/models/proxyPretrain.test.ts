import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { PROXY_CLASSES, naturalImages } from '../../src/data/naturalImages.js';
import { ProxyPretrainTask } from '../../src/models/proxyPretrain.js';
import { ResNet } from '../../src/models/resnet.js';
import { trainLoop } from '../../src/train/loop.js';

before(async () => { await initEngine('cpu'); });

test('proxy images: balanced labels, [0,1] pixels, a pure function of the seed', () => {
  const a = naturalImages(24, 16, 12, makeRng(1));
  const b = naturalImages(24, 16, 12, makeRng(1));
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.pixels, b.pixels);
  assert.deepEqual([...new Set(a.labels)].sort((x, y) => x - y), Array.from({ length: 12 }, (_, i) => i));
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
