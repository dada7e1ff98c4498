import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { BarlowTwins } from '../../src/models/barlowTwins.js';
import { ResNet } from '../../src/models/resnet.js';
import { type TrainTask, trainLoop } from '../../src/train/loop.js';
import { type ImageSource, PretrainTask, batchIndices } from '../../src/train/pretrain.js';
import { tempDir } from '../helpers.js';

before(async () => {
  await initEngine('cpu');
});

function noiseSource(count: number, size: number): ImageSource {
  const all = tf.randomUniform([count, size, size, 1], 0, 1, 'float32', 21) as tf.Tensor4D;
  return { count, batch: (idx) => tf.gather(all, idx) as tf.Tensor4D };
}

function makeTask(initSeed: number, data: ImageSource): PretrainTask {
  const rng = makeRng(initSeed);
  const bt = new BarlowTwins(
    new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1 }, rng),
    [16, 16],
    rng,
  );
  return new PretrainTask(bt, data, {
    batchSize: 4,
    inputSize: 32,
    epochs: 2,
    stepsPerEpoch: 2,
    lrWeights: 0.2,
    lrBiases: 0.0048,
    weightDecay: 1e-6,
    warmupEpochs: 1,
    seed: 5,
  });
}

test('batchIndices: each epoch a permutation, same seed same order', () => {
  const e0 = [0, 1, 2].flatMap((s) => batchIndices(12, 4, s, 1));
  assert.deepEqual(
    [...e0].sort((a, b) => a - b),
    Array.from({ length: 12 }, (_, i) => i),
  );
  assert.deepEqual(batchIndices(12, 4, 4, 1), batchIndices(12, 4, 4, 1));
  assert.notDeepEqual(batchIndices(12, 4, 3, 1), batchIndices(12, 4, 0, 1));
});

test('a resumed Barlow Twins run gives the same losses and weights as an uninterrupted one', async () => {
  const dir = tempDir();
  const data = noiseSource(8, 40);
  const lines: string[] = [];
  const common = {
    seed: 9,
    epochs: 2,
    stepsPerEpoch: 2,
    batchSize: 4,
    log: (l: string) => lines.push(l),
    label: 'bt',
  };
  const a = makeTask(1, data);
  const full = await trainLoop(a, { ...common, checkpointPath: join(dir, 'a.safetensors') });
  assert.equal(full.losses.length, 4);
  assert.ok(
    lines.some((l) => /bt: step 1\/4 \(epoch 1\/2\) loss \d+\.\d{4} · [\d.]+ img\/s · ETA/.test(l)),
    lines.join('\n'),
  );

  const ck = join(dir, 'b.safetensors');
  const b1 = makeTask(1, data);
  const part = await trainLoop(b1, { ...common, checkpointPath: ck, stopAtStep: 3 });
  assert.equal(part.step, 3);
  assert.equal(part.finished, false);
  b1.model.dispose();
  b1.dispose();
  // A fresh process would build the model from scratch (here from another seed: the checkpoint must win).
  const b2 = makeTask(77, data);
  const rest = await trainLoop(b2, { ...common, checkpointPath: ck });
  assert.equal(rest.resumedFrom, 2); // the checkpoint of the end of epoch 1
  assert.deepEqual(
    rest.losses.map((l) => l.loss),
    full.losses.map((l) => l.loss),
  );
  const wa = a.model.namedVariables();
  for (const [name, v] of b2.model.namedVariables())
    assert.deepEqual(v.dataSync(), wa.get(name)!.dataSync(), name);
  for (const t of [a, b2]) {
    t.model.dispose();
    t.dispose();
  }
});

test('a NaN loss stops with the step and the last good checkpoint; a leak is caught', async () => {
  const dir = tempDir();
  const v = tf.variable(tf.zeros([2]));
  const task = (bad: (s: number) => number, leak = false): TrainTask => ({
    stateTensors: () => new Map([['v', v]]),
    loadStateTensors: () => {},
    trainStep: (s) => {
      if (leak) tf.zeros([1]);
      return bad(s);
    },
  });
  const ck = join(dir, 'n.safetensors');
  await assert.rejects(
    trainLoop(
      task((s) => (s === 3 ? NaN : 1)),
      { seed: 1, epochs: 3, stepsPerEpoch: 2, batchSize: 1, checkpointPath: ck, log: () => {} },
    ),
    new RegExp(
      `loss is NaN at step 3 \\(epoch 2\\); stopped\\. Last good checkpoint: ${ck.replace(/[.]/g, '\\.')} \\(step 2\\)`,
    ),
  );
  await assert.rejects(
    trainLoop(
      task(() => Infinity),
      { seed: 1, epochs: 1, stepsPerEpoch: 2, batchSize: 1, log: () => {} },
    ),
    /loss is Infinity at step 0 .*no checkpoint written yet/,
  );
  await assert.rejects(
    trainLoop(
      task(() => 1, true),
      { seed: 1, epochs: 1, stepsPerEpoch: 5, batchSize: 1, log: () => {} },
    ),
    /tensor count grew/,
  );
  await assert.rejects(
    trainLoop(
      task(() => 1),
      { seed: 2, epochs: 3, stepsPerEpoch: 2, batchSize: 1, checkpointPath: ck, log: () => {} },
    ),
    /made with seed 1/,
  );
  v.dispose();
});
