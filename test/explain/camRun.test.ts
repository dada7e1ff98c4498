import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { CamConfig } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import {
  camLocalisation,
  correctBoxes,
  cropCam,
  explainImage,
  type CamImage,
} from '../../src/explain/camRun.js';
import { camMassInBoxes, pointingChance, type BoxLocalisation } from '../../src/explain/localisation.js';
import { makeRng } from '../../src/rng.js';
import { tinyDetector } from '../helpers/tinyDetector.js';

before(async () => {
  await initEngine('auto');
});

test('correctBoxes: score >= 0.3 among the top k, same class, IoU > 0.5, one per ground-truth box (highest score)', () => {
  const gt = {
    boxes: [
      [0, 0, 10, 10],
      [20, 20, 40, 40],
    ],
    labels: [1, 2],
  };
  const dets = {
    boxes: [
      [0, 0, 10, 10],
      [1, 0, 10, 10],
      [20, 20, 40, 40],
      [20, 20, 40, 40],
      [0, 0, 10, 5],
      [20, 20, 40, 40],
    ],
    scores: [0.5, 0.9, 0.29, 0.8, 0.95, 0.35],
    labels: [1, 1, 2, 3, 1, 2],
  };
  // Box 1 (0.9, IoU 0.9) beats box 0 for gt 0; box 2 scores under 0.3; box 3 is the wrong class; box 4 has
  // IoU exactly 0.5 (not above); box 5 (0.35) finds gt 1.
  const c = correctBoxes(dets, gt, { scoreThr: 0.3, topK: 10, iouThr: 0.5 });
  assert.deepEqual(
    c.map((b) => [b.gtIndex, b.score, b.label]),
    [
      [0, 0.9, 1],
      [1, 0.35, 2],
    ],
  );
  assert.ok(Math.abs(c[0]!.iou - 0.9) < 1e-12);
  // topK 3 keeps 0.95, 0.9, 0.8: box 5 is cut.
  assert.deepEqual(
    correctBoxes(dets, gt, { scoreThr: 0.3, topK: 3, iouThr: 0.5 }).map((b) => b.gtIndex),
    [0],
  );
});

test('camLocalisation: per layer and backbone, against chance, paired on the ground-truth boxes both found', () => {
  const box = (imageId: string, gtIndex: number, mass: number, hit: boolean): BoxLocalisation => ({
    imageId,
    gtIndex,
    mass,
    area: 0.1,
    total: 1,
    hit,
    pointChance: 0.2,
  });
  const cam = { data: new Float32Array(1), width: 1, height: 1 };
  const bc = (layer: 'layer3' | 'layer4', l: BoxLocalisation) => ({
    box: [0, 0, 1, 1],
    label: 0,
    score: 0.9,
    gtIndex: l.gtIndex,
    iou: 0.9,
    layer,
    target: 1.8,
    cam,
    localisation: l,
  });
  const im = (id: string, a: BoxLocalisation[], b: BoxLocalisation[]): CamImage => ({
    imageId: id,
    split: 'test',
    pixels: new Float32Array(1),
    size: 1,
    imageHw: [1, 1],
    gtBoxes: [
      [0, 0, 1, 1],
      [0, 0, 1, 1],
    ],
    gtLabels: [0, 0],
    cells: [
      { init: 'bt_imagenet', detections: [], boxes: a.map((l) => bc('layer4', l)) },
      { init: 'imagenet', detections: [], boxes: b.map((l) => bc('layer4', l)) },
    ],
  });
  const images = [
    im('a', [box('a', 0, 0.5, true), box('a', 1, 0.3, false)], [box('a', 0, 0.2, false)]),
    im('b', [box('b', 0, 0.7, true)], [box('b', 0, 0.4, true), box('b', 1, 0.1, false)]),
  ];
  const [l4, l3] = camLocalisation(images, ['layer4', 'layer3'], makeRng(1));
  assert.equal(l4!.images, 2);
  assert.equal(l4!.gtBoxes, 4);
  assert.deepEqual(
    l4!.byInit.map((b) => b.found),
    [3, 3],
  );
  const a = l4!.byInit[0]!.summary!;
  assert.ok(Math.abs(a.mass.mean - 0.5) < 1e-12);
  assert.ok(Math.abs(a.massChance - 0.1) < 1e-12 && Math.abs(a.massOverChance.mean - 0.4) < 1e-12);
  assert.ok(Math.abs(a.hit.mean - 2 / 3) < 1e-12 && Math.abs(a.hitOverChance.mean - (2 / 3 - 0.2)) < 1e-12);
  // Found by both: a#0 (0.5 vs 0.2) and b#0 (0.7 vs 0.4): paired mass difference 0.3 exactly, hits 1−0 and 1−1.
  assert.equal(l4!.paired!.n, 2);
  assert.ok(Math.abs(l4!.paired!.mass.diff.mean - 0.3) < 1e-12);
  assert.ok(Math.abs(l4!.paired!.hit.diff.mean - 0.5) < 1e-12);
  // No layer3 maps: nothing found, no summary, no pairing.
  assert.deepEqual(
    l3!.byInit.map((b) => [b.found, b.summary]),
    [
      [0, null],
      [0, null],
    ],
  );
  assert.equal(l3!.paired, null);
});

