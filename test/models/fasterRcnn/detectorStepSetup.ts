/**
 * The fixed setting of the detector-step parity test (`detectorStep.parity.test.ts`) and its peer
 * (`test/peers/detector_step.py`, torchvision 0.14.1 FasterRCNN): a Bottleneck ResNet with one block
 * per stage (torchvision `ResNet(Bottleneck, [1, 1, 1, 1])`, 1-channel stem), BatchNorm in eval mode
 * and the stem + layer1 frozen (torchvision `trainable_layers=3`, MMDetection `frozen_stages=1,
 * norm_eval=True`), FPN P2–P6 of width 16, box head width 32, two 64×64 images.
 *
 * Settings chosen so that both libraries compute the same function (and said in the fixture):
 * torchvision's anchors (sizes 32–512), its low-quality matches (no minimum IoU), RoIAlign with
 * sampling ratio 2 and aligned=False, and sampling of *every* anchor and RoI (a sampler quota larger
 * than their number), which makes the step deterministic in both. torchvision's smooth-L1 box losses
 * run with beta = 0, which is the L1 loss we (and MMDetection) use.
 *
 * Run as `node build/test/models/fasterRcnn/detectorStepSetup.js --export OUT.safetensors` it writes
 * the initial weights (our names and layouts), the images and the targets for the peer; imported (by
 * the test) it only builds them.
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { encodeSafetensors } from '../../../src/models/safetensors.js';
import { FasterRcnn, type DetectionTarget } from '../../../src/models/fasterRcnn/detector.js';
import { ResNet } from '../../../src/models/resnet.js';
import { makeRng } from '../../../src/rng.js';
import { resnetBackbone } from '../../../src/train/detectionRun.js';
import type { RawTensor } from '../../../src/models/safetensors.js';

export const PARITY = {
  seed: 1234,
  size: 64,
  numClasses: 3,
  fpnChannels: 16,
  boxFcWidth: 32,
  lr: 0.02,
  momentum: 0.9,
  weightDecay: 1e-4,
  preNms: 1000,
  postNms: 300,
  /** Larger than any number of anchors or RoIs here: every one is sampled. */
  sampleAll: 1_000_000,
} as const;

/** The two images' ground truth, in input pixels. */
export const PARITY_TARGETS: DetectionTarget[] = [
  {
    boxes: [
      [8, 10, 40, 30],
      [30, 34, 60, 62],
    ],
    labels: [0, 2],
  },
  {
    boxes: [
      [4, 4, 20, 22],
      [18, 20, 50, 44],
      [36, 6, 58, 28],
    ],
    labels: [1, 1, 0],
  },
];

export interface ParitySetup {
  detector: FasterRcnn;
  resnet: ResNet;
  images: tf.Tensor4D;
  dispose(): void;
}

