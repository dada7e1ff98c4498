/**
 * The second stage (MMDetection `StandardRoIHead` + `Shared2FCBBoxHead`): RoIAlign 7x7 of each
 * proposal from its FPN level, two shared fully connected layers, a softmax classifier over the
 * classes plus background and class-specific box deltas; training samples from proposals plus the
 * ground-truth boxes; post-processing by score threshold, per-class NMS and a per-image cap.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import { batchedNms } from '../../boxes/nms.js';
import { decodeBoxes, encodeBoxes } from './boxCoder.js';
import { iouMatrix, matchPredictions } from './matcher.js';
import { dense, makeDense, type DenseParams } from './nn.js';
import { multiLevelRoiAlign } from './roiAlign.js';
import { samplePositiveNegative } from './sampler.js';
import type { ImageDetections } from '../../metrics/map/common.js';

/** Box-head settings (prefix `box` in {@link FasterRcnnOptions}); defaults are MMDetection's. */
export interface RoiHeadOptions {
  /** Foreground classes (background is the extra index `numClasses`). */
  numClasses: number;
  /** Pyramid channels. */
  channels: number;
  /** Width of the two shared FC layers (1024). */
  fcWidth: number;
  /** RoIAlign output (7) and sampling (0 = adaptive), aligned (true in MMCV), finest scale (56). */
  roiSize: number;
  samplingRatio: number;
  aligned: boolean;
  finestScale: number;
  /** Strides of P2..P5. */
  strides: number[];
  /** Positive at IoU >= fgIouThr, negative below bgIouThr (0.5 / 0.5). */
  fgIouThr: number;
  bgIouThr: number;
  /** RoIs sampled per image and positive fraction (512, 0.25). */
  batchSizePerImage: number;
  positiveFraction: number;
  /** Target stds ([0.1, 0.1, 0.2, 0.2]). */
  targetStds: [number, number, number, number];
  /** Inference: keep scores > scoreThr (0.05), per-class NMS (0.5), at most detectionsPerImg (100). */
  scoreThr: number;
  nmsThr: number;
  detectionsPerImg: number;
}

/** Detections of one image: boxes `[x1, y1, x2, y2]` in input pixels, scores, class ids (what mAP scores). */
export type Detections = ImageDetections;

/** Sampled RoIs of a batch and their targets. */
interface RoiSamples {
  /** `[K][5]` rows `[batchIndex, x1, y1, x2, y2]`. */
  rois: number[][];
  /** `[K]` class id, `numClasses` for background. */
  labels: number[];
  /** `[K * 4]` encoded targets (zeros for negatives). */
  targets: Float32Array;
}

/** The box head's weights and its sampling / loss / post-processing. */
export class RoiHeads {
  readonly fc1: DenseParams;
  readonly fc2: DenseParams;
  readonly cls: DenseParams;
  readonly reg: DenseParams;

  constructor(
    readonly opts: RoiHeadOptions,
    rng: Rng,
  ) {
    const r = rng.fork('roiHead');
    const flat = opts.channels * opts.roiSize * opts.roiSize;
    this.fc1 = makeDense('roi_head.bbox_head.shared_fcs.0', flat, opts.fcWidth, { kind: 'xavier' }, r);
    this.fc2 = makeDense(
      'roi_head.bbox_head.shared_fcs.1',
      opts.fcWidth,
      opts.fcWidth,
      { kind: 'xavier' },
      r,
    );
    // MMDetection's BBoxHead: normal(0, 0.01) classifier, normal(0, 0.001) regressor
    this.cls = makeDense(
      'roi_head.bbox_head.fc_cls',
      opts.fcWidth,
      opts.numClasses + 1,
      { kind: 'normal', std: 0.01 },
      r,
    );
    this.reg = makeDense(
      'roi_head.bbox_head.fc_reg',
      opts.fcWidth,
      opts.numClasses * 4,
      { kind: 'normal', std: 0.001 },
      r,
    );
  }

  variables(): tf.Variable[] {
    return [this.fc1, this.fc2, this.cls, this.reg].flatMap((p) => [p.w, p.b]);
  }

  /**
   * Class logits and deltas of RoIs.
   * @param feats P2..P5 `[N, Hl, Wl, C]`.
   * @param rois `[K][5]` `[batchIndex, x1, y1, x2, y2]` in input pixels.
   * @returns logits `[K, numClasses + 1]`, deltas `[K, numClasses * 4]`.
   */
  forward(feats: tf.Tensor4D[], rois: number[][]): { logits: tf.Tensor2D; deltas: tf.Tensor2D } {
    return tf.tidy(() => {
      const o = this.opts;
      const pooled = multiLevelRoiAlign(feats, rois, {
        strides: o.strides,
        outputSize: [o.roiSize, o.roiSize],
        samplingRatio: o.samplingRatio,
        aligned: o.aligned,
        finestScale: o.finestScale,
      });
      // Sizes spelled out: with no RoI (an image whose proposals all fell out) -1 cannot be inferred.
      const [, ph, pw, c] = pooled.shape;
      const x = tf.reshape(pooled, [rois.length, ph * pw * c]) as tf.Tensor2D;
      const h = tf.relu(dense(tf.relu(dense(x, this.fc1)), this.fc2));
      return { logits: dense(h, this.cls), deltas: dense(h, this.reg) };
    });
  }

