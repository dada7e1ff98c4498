import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { FasterRcnn, type FasterRcnnOptions } from '../../../src/models/fasterRcnn/detector.js';
import { makeTinyBackbone } from '../../../src/models/fasterRcnn/backbone.js';
import { detectionTrainStep, warmupCosineLr } from '../../../src/models/fasterRcnn/train.js';
import { evaluateDetections } from '../../../src/metrics/map/index.js';
import { makeRng } from '../../../src/rng.js';
import { makePhantoms } from './phantoms.js';
import { initEngine } from '../../../src/engine.js';

// The fastest backend that loads (cxr-cpu where the native addon is built): training here is real work.
before(async () => {
  await initEngine('auto');
});

// Small widths for a CPU test; everything else is MMDetection's default except the proposal counts.
const SMALL: Partial<FasterRcnnOptions> = {
  numClasses: 3,
  fpnChannels: 32,
  boxFcWidth: 128,
  boxBatchSizePerImage: 64,
  rpnPreNmsTopNTrain: 300,
  rpnPostNmsTopNTrain: 150,
  rpnPreNmsTopNTest: 300,
  rpnPostNmsTopNTest: 100,
};

function tinyDetector(seed: number): FasterRcnn {
  const rng = makeRng(seed);
  return new FasterRcnn(makeTinyBackbone(rng, [8, 16, 24, 32]), SMALL, rng);
}

test('FasterRcnn: output formats, padding to 32, losses finite, a training step leaks no tensor', () => {
  const model = tinyDetector(1);
  const { images, targets } = makePhantoms(2, 72, makeRng(2)); // 72 -> padded to 96
  const dets = model.detect(images);
  assert.equal(dets.length, 2);
  for (const d of dets) {
    assert.ok(
      d.boxes.length <= 100 && d.boxes.length === d.scores.length && d.scores.length === d.labels.length,
    );
    for (const b of d.boxes)
      assert.ok(b[0]! >= 0 && b[1]! >= 0 && b[2]! <= 72 && b[3]! <= 72 && b[0]! <= b[2]! && b[1]! <= b[3]!);
    for (const s of d.scores) assert.ok(s > 0.05 && s <= 1);
    assert.ok(d.labels.every((l) => l >= 0 && l < 3));
  }
  const opt = tf.train.momentum(0.01, 0.9);
  detectionTrainStep(model, opt, images, targets); // creates the momentum slots
  const before = tf.memory().numTensors;
  const l = detectionTrainStep(model, opt, images, targets);
  assert.equal(tf.memory().numTensors, before, 'tensor count after a training step');
  for (const v of Object.values(l)) assert.ok(Number.isFinite(v));
  const before2 = tf.memory().numTensors;
  model.detect(images);
  assert.equal(tf.memory().numTensors, before2, 'tensor count after detect');
  // an image without boxes trains too (all anchors negative)
  detectionTrainStep(model, opt, images, [{ boxes: [], labels: [] }, targets[1]!]);
  images.dispose();
  opt.dispose();
});

test('warmupCosineLr: linear warm-up from 0.001 x base, cosine to minLr', () => {
  const o = { baseLr: 0.02, totalSteps: 110, warmupSteps: 10 };
  assert.ok(Math.abs(warmupCosineLr(0, o) - 0.00002) < 1e-12);
  assert.ok(Math.abs(warmupCosineLr(10, o) - 0.02) < 1e-12);
  assert.ok(Math.abs(warmupCosineLr(60, o) - 0.01) < 1e-12); // half-way through the cosine
  assert.ok(Math.abs(warmupCosineLr(110, o)) < 1e-12);
});

