/**
 * Faster R-CNN with FPN, after MMDetection's `faster_rcnn_r50_fpn`: this file only assembles the
 * backbone, {@link Fpn}, {@link RpnHead} and {@link RoiHeads}, and owns the options.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import { gridAnchors, type AnchorOptions } from './anchors.js';
import type { Backbone } from './backbone.js';
import { Fpn } from './fpn.js';
import { RoiHeads, type Detections, type RoiHeadOptions } from './roiHeads.js';
import { RpnHead, type RpnOptions } from './rpn.js';

/** Ground truth of one image: boxes `[x1, y1, x2, y2]` in input pixels and class ids 0..numClasses-1. */
export interface DetectionTarget {
  boxes: number[][];
  labels: number[];
}

/** Every option, grouped by prefix (`rpn*`, `box*`); defaults from MMDetection faster_rcnn_r50_fpn. */
export interface FasterRcnnOptions {
  numClasses: number;
  /** FPN width (256). */
  fpnChannels: number;
  /** Inputs are zero-padded at the bottom and right to a multiple of this (32). */
  sizeDivisor: number;
  anchors: AnchorOptions;
  rpnFgIouThr: number;
  rpnBgIouThr: number;
  rpnMinPosIou: number;
  rpnBatchSizePerImage: number;
  rpnPositiveFraction: number;
  rpnPreNmsTopNTrain: number;
  rpnPreNmsTopNTest: number;
  rpnPostNmsTopNTrain: number;
  rpnPostNmsTopNTest: number;
  rpnNmsThr: number;
  rpnTargetStds: [number, number, number, number];
  /** Shared FC width (1024). */
  boxFcWidth: number;
  boxRoiSize: number;
  boxSamplingRatio: number;
  boxAligned: boolean;
  boxFinestScale: number;
  boxFgIouThr: number;
  boxBgIouThr: number;
  boxBatchSizePerImage: number;
  boxPositiveFraction: number;
  boxTargetStds: [number, number, number, number];
  boxScoreThr: number;
  boxNmsThr: number;
  boxDetectionsPerImg: number;
}

/** MMDetection's values (numClasses 14: the VinDr findings). */
export const FASTER_RCNN_DEFAULTS: FasterRcnnOptions = {
  numClasses: 14,
  fpnChannels: 256,
  sizeDivisor: 32,
  anchors: { convention: 'mmdet', strides: [4, 8, 16, 32, 64], scales: [8], ratios: [0.5, 1, 2] },
  rpnFgIouThr: 0.7,
  rpnBgIouThr: 0.3,
  rpnMinPosIou: 0.3,
  rpnBatchSizePerImage: 256,
  rpnPositiveFraction: 0.5,
  rpnPreNmsTopNTrain: 2000,
  rpnPreNmsTopNTest: 1000,
  rpnPostNmsTopNTrain: 1000,
  rpnPostNmsTopNTest: 1000,
  rpnNmsThr: 0.7,
  rpnTargetStds: [1, 1, 1, 1],
  boxFcWidth: 1024,
  boxRoiSize: 7,
  boxSamplingRatio: 0,
  boxAligned: true,
  boxFinestScale: 56,
  boxFgIouThr: 0.5,
  boxBgIouThr: 0.5,
  boxBatchSizePerImage: 512,
  boxPositiveFraction: 0.25,
  boxTargetStds: [0.1, 0.1, 0.2, 0.2],
  boxScoreThr: 0.05,
  boxNmsThr: 0.5,
  boxDetectionsPerImg: 100,
};

/** The four training losses (scalars) and their sum. */
export interface DetectionLosses {
  total: tf.Scalar;
  rpnCls: tf.Scalar;
  rpnBox: tf.Scalar;
  roiCls: tf.Scalar;
  roiBox: tf.Scalar;
}

/** Per-call options: the unpadded size of each image when a batch was padded to a common size. */
export interface ImageSizes {
  imageSizesHw?: [number, number][];
}

/** Faster R-CNN + FPN on a {@link Backbone}. */
export class FasterRcnn {
  readonly opts: FasterRcnnOptions;
  readonly fpn: Fpn;
  readonly rpn: RpnHead;
  readonly roiHeads: RoiHeads;
  private readonly sampling: Rng;

