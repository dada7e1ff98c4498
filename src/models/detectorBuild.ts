/**
 * How a config becomes a Faster R-CNN on a ResNet, and how its tensors are named in a file: one
 * place for notebook 04 (training), notebook 06 (loading) and the web page (no file system here),
 * so a change of recipe reaches all three.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackboneConfig, DetectionConfig } from '../config.js';
import { VINDR_NO_FINDING } from '../data/labels.js';
import type { Rng } from '../rng.js';
import type { Backbone } from './fasterRcnn/backbone.js';
import { MMDET_ANCHORS } from './fasterRcnn/anchors.js';
import { FasterRcnn } from './fasterRcnn/detector.js';
import { ResNet } from './resnet.js';

/** A fresh 1-channel ResNet of the config's size (optionally with a classifier head). */
export function resnetFromConfig(
  backbone: BackboneConfig,
  rng: Rng,
  opts: { numClasses?: number; zeroInitResidual?: boolean } = {},
): ResNet {
  return new ResNet(
    {
      blocks: backbone.blocks,
      width: backbone.width,
      inChannels: 1,
      numClasses: opts.numClasses ?? 0,
      zeroInitResidual: opts.zeroInitResidual ?? false,
      variant: backbone.variant ?? 'v1.5',
    },
    rng,
  );
}

/**
 * The ResNet as the detector's backbone, with MMDetection's ResNet settings: `frozenStages` (the stem
 * and the first `n` stages get no updates) and `normEval` (BatchNorm uses its running statistics
 * while fine-tuning, since detection batches are too small for good batch statistics).
 */
export function resnetBackbone(resnet: ResNet, opts: { normEval: boolean; frozenStages: number }): Backbone {
  const frozen = (name: string): boolean =>
    opts.frozenStages >= 0 &&
    (name.startsWith('conv1.') ||
      name.startsWith('bn1.') ||
      Array.from({ length: opts.frozenStages }, (_, i) => `layer${i + 1}.`).some((p) => name.startsWith(p)));
  resnet.store.freeze(frozen);
  return {
    channels: resnet.featureChannels,
    forward: (x, { training }) => {
      const f = resnet.forward(x, { training: training && !opts.normEval });
      f.pooled.dispose();
      f.logits?.dispose();
      return { c2: f.c2, c3: f.c3, c4: f.c4, c5: f.c5 };
    },
    trainableVariables: () => resnet.store.trainable().map((p) => p.variable),
  };
}

/** The detector on `resnet` with the config's sizes (14 VinDr classes). */
export function detectorOnResnet(resnet: ResNet, d: DetectionConfig, rng: Rng): FasterRcnn {
  return new FasterRcnn(
    resnetBackbone(resnet, d),
    {
      numClasses: VINDR_NO_FINDING,
      anchors: { ...MMDET_ANCHORS, scales: [...d.anchorScales] },
      fpnChannels: d.fpnChannels,
      boxFcWidth: d.boxFcWidth,
      boxBatchSizePerImage: d.boxBatchSizePerImage,
      rpnPreNmsTopNTrain: d.rpnPreNmsTopNTrain,
      rpnPostNmsTopNTrain: d.rpnPostNmsTopNTrain,
      rpnPreNmsTopNTest: d.rpnPreNmsTopNTest,
      rpnPostNmsTopNTest: d.rpnPostNmsTopNTest,
    },
    rng,
  );
}

/** A trained detector's tensors as saved: the backbone by name, the heads by position (the same config rebuilds the same list). */
export function detectorTensors(resnet: ResNet, detector: FasterRcnn): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>(resnet.store.all().map((p) => [`backbone.${p.name}`, p.variable]));
  [...detector.fpn.variables(), ...detector.rpn.variables(), ...detector.roiHeads.variables()].forEach(
    (v, i) => m.set(`head.${i}`, v),
  );
  return m;
}

/** Frees a detector's variables (heads and backbone). */
export function disposeDetector(resnet: ResNet, detector: FasterRcnn): void {
  for (const v of [
    ...detector.fpn.variables(),
    ...detector.rpn.variables(),
    ...detector.roiHeads.variables(),
  ])
    v.dispose();
  resnet.dispose();
}
