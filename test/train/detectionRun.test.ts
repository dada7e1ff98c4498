import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import { readCheckpoint } from '../../src/models/weights.js';
import { makeRng } from '../../src/rng.js';
import { type DetBatchSet, type DetectionRun, trainDetector } from '../../src/train/detectionRun.js';
import type { LoopState } from '../../src/train/loop.js';
import { tempDir } from '../helpers.js';
import { makePhantoms } from '../models/fasterRcnn/phantoms.js';

before(async () => { await initEngine('cpu'); });

// Small enough for a couple of seconds per run: 64 px, width-4 backbone, 8-channel FPN.
const config = makeConfig({
  notebook: 'test', profile: 'smoke', env: {},
  backbone: { blocks: [1, 1, 1, 1], width: 4, inputSize: 64 },
  detection: { epochs: 2, batchSize: 2, lr: 0.01, warmupSteps: 2, fpnChannels: 8, boxFcWidth: 16, rpnPreNmsTopNTrain: 50, rpnPostNmsTopNTrain: 30,
    rpnPreNmsTopNTest: 50, rpnPostNmsTopNTest: 30, boxBatchSizePerImage: 16, bootstrap: 5 },
});

function set(n: number, seed: number): DetBatchSet {
  const p = makePhantoms(n, 64, makeRng(seed));
  // The detector's backbone takes one channel, as radiographs.
  const images = tf.tidy(() => p.images.slice([0, 0, 0, 0], [-1, -1, -1, 1]) as tf.Tensor4D);
  p.images.dispose();
  return { images, targets: p.targets, ids: p.targets.map((_, i) => `im${seed}-${i}`) };
}

test('a detection run stopped after epoch 1 and resumed gives the same epochs, test mAP and weights as one that never stopped', async () => {
  const dir = tempDir();
  const sets = { train: set(4, 1), val: set(2, 2), test: set(2, 3) };
  const rng = () => makeRng(5).fork('run');
  const c0 = tf.memory().numTensors;
  const full = (await trainDetector(config, 'none', 7, sets, rng(), { log: () => {}, save: join(dir, 'a.safetensors'), checkpoint: join(dir, 'a.ckpt') }))!;
  assert.equal(full.epochs.length, 2);
  assert.equal(tf.memory().numTensors, c0, 'a run frees what it made');

  const ck = join(dir, 'b.ckpt');
  const lines: string[] = [];
  const stopped = await trainDetector(config, 'none', 7, sets, rng(), { log: (l) => lines.push(l), checkpoint: ck, stopAfterEpochs: 1 });
  assert.equal(stopped, null);
  assert.equal(readCheckpoint<LoopState>(ck).state.step, 2); // 4 images / batch 2 = 2 steps per epoch
  assert.ok(lines.some((l) => /none 64px seed 7: epoch 1\/2 loss \d+\.\d{4} val mAP50/.test(l)), lines.join('\n'));

  const count = tf.memory().numTensors;
  const resumedLines: string[] = [];
  const resumed = (await trainDetector(config, 'none', 7, sets, rng(), { log: (l) => resumedLines.push(l), save: join(dir, 'b.safetensors'), checkpoint: ck }))!;
  assert.equal(tf.memory().numTensors, count, 'a resumed run frees what it made');
  assert.ok(resumedLines.some((l) => l.includes(`resumed from ${ck} at step 2/4`)), resumedLines.join('\n'));
  assert.ok(!resumedLines.some((l) => /epoch 1\/2 loss/.test(l)), 'epoch 1 is read back, not retrained');

  const strip = (r: DetectionRun) => ({ ...r, seconds: 0 });
  assert.deepEqual(strip(resumed), strip(full));
  const a = readCheckpoint(join(dir, 'a.safetensors')).tensors;
  const b = readCheckpoint(join(dir, 'b.safetensors')).tensors;
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, name);
  assert.ok(existsSync(ck), 'trainDetector leaves the checkpoint; runDetection removes it once the result is written');
  tf.dispose([sets.train.images, sets.val.images, sets.test.images]);
});

test('a non-finite detection loss stops the run naming the step and the last good checkpoint', async () => {
  const dir = tempDir();
  const sets = { train: set(4, 1), val: set(2, 2), test: set(2, 3) };
  const ck = join(dir, 'n.ckpt');
  await trainDetector(config, 'none', 7, sets, makeRng(5), { log: () => {}, checkpoint: ck, stopAfterEpochs: 1 });
  // A learning rate this large overflows within a few steps.
  const bad = makeConfig({ notebook: 'test', profile: 'smoke', env: {}, backbone: config.backbone, detection: { ...config.detection, lr: 1e12, warmupSteps: 0 } });
  await assert.rejects(trainDetector(bad, 'none', 7, sets, makeRng(5), { log: () => {}, checkpoint: ck }),
    new RegExp(`step \\d+ \\(epoch \\d\\) failed: detectionTrainStep: loss is (NaN|-?Infinity) at step \\d+.*Last good checkpoint: ${ck.replace(/[.]/g, '\\.')} \\(step 2\\)`));
  tf.dispose([sets.train.images, sets.val.images, sets.test.images]);
});
