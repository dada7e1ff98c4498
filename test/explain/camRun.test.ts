import assert from 'node:assert/strict';
import { test } from 'node:test';
import { camLocalisation, correctBoxes, type CamImage } from '../../src/explain/camRun.js';
import type { BoxLocalisation } from '../../src/explain/localisation.js';
import { makeRng } from '../../src/rng.js';

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