  /**
   * @param backbone C2–C5 extractor (ResNet-50 in the paper).
   * @param opts overrides of {@link FASTER_RCNN_DEFAULTS}.
   * @param rng seeds the initial weights and (through a fork) the anchor / RoI sampling.
   */
  constructor(
    readonly backbone: Backbone,
    opts: Partial<FasterRcnnOptions>,
    rng: Rng,
  ) {
    const o = (this.opts = { ...FASTER_RCNN_DEFAULTS, ...opts });
    this.fpn = new Fpn({ inChannels: backbone.channels, outChannels: o.fpnChannels }, rng);
    this.rpn = new RpnHead(
      {
        channels: o.fpnChannels,
        anchorsPerCell: o.anchors.ratios.length * o.anchors.scales.length,
        fgIouThr: o.rpnFgIouThr,
        bgIouThr: o.rpnBgIouThr,
        minPosIou: o.rpnMinPosIou,
        batchSizePerImage: o.rpnBatchSizePerImage,
        positiveFraction: o.rpnPositiveFraction,
        preNmsTopNTrain: o.rpnPreNmsTopNTrain,
        preNmsTopNTest: o.rpnPreNmsTopNTest,
        postNmsTopNTrain: o.rpnPostNmsTopNTrain,
        postNmsTopNTest: o.rpnPostNmsTopNTest,
        nmsThr: o.rpnNmsThr,
        targetStds: o.rpnTargetStds,
      } satisfies RpnOptions,
      rng,
    );
    this.roiHeads = new RoiHeads(
      {
        numClasses: o.numClasses,
        channels: o.fpnChannels,
        fcWidth: o.boxFcWidth,
        roiSize: o.boxRoiSize,
        samplingRatio: o.boxSamplingRatio,
        aligned: o.boxAligned,
        finestScale: o.boxFinestScale,
        strides: o.anchors.strides.slice(0, 4),
        fgIouThr: o.boxFgIouThr,
        bgIouThr: o.boxBgIouThr,
        batchSizePerImage: o.boxBatchSizePerImage,
        positiveFraction: o.boxPositiveFraction,
        targetStds: o.boxTargetStds,
        scoreThr: o.boxScoreThr,
        nmsThr: o.boxNmsThr,
        detectionsPerImg: o.boxDetectionsPerImg,
      } satisfies RoiHeadOptions,
      rng,
    );
    this.sampling = rng.fork('sampling');
  }

  /** Backbone, FPN, RPN and box-head variables, in that order. */
  trainableVariables(): tf.Variable[] {
    return [
      ...this.backbone.trainableVariables(),
      ...this.fpn.variables(),
      ...this.rpn.variables(),
      ...this.roiHeads.variables(),
    ];
  }

  // Pads to the size divisor and runs backbone + FPN: P2..P6.
  private features(
    images: tf.Tensor4D,
    training: boolean,
  ): { feats: tf.Tensor4D[]; paddedHw: [number, number] } {
    const [, h, w] = images.shape;
    const d = this.opts.sizeDivisor;
    const ph = Math.ceil(h / d) * d;
    const pw = Math.ceil(w / d) * d;
    const feats = tf.tidy(() => {
      const x =
        ph === h && pw === w
          ? images
          : tf.pad(images, [
              [0, 0],
              [0, ph - h],
              [0, pw - w],
              [0, 0],
            ]);
      const c = this.backbone.forward(x, { training });
      return this.fpn.forward([c.c2, c.c3, c.c4, c.c5]);
    });
    return { feats, paddedHw: [ph, pw] };
  }

  private anchors(feats: tf.Tensor4D[], paddedHw: [number, number]): Float32Array[] {
    return gridAnchors(
      feats.map((f) => [f.shape[1], f.shape[2]] as [number, number]),
      this.opts.anchors,
      paddedHw,
    ).anchors;
  }

  private sizes(images: tf.Tensor4D, opts?: ImageSizes): [number, number][] {
    const n = images.shape[0];
    const s =
      opts?.imageSizesHw ??
      Array.from({ length: n }, () => [images.shape[1], images.shape[2]] as [number, number]);
    if (s.length !== n) throw new Error(`FasterRcnn: ${s.length} image sizes for ${n} images`);
    return s;
  }