  /**
   * Training samples: ground truths join the proposals, IoU 0.5 splits positives from negatives,
   * 512 per image at 25 % positives.
   */
  sample(proposals: number[][][], gtBoxes: number[][][], gtLabels: number[][], rng: Rng): RoiSamples {
    const o = this.opts;
    const rois: number[][] = [];
    const labels: number[] = [];
    const targets: number[] = [];
    proposals.forEach((props, img) => {
      const gts = gtBoxes[img]!;
      const cand = [...gts, ...props];
      let matches: Int32Array;
      if (gts.length === 0) matches = new Int32Array(cand.length).fill(-1);
      else
        matches = matchPredictions(iouMatrix(gts.flat(), cand.flat()), gts.length, cand.length, {
          high: o.fgIouThr,
          low: o.bgIouThr,
          allowLowQualityMatches: false,
        });
      const { pos, neg } = samplePositiveNegative(
        matches,
        { num: o.batchSizePerImage, positiveFraction: o.positiveFraction },
        rng,
      );
      if (pos.length > 0) {
        const enc = encodeBoxes(
          pos.flatMap((i) => gts[matches[i]!]!),
          pos.flatMap((i) => cand[i]!),
          { stds: o.targetStds },
        );
        pos.forEach((i, j) => {
          rois.push([img, ...cand[i]!]);
          labels.push(gtLabels[img]![matches[i]!]!);
          for (let k = 0; k < 4; k++) targets.push(enc[j * 4 + k]!);
        });
      }
      for (const i of neg) {
        rois.push([img, ...cand[i]!]);
        labels.push(o.numClasses);
        targets.push(0, 0, 0, 0);
      }
    });
    return { rois, labels, targets: Float32Array.from(targets) };
  }

  /**
   * Losses on sampled RoIs: softmax cross-entropy over all of them, and L1 on the positives' deltas
   * of their own class, both divided by the number of sampled RoIs (MMDetection's avg_factor).
   */
  loss(feats: tf.Tensor4D[], s: RoiSamples): { cls: tf.Scalar; box: tf.Scalar } {
    const o = this.opts;
    const k = s.rois.length;
    if (k === 0) return { cls: tf.scalar(0), box: tf.scalar(0) };
    const onehot = new Float32Array(k * (o.numClasses + 1));
    const tgt = new Float32Array(k * o.numClasses * 4);
    const w = new Float32Array(k * o.numClasses * 4);
    s.labels.forEach((c, i) => {
      onehot[i * (o.numClasses + 1) + c] = 1;
      if (c === o.numClasses) return;
      for (let j = 0; j < 4; j++) {
        tgt[(i * o.numClasses + c) * 4 + j] = s.targets[i * 4 + j]!;
        w[(i * o.numClasses + c) * 4 + j] = 1;
      }
    });
    return tf.tidy(() => {
      const { logits, deltas } = this.forward(feats, s.rois);
      const cls = tf.div(
        tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.tensor2d(onehot, logits.shape)))),
        k,
      ) as tf.Scalar;
      const l1 = tf.mul(tf.abs(tf.sub(deltas, tf.tensor2d(tgt, deltas.shape))), tf.tensor2d(w, deltas.shape));
      return { cls, box: tf.div(tf.sum(l1), k) as tf.Scalar };
    });
  }

  /**
   * Final detections per image: softmax scores, class-specific decoding clipped to the image,
   * scores > scoreThr, per-class NMS, best detectionsPerImg.
   * @param proposals per image `[P][4]` boxes in input pixels.
   */
  detect(feats: tf.Tensor4D[], proposals: number[][][], imageSizesHw: [number, number][]): Detections[] {
    const o = this.opts;
    const rois = proposals.flatMap((p, img) => p.map((b) => [img, ...b]));
    // No proposal in the whole batch (an untrained or diverged RPN): no detections, rather than a crash.
    if (rois.length === 0) return proposals.map(() => ({ boxes: [], scores: [], labels: [] }));
    const { probs, deltas } = tf.tidy(() => {
      const f = this.forward(feats, rois);
      return { probs: tf.softmax(f.logits), deltas: f.deltas };
    });
    const p = probs.dataSync();
    const d = deltas.dataSync();
    tf.dispose([probs, deltas]);
    const out: Detections[] = [];
    let row = 0;
    proposals.forEach((props, img) => {
      const refs = Float32Array.from(props.flat());
      const dec = decodeBoxes(
        d.subarray(row * o.numClasses * 4, (row + props.length) * o.numClasses * 4),
        refs,
        { stds: o.targetStds },
        imageSizesHw[img],
      );
      const boxes: number[][] = [];
      const scores: number[] = [];
      const labels: number[] = [];
      for (let i = 0; i < props.length; i++) {
        for (let c = 0; c < o.numClasses; c++) {
          const sc = p[(row + i) * (o.numClasses + 1) + c]!;
          if (!(sc > o.scoreThr)) continue;
          const q = (i * o.numClasses + c) * 4;
          boxes.push(Array.from(dec.subarray(q, q + 4)));
          scores.push(sc);
          labels.push(c);
        }
      }
      const keep = batchedNms(boxes, scores, labels, o.nmsThr).slice(0, o.detectionsPerImg);
      out.push({
        boxes: keep.map((i) => boxes[i]!),
        scores: keep.map((i) => scores[i]!),
        labels: keep.map((i) => labels[i]!),
      });
      row += props.length;
    });
    return out;
  }
}
