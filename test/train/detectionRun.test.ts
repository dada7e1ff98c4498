import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import { readCheckpoint } from '../../src/models/weights.js';
import { makeRng } from '../../src/rng.js';
import {
  type DetBatchSet,
  type DetectionRun,
  flipBoxes,
  flipImage,
  inMemoryDetSet,
  keepRatioSize,
  map50,
  scaleBoxes,
  toOriginal,
  trainDetector,
} from '../../src/train/detectionRun.js';
import type { LoopState } from '../../src/train/loop.js';
import { tempDir } from '../helpers.js';
import { makePhantoms } from '../models/fasterRcnn/phantoms.js';
import { tinyDetectionConfig } from '../helpers/tinyDetector.js';

before(async () => {
  await initEngine('cpu');
});

// Small enough for a couple of seconds per run: 64 px, width-4 backbone, 8-channel FPN.
const config = tinyDetectionConfig();

function set(n: number, seed: number): DetBatchSet {
  const p = makePhantoms(n, 64, makeRng(seed));
  // The detector's backbone takes one channel, as radiographs.
  const images = tf.tidy(() => p.images.slice([0, 0, 0, 0], [-1, -1, -1, 1]) as tf.Tensor4D);
  p.images.dispose();
  return inMemoryDetSet(images, {
    targets: p.targets,
    ids: p.targets.map((_, i) => `im${seed}-${i}`),
    sizesHw: p.targets.map(() => [64, 64]),
    scales: p.targets.map(() => [1, 1]),
    original: p.targets.map((t) => ({ boxes: t.boxes.map((b) => [...b]), labels: [...t.labels] })),
  });
}

test('a detection run stopped after epoch 1 and resumed gives the same epochs, test mAP and weights as one that never stopped', async () => {
  const dir = tempDir();
  const sets = { train: set(4, 1), val: set(2, 2), test: set(2, 3) };
  const rng = () => makeRng(5).fork('run');
  const c0 = tf.memory().numTensors;
  const full = (await trainDetector(config, 'none', 7, sets, rng(), {
    log: () => {},
    save: join(dir, 'a.safetensors'),
    checkpoint: join(dir, 'a.ckpt'),
    best: join(dir, 'a.best'),
  }))!;
  assert.equal(full.epochs.length, 2);
  // save_best: the kept (and saved) weights are those of the first epoch with the highest validation mAP50.
  const bestVal = Math.max(...full.epochs.map((e) => e.valMap));
  assert.equal(full.bestEpoch, full.epochs.find((e) => e.valMap === bestVal)!.epoch);
  assert.equal(full.valMap, bestVal);
  const bestFile = readCheckpoint<{ epoch: number; valMap: number }>(join(dir, 'a.best'));
  assert.equal(bestFile.state.epoch, full.bestEpoch);
  for (const [name, t] of readCheckpoint(join(dir, 'a.safetensors')).tensors)
    assert.deepEqual(bestFile.tensors.get(name)!.data, t.data, name);
  if (full.bestEpoch === 2) assert.equal(full.testMapLast, full.testMap);
  assert.equal(tf.memory().numTensors, c0, 'a run frees what it made');

  const ck = join(dir, 'b.ckpt');
  const lines: string[] = [];
  const stopped = await trainDetector(config, 'none', 7, sets, rng(), {
    log: (l) => lines.push(l),
    checkpoint: ck,
    stopAfterEpochs: 1,
  });
  assert.equal(stopped, null);
  assert.equal(readCheckpoint<LoopState>(ck).state.step, 2); // 4 images / batch 2 = 2 steps per epoch
  assert.ok(
    lines.some((l) => /none 64px seed 7: epoch 1\/2 loss \d+\.\d{4} val mAP50/.test(l)),
    lines.join('\n'),
  );

  const count = tf.memory().numTensors;
  const resumedLines: string[] = [];
  const resumed = (await trainDetector(config, 'none', 7, sets, rng(), {
    log: (l) => resumedLines.push(l),
    save: join(dir, 'b.safetensors'),
    checkpoint: ck,
  }))!;
  assert.equal(tf.memory().numTensors, count, 'a resumed run frees what it made');
  assert.ok(
    resumedLines.some((l) => l.includes(`resumed from ${ck} at step 2/4`)),
    resumedLines.join('\n'),
  );
  assert.ok(!resumedLines.some((l) => /epoch 1\/2 loss/.test(l)), 'epoch 1 is read back, not retrained');

  const strip = (r: DetectionRun) => ({ ...r, seconds: 0 });
  assert.deepEqual(strip(resumed), strip(full));
  const a = readCheckpoint(join(dir, 'a.safetensors')).tensors;
  const b = readCheckpoint(join(dir, 'b.safetensors')).tensors;
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, name);
  assert.ok(
    existsSync(ck),
    'trainDetector leaves the checkpoint; runDetection removes it once the result is written',
  );
  tf.dispose([sets.train.images, sets.val.images, sets.test.images]);
});

