/**
 * A tiny Faster R-CNN on the project's ResNet (blocks [1, 1, 1, 1], width 4, 1 input channel, 3
 * classes), random weights from `seed`: small enough for the explain tests, and its random weights
 * still give detections above the 0.05 score threshold.
 */
import * as tf from '@tensorflow/tfjs';
import { makeConfig, type Config, type DetectionConfig } from '../../src/config.js';
import { disposeDetector } from '../../src/models/detectorBuild.js';
import { FasterRcnn } from '../../src/models/fasterRcnn/detector.js';
import { ResNet } from '../../src/models/resnet.js';
import { makeRng } from '../../src/rng.js';
import { resnetBackbone } from '../../src/train/detectionRun.js';

export function tinyDetector(seed: number): { resnet: ResNet; det: FasterRcnn; dispose(): void } {
  const rng = makeRng(seed);
  const resnet = new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1 }, rng.fork('r'));
  const det = new FasterRcnn(
    resnetBackbone(resnet, { normEval: true, frozenStages: 1 }),
    {
      numClasses: 3,
      fpnChannels: 8,
      boxFcWidth: 16,
      boxBatchSizePerImage: 16,
      rpnPreNmsTopNTest: 50,
      rpnPostNmsTopNTest: 30,
    },
    rng.fork('d'),
  );
  return {
    resnet,
    det,
    dispose: () => disposeDetector(resnet, det),
  };
}

/**
 * Detection settings of the same tiny size for tests that train through `trainDetector`: 2 epochs of
 * batch 2, an 8-channel FPN and a 16-wide box head, a few dozen proposals: a run takes seconds.
 */
export const TINY_DETECTION: Partial<DetectionConfig> = {
  epochs: 2,
  batchSize: 2,
  lr: 0.01,
  warmupSteps: 2,
  fpnChannels: 8,
  boxFcWidth: 16,
  rpnPreNmsTopNTrain: 50,
  rpnPostNmsTopNTrain: 30,
  rpnPreNmsTopNTest: 50,
  rpnPostNmsTopNTest: 30,
  boxBatchSizePerImage: 16,
  bootstrap: 5,
};

/** The smoke profile with a width-4 [1, 1, 1, 1] backbone at 64 px and {@link TINY_DETECTION} (plus `detection`). */
export function tinyDetectionConfig(detection: Partial<DetectionConfig> = {}): Config {
  return makeConfig({
    notebook: 'test',
    profile: 'smoke',
    env: {},
    backbone: { blocks: [1, 1, 1, 1], width: 4, inputSize: 64 },
    detection: { ...TINY_DETECTION, ...detection },
  });
}

/** One `side`×`side` grey ramp, (x + y) / 2 from 0 to 1: a smooth film for one-batch detector checks. */
export function rampImage(side: number): tf.Tensor4D {
  return tf.tidy(() => {
    const xy = tf.linspace(0, 1, side);
    return tf
      .add(xy.reshape([side, 1]), xy.reshape([1, side]))
      .mul(0.5)
      .reshape([1, side, side, 1]);
  }) as tf.Tensor4D;
}
