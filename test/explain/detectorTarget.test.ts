import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ablationCam } from '../../src/explain/ablationCam.js';
import { detectorHead, detectorTarget, type CamDetections, type LayerDetector } from '../../src/explain/detectorTarget.js';
import { withoutLeaks } from '../../src/engine.js';

const refs = { boxes: [[10, 10, 50, 50], [60, 60, 100, 100]], labels: [1, 2] };

test('each reference takes its best-IoU detection of the same label and adds IoU + score', () => {
  const preds: CamDetections = {
    boxes: [[10, 10, 50, 50], [12, 10, 50, 50], [60, 60, 100, 100], [70, 60, 100, 100]],
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
    return m.map(([c0, c1]) => (c1! > 0.5 ? { boxes: [[10, 10, 50, 50]], scores: [Math.min(1, c0!)], labels: [1] } : { boxes: [], scores: [], labels: [] }));
  },
};

test('detectorHead turns a LayerDetector into an Ablation-CAM head', async () => {
  const acts = tf.tensor4d([[[[0.8, 1]]]]); // [1, 1, 1, 2]
  const r = await withoutLeaks('detector CAM', () => ablationCam({ activations: acts, head: detectorHead(fakeDetector, { boxes: [[10, 10, 50, 50]], labels: [1] }), imageSize: [4, 4] }));
  // y = IoU 1 + score 0.8 = 1.8; without channel 0 the box stays with score 0 → y_0 = 1, w_0 = 0.8/1.8;
  // without channel 1 the box is gone → y_1 = 0, w_1 = 1.
  assert.ok(Math.abs(r.score - 1.8) < 1e-6);
  assert.ok(Math.abs(r.weights[0]! - 0.8 / 1.8) < 1e-6);
  assert.ok(Math.abs(r.weights[1]! - 1) < 1e-6);
  acts.dispose();
});