test('a non-finite detection loss stops the run naming the step and the last good checkpoint', async () => {
  const dir = tempDir();
  const sets = { train: set(4, 1), val: set(2, 2), test: set(2, 3) };
  const ck = join(dir, 'n.ckpt');
  await trainDetector(config, 'none', 7, sets, makeRng(5), {
    log: () => {},
    checkpoint: ck,
    stopAfterEpochs: 1,
  });
  // A learning rate this large overflows within a few steps.
  const bad = makeConfig({
    notebook: 'test',
    profile: 'smoke',
    env: {},
    backbone: config.backbone,
    detection: { ...config.detection, lr: 1e12, warmupSteps: 0 },
  });
  await assert.rejects(
    trainDetector(bad, 'none', 7, sets, makeRng(5), { log: () => {}, checkpoint: ck }),
    new RegExp(
      `step \\d+ \\(epoch \\d\\) failed: detectionTrainStep: loss is (NaN|-?Infinity) at step \\d+.*Last good checkpoint: ${ck.replace(/[.]/g, '\\.')} \\(step 2\\)`,
    ),
  );
  tf.dispose([sets.train.images, sets.val.images, sets.test.images]);
});

test('keep-ratio resize (MMDetection Resize keep_ratio=True): the long side becomes the input size, boxes scale per axis and map back exactly', () => {
  // A 2304 x 2880 (w x h) film at 224: scale 224 / 2880, width int(2304 * 0.0778 + 0.5) = 179.
  const k = keepRatioSize(2304, 2880, 224);
  assert.deepEqual([k.width, k.height], [179, 224]);
  assert.equal(k.hScale, 224 / 2880);
  assert.equal(k.wScale, 179 / 2304);
  const wide = keepRatioSize(300, 150, 96);
  assert.deepEqual([wide.width, wide.height], [96, 48]);
  const boxes = [
    [100, 200, 1000, 2600],
    [0, 0, 2304, 2880],
  ];
  const input = scaleBoxes(boxes, [k.wScale, k.hScale]);
  assert.deepEqual(
    input[1],
    [179, 224, 179, 224].map((v, i) => (i < 2 ? 0 : v)),
  );
  const back = toOriginal([{ boxes: input, scores: [0.9, 0.8], labels: [3, 0] }], {
    scales: [[k.wScale, k.hScale]],
  } as unknown as DetBatchSet)[0]!;
  back.boxes
    .flat()
    .forEach((v, i) => assert.ok(Math.abs(v - boxes.flat()[i]!) < 1e-9, `${v} vs ${boxes.flat()[i]}`));
  assert.deepEqual(back.scores, [0.9, 0.8]);
});

test('mAP is scored in original pixels on the authors set (images with boxes) or on all images', () => {
  // Two images at half scale: one with a box, one normal; a perfect detection of the box, and a false positive on the normal image.
  const set = {
    scales: [
      [0.5, 0.5],
      [0.5, 0.5],
    ],
    original: [
      { boxes: [[20, 20, 60, 60]], labels: [2] },
      { boxes: [], labels: [] },
    ],
  } as unknown as DetBatchSet;
  const dets = [
    { boxes: [[10, 10, 30, 30]], scores: [0.5], labels: [2] },
    { boxes: [[0, 0, 10, 10]], scores: [0.9], labels: [2] },
  ];
  assert.ok(Math.abs(map50(dets, set, 'withBoxes').map - 1) < 1e-12);
  // On all images the false positive ranks first: precision 1/2 at recall 1 -> AP 0.5.
  assert.ok(Math.abs(map50(dets, set, 'all').map - 0.5) < 1e-12, String(map50(dets, set, 'all').map));
});

test('a per-image flip mirrors only the resized image, not its padding, and its boxes with it', () => {
  // 2 x 4 canvas, image 3 columns wide, padding column 0.
  const img = tf.tensor3d([1, 2, 3, 0, 4, 5, 6, 0], [2, 4, 1]);
  const f = flipImage(img, 3);
  assert.deepEqual(Array.from(f.dataSync()), [3, 2, 1, 0, 6, 5, 4, 0]);
  assert.deepEqual(flipBoxes([[0, 0, 1, 2]], 3), [[2, 0, 3, 2]]);
  tf.dispose([img, f]);
});

test('validateAllImages off: each epoch scores only the validation images with boxes (same valMap, same run), valMapAll null', async () => {
  // A validation split of 3 images, the last a normal one (no boxes): the authors' set is the first two.
  const val = set(3, 2);
  val.targets[2] = { boxes: [], labels: [] };
  val.original[2] = { boxes: [], labels: [] };
  const sets = { train: set(4, 1), val, test: set(2, 3) };
  const run = async (validateAllImages: boolean): Promise<DetectionRun> =>
    (await trainDetector(
      tinyDetectionConfig({ validateAllImages }),
      'none',
      7,
      sets,
      makeRng(5).fork('run'),
      { log: () => {} },
    ))!;
  const all = await run(true);
  const some = await run(false);
  assert.ok(all.epochs.every((e) => typeof e.valMapAll === 'number'));
  assert.ok(some.epochs.every((e) => e.valMapAll === null));
  assert.deepEqual(
    some.epochs.map((e) => e.valMap),
    all.epochs.map((e) => e.valMap),
  );
  assert.equal(some.testMap, all.testMap);
  assert.equal(some.testMapAll, all.testMapAll);
  tf.dispose([sets.train.images, sets.val.images, sets.test.images]);
});