test('FasterRcnn learns a handful of phantom images until it finds their boxes (mAP50 near 1)', () => {
  const model = tinyDetector(3);
  const { images, targets } = makePhantoms(6, 64, makeRng(4));
  const steps = Number(process.env.DET_TEST_STEPS ?? 90);
  const opt = tf.train.momentum(0.03, 0.9);
  const t0 = Date.now();
  let last = 0;
  for (let s = 0; s < steps; s++) {
    opt.setLearningRate(warmupCosineLr(s, { baseLr: 0.03, totalSteps: steps, warmupSteps: 5, minLr: 0.002 }));
    const i = (s * 2) % 6;
    const batch = images.slice([i, 0, 0, 0], [2, -1, -1, -1]);
    last = detectionTrainStep(model, opt, batch, targets.slice(i, i + 2), { step: s }).total;
    batch.dispose();
  }
  const dets = model.detect(images);
  const { map } = evaluateDetections(dets, targets, { numClasses: 3 });
  console.log(
    `phantom mAP50 ${map.toFixed(3)} after ${steps} steps (last loss ${last.toFixed(3)}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  assert.ok(map >= 0.9, `mAP50 ${map}`);
  images.dispose();
  opt.dispose();
});

test('detectionTrainStep reports the gradients’ global norm before clipping, and clipping scales the update by clip / norm', () => {
  const { images, targets } = makePhantoms(2, 64, makeRng(7));
  // The norm computed independently, from the same loss (same sampling rng) of an identical detector.
  const ref = tinyDetector(5);
  const { value, grads } = tf.variableGrads(
    () => ref.loss(images, targets, { rng: makeRng(9) }).total,
    ref.trainableVariables(),
  );
  const want = Math.sqrt(
    Object.values(grads).reduce((a, g) => a + (g.square().sum().dataSync()[0] as number), 0),
  );
  tf.dispose([value, ...Object.values(grads)]);
  assert.ok(want > 0.01, `a real gradient (${want})`);
  const updateOf = (clipNorm: number): { gradNorm: number; update: Float32Array } => {
    const m = tinyDetector(5);
    const v = m.trainableVariables()[0]!;
    const before = (v.dataSync() as Float32Array).slice();
    const opt = tf.train.momentum(0.01, 0.9);
    const l = detectionTrainStep(m, opt, images, targets, { rng: makeRng(9), weightDecay: 0, clipNorm });
    const update = Float32Array.from(v.dataSync() as Float32Array, (x, i) => x - before[i]!);
    opt.dispose();
    return { gradNorm: l.gradNorm, update };
  };
  const free = updateOf(0);
  assert.ok(
    Math.abs(free.gradNorm - want) <= 1e-4 * want,
    `gradNorm ${free.gradNorm}, independently ${want}`,
  );
  const clipped = updateOf(want / 4);
  assert.ok(Math.abs(clipped.gradNorm - want) <= 1e-4 * want, 'the norm is the one before clipping');
  const ratio =
    Math.sqrt(clipped.update.reduce((a, x) => a + x * x, 0)) /
    Math.sqrt(free.update.reduce((a, x) => a + x * x, 0));
  assert.ok(Math.abs(ratio - 0.25) < 1e-3, `clipped to a quarter of the norm: update ratio ${ratio}`);
  images.dispose();
});

test('RoI heads with no proposal at all: empty detections per image, and a [0, classes + 1] forward', () => {
  const model = tinyDetector(5);
  const { images } = makePhantoms(2, 64, makeRng(6));
  const { feats } = model.pyramid(images);
  const roiFeats = feats.slice(0, 4);
  const dets = model.roiHeads.detect(
    roiFeats,
    [[], []],
    [
      [64, 64],
      [64, 64],
    ],
  );
  assert.deepEqual(dets, [
    { boxes: [], scores: [], labels: [] },
    { boxes: [], scores: [], labels: [] },
  ]);
  const { logits, deltas } = model.roiHeads.forward(roiFeats, []);
  assert.deepEqual(logits.shape, [0, 4]);
  assert.deepEqual(deltas.shape, [0, 12]);
  tf.dispose([logits, deltas, ...feats, images]);
});
