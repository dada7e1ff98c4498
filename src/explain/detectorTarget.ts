/**
 * The Ablation-CAM target of a detector: how well the detections of a (possibly ablated) forward pass
 * still find a set of reference boxes. For each reference box, the detection of the same label with
 * the highest IoU; when that IoU exceeds `iouThr` (0.5) the target gains IoU + score. This is the
 * "box score" target common in detector CAMs (pytorch-grad-cam's FasterRCNNBoxScoreTarget), summed
 * over the reference boxes, so ablating a channel the detector needs to find them lowers it.
 *
 * The reference boxes are what the heat map explains: the detections of the unablated image (the
 * paper's "heat maps for detected boxes") or the ground-truth boxes.
 */
import type * as tf from '@tensorflow/tfjs';
import { iou } from '../boxes/iou.js';
import type { ImageDetections } from '../metrics/map/common.js';
import type { CamHead, CamMultiHead } from './ablationCam.js';

/** Detections of one image: boxes `[x1, y1, x2, y2]` in input pixels, scores in [0, 1], class ids. */
export type CamDetections = ImageDetections;

/** The boxes a heat map should explain: `[x1, y1, x2, y2]` pixels and their class ids. */
export interface CamReferences {
  boxes: number[][];
  labels: number[];
}

/**
 * A detector cut at its Ablation-CAM target layer (config `cam.layers`): the part above the
 * layer, run on activations. `fromLayer` takes `[B, h, w, K]` (NHWC) activations of that layer (for
 * an FPN level, that level's output, the other levels being those of the unablated image) and
 * returns the post-processed detections of each of the B rows, boxes in input-image pixels. It must
 * not dispose its input. The Faster R-CNN of `src/models/fasterRcnn/` provides one per layer.
 */
export interface LayerDetector {
  fromLayer(activations: tf.Tensor4D): CamDetections[] | Promise<CamDetections[]>;
}

/** Options of {@link detectorTarget}. */
export interface DetectorTargetOptions {
  /** A detection counts only when its IoU with the reference box is strictly above this; default 0.5. */
  iouThr?: number;
  /**
   * `sameLabel` (default, the rule): the best-IoU detection among those of the reference's
   * label. `bestIouThenLabel` (pytorch-grad-cam's FasterRCNNBoxScoreTarget): the best-IoU detection of
   * any label, counted only if its label matches — a better-overlapping box of another class hides it.
   */
  match?: 'sameLabel' | 'bestIouThenLabel';
}

/**
 * The target function for a set of reference boxes: detections → Σ over references of
 * (IoU + score) of the matched detection, 0 for a reference with no match above `iouThr`.
 */
export function detectorTarget(
  references: CamReferences,
  opts: DetectorTargetOptions = {},
): (predictions: CamDetections) => number {
  const iouThr = opts.iouThr ?? 0.5;
  const match = opts.match ?? 'sameLabel';
  if (references.boxes.length !== references.labels.length)
    throw new Error(
      `detectorTarget: ${references.boxes.length} reference boxes but ${references.labels.length} labels`,
    );
  return (predictions: CamDetections): number => {
    let total = 0;
    for (let r = 0; r < references.boxes.length; r++) {
      const ref = references.boxes[r]!;
      const label = references.labels[r]!;
      let best = -1,
        bestIou = -1;
      for (let p = 0; p < predictions.boxes.length; p++) {
        if (match === 'sameLabel' && predictions.labels[p] !== label) continue;
        const o = iou(ref, predictions.boxes[p]!);
        if (o > bestIou) {
          bestIou = o;
          best = p;
        }
      }
      if (best < 0 || !(bestIou > iouThr) || predictions.labels[best] !== label) continue;
      total += bestIou + predictions.scores[best]!;
    }
    return total;
  };
}

/**
 * An Ablation-CAM head for a detector: runs `detector.fromLayer` on a batch of (ablated) activations
 * and scores each row's detections with {@link detectorTarget}.
 */
export function detectorHead(
  detector: LayerDetector,
  references: CamReferences,
  opts: DetectorTargetOptions = {},
): CamHead {
  const target = detectorTarget(references, opts);
  return async (activations) => {
    const rows = await detector.fromLayer(activations);
    return rows.map(target);
  };
}

/**
 * A multi-target Ablation-CAM head with one target per reference box (the authors' tool: each
 * predicted box with score ≥ 0.3 explained on its own, `DetBoxScoreTarget` of that one box): row r,
 * target t is {@link detectorTarget} of reference t alone on row r's detections.
 */
export function detectorHeadPerBox(
  detector: LayerDetector,
  references: CamReferences,
  opts: DetectorTargetOptions = {},
): CamMultiHead {
  if (references.boxes.length !== references.labels.length)
    throw new Error(
      `detectorHeadPerBox: ${references.boxes.length} reference boxes but ${references.labels.length} labels`,
    );
  const targets = references.boxes.map((box, i) =>
    detectorTarget({ boxes: [box], labels: [references.labels[i]!] }, opts),
  );
  return async (activations) => {
    const rows = await detector.fromLayer(activations);
    return rows.map((d) => targets.map((f) => f(d)));
  };
}
