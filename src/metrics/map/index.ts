/**
 * Mean average precision of a detector (the paper reports mAP at IoU 0.5, "mAP50").
 * Boxes are `[x1, y1, x2, y2]` in pixels.
 */
import { cocoClassAp } from './coco.js';
import {
  groupByClass,
  type ClassEvaluation,
  type EvaluateDetectionsOptions,
  type ImageDetections,
  type ImageGroundTruth,
} from './common.js';
import { vocClassAp } from './voc.js';

export type {
  ClassEvaluation,
  EvaluateDetectionsOptions,
  ImageDetections,
  ImageGroundTruth,
} from './common.js';

/** Full result of {@link evaluateDetectionsDetailed}. */
export interface DetectionEvaluation {
  /** Mean AP over classes that have ground truth; when none has: NaN in 'coco' (COCOeval's −1), 0 in 'area' / '11points' (eval_map). */
  map: number;
  /** AP per class id; a class without (non-ignored) ground truth: null in 'coco', 0 in 'area' / '11points' (see ClassEvaluation.ap). */
  perClass: (number | null)[];
  /** Per-class curves and counts. */
  classes: ClassEvaluation[];
}

/**
 * Like {@link evaluateDetections}, plus each class's recall/precision curve and counts.
 */
export function evaluateDetectionsDetailed(
  detections: ImageDetections[],
  groundTruths: ImageGroundTruth[],
  opts: EvaluateDetectionsOptions,
): DetectionEvaluation {
  const mode = opts.mode ?? 'coco';
  if (mode !== 'coco' && mode !== 'area' && mode !== '11points')
    throw new RangeError(`evaluateDetections: unknown mode '${String(mode)}'`);
  const iouThr = opts.iouThr ?? 0.5;
  if (!(iouThr >= 0 && iouThr <= 1))
    throw new RangeError(`evaluateDetections: iouThr must be in [0, 1], got ${iouThr}`);
  const maxDets = opts.maxDets ?? (mode === 'coco' ? 100 : Infinity);
  if (!(maxDets === Infinity || (Number.isInteger(maxDets) && maxDets > 0)))
    throw new RangeError(`evaluateDetections: maxDets must be a positive integer, got ${maxDets}`);
  let [dets, gts] = [detections, groundTruths];
  if (opts.imageIds) {
    const ids = opts.imageIds;
    if (ids.length !== detections.length)
      throw new RangeError(`evaluateDetections: ${ids.length} image ids for ${detections.length} images`);
    if (new Set(ids).size !== ids.length)
      throw new RangeError('evaluateDetections: image ids must be unique');
    // COCOeval's params.imgIds are sorted: images enter accumulate in ascending id.
    const order = ids.map((_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
    [dets, gts] = [order.map((i) => detections[i]!), order.map((i) => groundTruths[i]!)];
  }
  const byClass = groupByClass(dets, gts, opts.numClasses);
  const classes = byClass.map((images, c) =>
    mode === 'coco'
      ? cocoClassAp(c, images, iouThr, maxDets)
      : vocClassAp(c, images, iouThr, maxDets, mode, Boolean(opts.legacyCoordinate)),
  );
  const perClass = classes.map((c) => c.ap);
  let map = NaN;
  if (mode === 'coco') {
    // pycocotools averages all 101 x K interpolated precisions at once
    let s = 0,
      n = 0;
    for (const c of classes)
      if (c.precision101)
        for (const v of c.precision101) {
          s += v;
          n++;
        }
    if (n > 0) map = s / n;
  } else {
    // mmdet averages the float32 APs of the classes with GT in float32, and gives 0.0 when there is none
    let s = 0,
      n = 0;
    for (const c of classes)
      if (c.numGts > 0) {
        s = Math.fround(s + c.ap!);
        n++;
      }
    map = n > 0 ? Math.fround(s / n) : 0;
  }
  return { map, perClass, classes };
}

/**
 * Mean average precision at one IoU threshold.
 *
 * - mode 'coco' (default): pycocotools COCOeval bbox AP with 101-point interpolation at
 *   `iouThr` (default 0.5; MMDetection's `bbox_mAP_50`), top `maxDets` (default 100) detections per
 *   image and class, `ignore` = crowd boxes. Ties across images: lower image index first (COCO's
 *   ascending image id), then input order.
 * - mode 'area' / '11points': MMDetection v3.3.0 `eval_map` (VOC2010+ all-point area / VOC2007
 *   11-point), `ignore` = "difficult" boxes, float32 results like mmdet.
 *
 * A match needs IoU >= iouThr. Classes without (non-ignored) ground truth get null and are left
 * out of the mean; `map` is NaN if no class has ground truth (COCO reports -1, mmdet 0). No
 * detections at all gives AP 0 for every class with ground truth (pycocotools would raise).
 *
 * @param detections one entry per image: `boxes [D][4]` `[x1, y1, x2, y2]`, `scores [D]`, `labels [D]`.
 * @param groundTruths one entry per image (same order): `boxes [G][4]`, `labels [G]`, optional `ignore [G]`.
 * @returns `map` and `perClass` (length numClasses).
 *
 * @example
 * // One image with one nodule (class 0): found with IoU 0.86, plus a weaker false positive elsewhere.
 * const { map } = evaluateDetections(
 *   [{ boxes: [[10, 10, 50, 50], [60, 60, 90, 90]], scores: [0.9, 0.4], labels: [0, 0] }],
 *   [{ boxes: [[12, 12, 52, 50]], labels: [0] }],
 *   { numClasses: 1 },
 * );
 * // map ≈ 1 (the mean of 101 ones): the true positive ranks first, so precision is 1 up to full recall
 */
export function evaluateDetections(
  detections: ImageDetections[],
  groundTruths: ImageGroundTruth[],
  opts: EvaluateDetectionsOptions,
): { map: number; perClass: (number | null)[] } {
  const { map, perClass } = evaluateDetectionsDetailed(detections, groundTruths, opts);
  return { map, perClass };
}