/** Builds the detector with seeded weights and the seeded images (same every time). */
export function paritySetup(): ParitySetup {
  const rng = makeRng(PARITY.seed);
  const resnet = new ResNet({ blocks: [1, 1, 1, 1], width: 64, inChannels: 1 }, rng.fork('resnet'));
  // Non-trivial BatchNorm statistics, so that eval-mode BatchNorm is tested, not an identity.
  const r = rng.fork('bn');
  tf.tidy(() => {
    for (const p of resnet.store.all()) {
      const n = p.variable.shape[0]!;
      if (p.name.endsWith('running_mean'))
        p.variable.assign(tf.tensor1d(Array.from({ length: n }, () => r.uniform(-0.2, 0.2))));
      if (p.name.endsWith('running_var'))
        p.variable.assign(tf.tensor1d(Array.from({ length: n }, () => r.uniform(0.5, 2))));
      if (/bn\d\.weight$|downsample\.1\.weight$/.test(p.name))
        p.variable.assign(tf.tensor1d(Array.from({ length: n }, () => r.uniform(0.5, 1.5))));
      if (/bn\d\.bias$|downsample\.1\.bias$/.test(p.name))
        p.variable.assign(tf.tensor1d(Array.from({ length: n }, () => r.uniform(-0.1, 0.1))));
    }
  });
  const detector = new FasterRcnn(
    resnetBackbone(resnet, { normEval: true, frozenStages: 1 }),
    {
      numClasses: PARITY.numClasses,
      fpnChannels: PARITY.fpnChannels,
      boxFcWidth: PARITY.boxFcWidth,
      anchors: { convention: 'torchvision', strides: [4, 8, 16, 32, 64], scales: [8], ratios: [0.5, 1, 2] },
      rpnMinPosIou: 0,
      rpnBatchSizePerImage: PARITY.sampleAll,
      rpnPositiveFraction: 0.5,
      rpnPreNmsTopNTrain: PARITY.preNms,
      rpnPostNmsTopNTrain: PARITY.postNms,
      boxSamplingRatio: 2,
      boxAligned: false,
      boxBatchSizePerImage: PARITY.sampleAll,
      boxPositiveFraction: 0.5,
    },
    rng.fork('heads'),
  );
  // RoI heads start from a small random classifier and regressor; larger ones give the box losses a real gradient.
  tf.tidy(() => {
    detector.roiHeads.reg.w.assign(tf.randomNormal(detector.roiHeads.reg.w.shape, 0, 0.05, 'float32', 7));
    detector.roiHeads.cls.w.assign(tf.randomNormal(detector.roiHeads.cls.w.shape, 0, 0.05, 'float32', 8));
    detector.rpn.reg.w.assign(tf.randomNormal(detector.rpn.reg.w.shape, 0, 0.05, 'float32', 9));
  });
  const ir = rng.fork('images');
  const images = tf.tensor4d(
    Array.from({ length: 2 * PARITY.size * PARITY.size }, () => ir.next()),
    [2, PARITY.size, PARITY.size, 1],
  );
  return {
    detector,
    resnet,
    images,
    dispose: () => {
      images.dispose();
      for (const v of [
        ...detector.fpn.variables(),
        ...detector.rpn.variables(),
        ...detector.roiHeads.variables(),
      ])
        v.dispose();
      resnet.dispose();
    },
  };
}

/** Every weight by a stable name (ours; layouts HWIO / [in, out]), trainable or not, in a fixed order. */
export function parityTensors(s: ParitySetup): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>();
  for (const p of s.resnet.store.all()) m.set(`backbone.${p.name}`, p.variable);
  const d = s.detector;
  d.fpn.lateral.forEach((p, i) => {
    m.set(`fpn.lateral.${i}.weight`, p.w);
    m.set(`fpn.lateral.${i}.bias`, p.b);
  });
  d.fpn.output.forEach((p, i) => {
    m.set(`fpn.output.${i}.weight`, p.w);
    m.set(`fpn.output.${i}.bias`, p.b);
  });
  for (const [k, p] of [
    ['conv', d.rpn.conv],
    ['cls', d.rpn.cls],
    ['reg', d.rpn.reg],
  ] as const) {
    m.set(`rpn.${k}.weight`, p.w);
    m.set(`rpn.${k}.bias`, p.b);
  }
  for (const [k, p] of [
    ['fc1', d.roiHeads.fc1],
    ['fc2', d.roiHeads.fc2],
    ['cls', d.roiHeads.cls],
    ['reg', d.roiHeads.reg],
  ] as const) {
    m.set(`roi.${k}.weight`, p.w);
    m.set(`roi.${k}.bias`, p.b);
  }
  return m;
}

if (process.argv[2] === '--export') {
  const out = process.argv[3];
  if (!out) throw new Error('usage: node detectorStepSetup.js --export OUT.safetensors');
  const s = paritySetup();
  const raw = new Map<string, RawTensor>();
  for (const [k, t] of parityTensors(s))
    raw.set(k, { shape: [...t.shape], data: t.dataSync() as Float32Array });
  raw.set('input.images', { shape: [...s.images.shape], data: s.images.dataSync() as Float32Array });
  writeFileSync(
    out,
    encodeSafetensors(raw, { targets: JSON.stringify(PARITY_TARGETS), settings: JSON.stringify(PARITY) }),
  );
  console.log(`wrote ${raw.size} tensors to ${out}`);
  s.dispose();
}
