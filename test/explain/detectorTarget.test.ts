import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ablationCam, ablationCamTargets } from '../../src/explain/ablationCam.js';
import {
  detectorHead,
  detectorHeadPerBox,
  detectorTarget,
  type CamDetections,
  type LayerDetector,
} from '../../src/explain/detectorTarget.js';
import { withoutLeaks } from '../../src/engine.js';

const refs = {
  boxes: [
    [10, 10, 50, 50],
    [60, 60, 100, 100],
  ],
  labels: [1, 2],
};

test('each reference takes its best-IoU detection of the same label and adds IoU + score', () => {
  const preds: CamDetections = {
    boxes: [
      [10, 10, 50, 50],
      [12, 10, 50, 50],
      [60, 60, 100, 100],
      [70, 60, 100, 100],
    ],
    scores: [0.9, 0.99, 0.8, 0.5],
    labels: [1, 1, 3, 2],
  };
  // Ref 1: IoU 1 with box 0 beats IoU 0.95 with box 1 (whatever the scores) → 1 + 0.9.
  // Ref 2: box 2 overlaps perfectly but is class 3; box 3 (class 2) has IoU 30·40 / 40·40 = 0.75 → 0.75 + 0.5.
  assert.ok(Math.abs(detectorTarget(refs)(preds) - (1.9 + 1.25)) < 1e-12);
  // pytorch-grad-cam's rule: ref 2's best-IoU box is class 3, so ref 2 scores 0.
  assert.ok(Math.abs(detectorTarget(refs, { match: 'bestIouThenLabel' })(preds) - 1.9) < 1e-12);
});

test('IoU must be strictly above the threshold; no detections give 0', () => {
  // [10, 10, 30, 50] covers half of [10, 10, 50, 50]: IoU exactly 0.5, not counted.
  const half: CamDetections = { boxes: [[10, 10, 30, 50]], scores: [1], labels: [1] };
  assert.equal(detectorTarget(refs)(half), 0);
  assert.ok(Math.abs(detectorTarget(refs, { iouThr: 0.4 })(half) - 1.5) < 1e-12);
  assert.equal(detectorTarget(refs)({ boxes: [], scores: [], labels: [] }), 0);
  assert.equal(detectorTarget({ boxes: [], labels: [] })(half), 0);
  assert.throws(() => detectorTarget({ boxes: [[0, 0, 1, 1]], labels: [] }), /labels/);
});

// A stand-in detector cut at a 2-channel layer: it finds the reference box with score = mean of
// channel 0 (clipped to 1), and only while channel 1 is on (mean > 0.5) — channel 1 gates the box.
const fakeDetector: LayerDetector = {
  fromLayer(acts) {
    const m = tf.tidy(() => tf.mean(acts, [1, 2]).arraySync()) as number[][];
    return m.map(([c0, c1]) =>
      c1! > 0.5
        ? { boxes: [[10, 10, 50, 50]], scores: [Math.min(1, c0!)], labels: [1] }
        : { boxes: [], scores: [], labels: [] },
    );
  },
};

test('detectorHead turns a LayerDetector into an Ablation-CAM head', async () => {
  const acts = tf.tensor4d([[[[0.8, 1]]]]); // [1, 1, 1, 2]
  const r = await withoutLeaks('detector CAM', () =>
    ablationCam({
      activations: acts,
      head: detectorHead(fakeDetector, { boxes: [[10, 10, 50, 50]], labels: [1] }),
      imageSize: [4, 4],
    }),
  );
  // y = IoU 1 + score 0.8 = 1.8; without channel 0 the box stays with score 0 → y_0 = 1, w_0 = 0.8/1.8;
  // without channel 1 the box is gone → y_1 = 0, w_1 = 1.
  assert.ok(Math.abs(r.score - 1.8) < 1e-6);
  assert.ok(Math.abs(r.weights[0]! - 0.8 / 1.8) < 1e-6);
  assert.ok(Math.abs(r.weights[1]! - 1) < 1e-6);
  acts.dispose();
});

// Two boxes gated by different channels of a 1×2×2 layer (left pixel, right pixel): box 1 is found while
// channel 0's left pixel is on, box 2 while channel 1's right pixel is on; each box's score is 0.5.
const twoBoxDetector: LayerDetector = {
  fromLayer(acts) {
    const a = acts.arraySync() as number[][][][];
    return a.map((img) => {
      const d: CamDetections = { boxes: [], scores: [], labels: [] };
      if (img[0]![0]![0]! > 0) {
        d.boxes.push([10, 10, 50, 50]);
        d.scores.push(0.5);
        d.labels.push(1);
      }
      if (img[0]![1]![1]! > 0) {
        d.boxes.push([60, 60, 100, 100]);
        d.scores.push(0.5);
        d.labels.push(2);
      }
      return d;
    });
  },
};

test("per-box targets: each predicted box gets its own map (the authors' tool), equal to a single-box run, and not their sum", async () => {
  // Channel 0 is on at the left pixel, channel 1 at the right one.
  const acts = tf.tensor4d([
    [
      [
        [1, 0],
        [0, 1],
      ],
    ],
  ]); // [1, 1, 2, 2]
  const head = detectorHeadPerBox(twoBoxDetector, refs);
  const rows = await head(acts);
  assert.deepEqual(rows, [[1.5, 1.5]]); // IoU 1 + score 0.5 for each box on its own
  const [m1, m2] = await withoutLeaks('per-box CAM', () =>
    ablationCamTargets({ activations: acts, head, targets: 2, imageSize: [1, 2] }),
  );
  // Box 1 depends only on channel 0 (w = [1, 0]), box 2 only on channel 1 (w = [0, 1]): each map lights its own pixel.
  assert.deepEqual(Array.from(m1!.weights), [1, 0]);
  assert.deepEqual(Array.from(m2!.weights), [0, 1]);
  assert.deepEqual(Array.from(m1!.cam.data), [1, 0]);
  assert.deepEqual(Array.from(m2!.cam.data), [0, 1]);
  // The same as explaining one box at a time with the single-target head.
  for (const [i, m] of [m1!, m2!].entries()) {
    const single = await ablationCam({
      activations: acts,
      head: detectorHead(twoBoxDetector, { boxes: [refs.boxes[i]!], labels: [refs.labels[i]!] }),
      imageSize: [1, 2],
    });
    assert.deepEqual(Array.from(single.weights), Array.from(m.weights));
    assert.deepEqual(Array.from(single.cam.data), Array.from(m.cam.data));
  }
  // The old per-image target (both boxes summed) blends the two into one flat map.
  const summed = await ablationCam({
    activations: acts,
    head: detectorHead(twoBoxDetector, refs),
    imageSize: [1, 2],
  });
  assert.deepEqual(Array.from(summed.weights), [0.5, 0.5]);
  assert.throws(() => detectorHeadPerBox(twoBoxDetector, { boxes: [[0, 0, 1, 1]], labels: [] }), /labels/);
  acts.dispose();
});
