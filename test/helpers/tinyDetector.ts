/**
 * A tiny Faster R-CNN on the project's ResNet (blocks [1, 1, 1, 1], width 4, 1 input channel, 3
 * classes), random weights from `seed`: small enough for the explain tests, and its random weights
 * still give detections above the 0.05 score threshold.
 */
import type { DetectionConfig } from '../../src/config.js';
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
    dispose: () => {
      for (const v of [...det.fpn.variables(), ...det.rpn.variables(), ...det.roiHeads.variables()])
        v.dispose();
      resnet.dispose();
    },
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