  /**
   * Training losses (call inside `optimizer.minimize` / `tf.variableGrads`). Proposals and sampling
   * are constants of the step (no gradient through them), as in MMDetection and torchvision.
   * @param images `[N, H, W, 3]` normalised, NHWC.
   * @param targets per image boxes `[x1, y1, x2, y2]` in input pixels and class ids.
   */
  loss(images: tf.Tensor4D, targets: DetectionTarget[], opts?: ImageSizes & { rng?: Rng }): DetectionLosses {
    if (targets.length !== images.shape[0])
      throw new Error(`FasterRcnn.loss: ${targets.length} targets for ${images.shape[0]} images`);
    const rng = opts?.rng ?? this.sampling;
    const sizes = this.sizes(images, opts);
    return tf.tidy(() => {
      const { feats, paddedHw } = this.features(images, true);
      const anchorsPerLevel = this.anchors(feats, paddedHw);
      const all = new Float32Array(anchorsPerLevel.reduce((a, l) => a + l.length, 0));
      let off = 0;
      for (const l of anchorsPerLevel) {
        all.set(l, off);
        off += l.length;
      }
      const out = this.rpn.forward(feats);
      const gtBoxes = targets.map((t) => t.boxes);
      const rpnLoss = this.rpn.loss(out, all, gtBoxes, rng);
      const props = this.rpn.proposals(out, anchorsPerLevel, sizes, true).map((p) => p.boxes);
      const samples = this.roiHeads.sample(
        props,
        gtBoxes,
        targets.map((t) => t.labels),
        rng,
      );
      const roiLoss = this.roiHeads.loss(feats.slice(0, 4), samples);
      const total = tf.addN([rpnLoss.cls, rpnLoss.box, roiLoss.cls, roiLoss.box]) as tf.Scalar;
      return { total, rpnCls: rpnLoss.cls, rpnBox: rpnLoss.box, roiCls: roiLoss.cls, roiBox: roiLoss.box };
    });
  }

  /**
   * Detections per image in input pixels (boxes clipped to the unpadded image).
   * @param images `[N, H, W, 3]` normalised, NHWC.
   */
  detect(images: tf.Tensor4D, opts?: ImageSizes): Detections[] {
    const sizes = this.sizes(images, opts);
    const { feats, paddedHw } = this.features(images, false);
    try {
      return this.detectFromFeatures(feats, paddedHw, sizes);
    } finally {
      tf.dispose(feats);
    }
  }

  /**
   * Detections from backbone outputs C2–C5 computed elsewhere (e.g. with one layer's channels
   * ablated, for Ablation-CAM). `paddedHw` is the (padded) input size they came from, `sizes` each
   * image's unpadded size. Does not dispose its inputs.
   */
  detectFromBackbone(
    c: { c2: tf.Tensor4D; c3: tf.Tensor4D; c4: tf.Tensor4D; c5: tf.Tensor4D },
    paddedHw: [number, number],
    sizes: [number, number][],
  ): Detections[] {
    const feats = this.fpn.forward([c.c2, c.c3, c.c4, c.c5]);
    try {
      return this.detectFromFeatures(feats, paddedHw, sizes);
    } finally {
      tf.dispose(feats);
    }
  }

  /** The FPN outputs P2–P6 for images (eval mode), for cutting the detector at an FPN level. The caller disposes them. */
  pyramid(images: tf.Tensor4D): { feats: tf.Tensor4D[]; paddedHw: [number, number] } {
    return this.features(images, false);
  }

  /** Detections from FPN outputs P2–P6 computed elsewhere (see `pyramid`). Does not dispose its inputs. */
  detectFromPyramid(
    feats: tf.Tensor4D[],
    paddedHw: [number, number],
    sizes: [number, number][],
  ): Detections[] {
    return this.detectFromFeatures(feats, paddedHw, sizes);
  }

  private detectFromFeatures(
    feats: tf.Tensor4D[],
    paddedHw: [number, number],
    sizes: [number, number][],
  ): Detections[] {
    const out = this.rpn.forward(feats);
    const props = this.rpn.proposals(out, this.anchors(feats, paddedHw), sizes, false).map((p) => p.boxes);
    tf.dispose([out.logits, out.deltas]);
    return this.roiHeads.detect(feats.slice(0, 4), props, sizes);
  }
}