// A keep-ratio resized image fills only the top of its square input: 64 wide, 40 high, zeros below.
// Its detections must stay inside the 64×40 image (notebook 04 clips them so), the ablated passes must
// clip the same way (or no detection of an ablated copy would match the boxes being explained), and
// each map is scored on the image alone, against the image's own chance level.
test('explainImage on a non-square image: boxes inside the image, per-box maps scored on the image without its padding', async () => {
  const { resnet, det, dispose } = tinyDetector(7);
  const hw: [number, number] = [40, 64];
  const x = tf.tidy(() => {
    const img = tf.randomUniform([1, 40, 64, 1], 0, 1, 'float32', 3);
    return tf.pad(img, [
      [0, 0],
      [0, 24],
      [0, 0],
      [0, 0],
    ]) as tf.Tensor4D;
  });
  // Without the image's size the detector clips to the padded square: some box reaches into the padding.
  const unclipped = det.detect(x)[0]!;
  assert.ok(
    unclipped.boxes.some((b) => b[3]! > 40),
    'the test image has boxes reaching into the padding',
  );
  const clipped = det.detect(x, { imageSizesHw: [hw] })[0]!;
  assert.ok(clipped.boxes.length >= 2);
  // Explain the two best detections cut by the image's bottom edge as if they were ground truth (random
  // weights find nothing real): only a cut detector that clips as detect() did finds them again exactly.
  const order = clipped.scores
    .map((s, i) => i)
    .filter((i) => clipped.boxes[i]![3] === 40)
    .sort((a, b) => clipped.scores[b]! - clipped.scores[a]!);
  assert.ok(order.length >= 2, 'two detections reach the bottom edge');
  const gtBoxes = order.slice(0, 2).map((i) => clipped.boxes[i]!);
  const gtLabels = order.slice(0, 2).map((i) => clipped.labels[i]!);
  const cam: CamConfig = {
    layers: ['layer4', 'fpn.p3'],
    scoreThr: 0,
    topK: 10,
    batchSize: 8,
    channelFraction: 0.5,
    iouThr: 0.5,
    pointingTolerance: 4,
    images: 1,
  };
  const before = tf.memory().numTensors;
  const { cell, sweeps } = await explainImage(
    det,
    resnet,
    x,
    hw,
    { imageId: 'a', gtBoxes, gtLabels },
    'imagenet',
    cam,
  );
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  assert.equal(sweeps, 2);
  for (const d of cell.detections)
    assert.ok(
      d.box[0]! >= 0 && d.box[1]! >= 0 && d.box[2]! <= 64 && d.box[3]! <= 40,
      `box ${d.box} leaves the 64×40 image`,
    );
  assert.equal(cell.boxes.length, 4, 'both boxes found at both layers');
  for (const b of cell.boxes) {
    // The unablated target is IoU 1 + the score: the cut detector clipped exactly as detect() did.
    assert.ok(Math.abs(b.target - (1 + b.score)) < 1e-3, `${b.layer}: target ${b.target}, score ${b.score}`);
    assert.deepEqual([b.cam.height, b.cam.width], [64, 64]);
    const gt = gtBoxes[b.gtIndex]!;
    assert.equal(b.localisation.pointChance, pointingChance(64, 40, gt, 4));
    assert.notEqual(b.localisation.pointChance, pointingChance(64, 64, gt, 4));
    const onImage = camMassInBoxes(cropCam(b.cam, 40, 64), [gt]);
    assert.equal(b.localisation.mass, onImage.mass);
    assert.equal(b.localisation.area, onImage.area);
  }
  x.dispose();
  dispose();
});

test('cropCam keeps the top-left rows and columns', () => {
  const cam = { data: Float32Array.from({ length: 12 }, (_, i) => i), width: 4, height: 3 };
  assert.deepEqual(Array.from(cropCam(cam, 2, 3).data), [0, 1, 2, 4, 5, 6]);
  assert.equal(cropCam(cam, 3, 4), cam);
});
