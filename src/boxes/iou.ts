/**
 * Box geometry shared by NMS, WBF, the detector and the metrics.
 *
 * Boxes are `[x1, y1, x2, y2]` (top-left and bottom-right corners) in whatever unit the caller uses
 * (pixels of the original image, or normalised [0, 1] coordinates inside WBF).
 */

/** Options for area / IoU computations. */
export interface BoxMathOptions {
  /**
   * VOC / mmdet-v1 "pixel" convention: a box covering pixels x1..x2 inclusive is `x2 - x1 + 1` wide.
   * Off by default: modern torchvision, COCO and MMDetection v3 measure `x2 - x1`.
   */
  pixel?: boolean;
}

/**
 * Area of one box `[x1, y1, x2, y2]`, in squared box units.
 * A flipped or degenerate box (x2 < x1 or y2 < y1) has area 0, never a negative area.
 */
export function boxArea(box: ArrayLike<number>, opts: BoxMathOptions = {}): number {
  const e = opts.pixel ? 1 : 0;
  const w = box[2]! - box[0]! + e;
  const h = box[3]! - box[1]! + e;
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Intersection over union of two boxes `[x1, y1, x2, y2]`, in [0, 1].
 * Boxes that do not overlap with positive width and height (touching, disjoint, zero-area) give 0,
 * never NaN; two identical boxes give 1.
 */
export function iou(a: ArrayLike<number>, b: ArrayLike<number>, opts: BoxMathOptions = {}): number {
  const e = opts.pixel ? 1 : 0;
  const iw = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!) + e;
  if (!(iw > 0)) return 0;
  const ih = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!) + e;
  if (!(ih > 0)) return 0;
  const inter = iw * ih;
  const union = boxArea(a, opts) + boxArea(b, opts) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Pairwise IoU matrix: `result[i][j] = iou(a[i], b[j])`, shape `[a.length][b.length]`.
 * Boxes `[x1, y1, x2, y2]`.
 */
export function pairwiseIou(
  a: ArrayLike<number>[],
  b: ArrayLike<number>[],
  opts: BoxMathOptions = {},
): number[][] {
  const out: number[][] = new Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const row = new Array<number>(b.length);
    for (let j = 0; j < b.length; j++) row[j] = iou(a[i]!, b[j]!, opts);
    out[i] = row;
  }
  return out;
}

/**
 * Returns `[min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]`: the same rectangle with its
 * corners in the `[x1, y1, x2, y2]` order, for inputs whose corners may be swapped.
 */
export function normalizeCorners(box: ArrayLike<number>): [number, number, number, number] {
  const x1 = box[0]!,
    y1 = box[1]!,
    x2 = box[2]!,
    y2 = box[3]!;
  return [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)];
}

/** Throws a TypeError unless `box` is four finite numbers. `what` names the box in the message. */
export function assertBox(box: unknown, what: string): asserts box is number[] {
  if (!Array.isArray(box) && !ArrayBuffer.isView(box))
    throw new TypeError(`${what}: expected [x1, y1, x2, y2], got ${String(box)}`);
  const b = box as ArrayLike<number>;
  if (b.length !== 4)
    throw new TypeError(`${what}: expected 4 coordinates [x1, y1, x2, y2], got ${b.length}`);
  for (let k = 0; k < 4; k++) {
    if (typeof b[k] !== 'number' || !Number.isFinite(b[k]))
      throw new TypeError(`${what}: coordinate ${k} is not a finite number (${b[k]})`);
  }
}

/** Throws a RangeError unless `thr` is a number in [0, 1]. */
export function assertIouThreshold(thr: unknown, where: string): asserts thr is number {
  if (typeof thr !== 'number' || !(thr >= 0 && thr <= 1)) {
    throw new RangeError(`${where}: iouThr must be a number in [0, 1], got ${String(thr)}`);
  }
}
