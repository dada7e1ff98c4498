import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CAM_LAYERS } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import { cutDetectorAt } from '../../src/explain/detectorLayers.js';
import { tinyDetector } from '../helpers/tinyDetector.js';

before(async () => {
  await initEngine('auto');
});

// Cutting the detector anywhere and running the rest on the unablated activations must give exactly
// the detections of the whole detector: the cut adds no computation of its own.
test('at every CAM layer, the cut detector on unablated activations reproduces detect()', () => {
  const { resnet, det } = tinyDetector(7);
  const image = tf.randomUniform([1, 64, 64, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const whole = det.detect(image)[0]!;
  assert.ok(whole.boxes.length > 0, 'random weights still give detections above 0.05');
  const before = tf.memory().numTensors;
  for (const layer of CAM_LAYERS) {
    const cut = cutDetectorAt(det, resnet, image, layer);
    const twice = tf.concat([cut.activations, cut.activations]) as tf.Tensor4D;
    const rows = cut.detector.fromLayer(twice) as { boxes: number[][]; scores: number[] }[];
    assert.equal(rows.length, 2, layer);
    for (const r of rows) {
      assert.equal(r.boxes.length, whole.boxes.length, layer);
      r.scores.forEach((s, i) =>
        assert.ok(Math.abs(s - whole.scores[i]!) < 1e-4, `${layer}: score ${s} vs ${whole.scores[i]}`),
      );
      r.boxes
        .flat()
        .forEach((v, i) =>
          assert.ok(
            Math.abs(v - whole.boxes.flat()[i]!) < 1e-3,
            `${layer}: box coordinate ${v} vs ${whole.boxes.flat()[i]}`,
          ),
        );
    }
    twice.dispose();
    cut.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked by the cuts');
  image.dispose();
});
