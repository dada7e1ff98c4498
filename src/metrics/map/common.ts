/**
 * Shared types and per-class grouping for the detection metrics. Boxes are `[x1, y1, x2, y2]` in
 * pixels (any consistent unit works: AP at an IoU threshold is scale-free).
 */

/** Detections of one image. */
export interface ImageDetections {
  /** `[D][4]` `[x1, y1, x2, y2]`. */
  boxes: number[][];
  /** `[D]` confidences. */
  scores: number[];
  /** `[D]` class ids in [0, numClasses). */
  labels: number[];
}

/** Ground truth of one image. */
export interface ImageGroundTruth {
  /** `[G][4]` `[x1, y1, x2, y2]`. */
  boxes: number[][];
  /** `[G]` class ids in [0, numClasses). */
  labels: number[];
  /**
   * `[G]` boxes that neither count as positives nor make a matching detection a false positive:
   * COCO "iscrowd" in 'coco' mode (IoU measured as intersection / detection area; absorbs any
   * number of detections), VOC "difficult" in 'area' / '11points' mode (plain IoU).
   */
  ignore?: boolean[];
}

/** Options of the detection evaluation. */
export interface EvaluateDetectionsOptions {
  /** Number of classes; class ids are 0..numClasses-1. */
  numClasses: number;
  /** IoU threshold for a match (default 0.5); a match needs IoU >= iouThr. */
  iouThr?: number;
  /**
   * 'coco' (default): pycocotools COCOeval AP with 101-point interpolation (MMDetection's
   * `bbox_mAP_50` at iouThr 0.5). 'area' / '11points': MMDetection v3.3.0 `eval_map` (VOC-style).
   */
  mode?: 'coco' | 'area' | '11points';
  /** Detections kept per image and class, best first (default 100 in 'coco', unlimited otherwise). */
  maxDets?: number;
  /** 'area' / '11points' only: mmdet's `use_legacy_coordinate` (+1 on widths and heights). */
  legacyCoordinate?: boolean;
  /**
   * 'coco' only: the COCO image id of each image. COCOeval concatenates images in ascending id before
   * its stable score sort, so detections with equal scores on different images are taken in id order;
   * without ids, in the order of the arrays (as if the ids were 0, 1, 2, …).
   */
  imageIds?: number[];
}

/** Per-class details of an evaluation. */
export interface ClassEvaluation {
  classId: number;
  /**
   * AP. A class without (non-ignored) ground truth: null in 'coco' (COCOeval's −1, left out of the
   * mean), 0 in 'area' / '11points' (MMDetection's eval_map, also left out of the mean).
   */
  ap: number | null;
  /** Non-ignored ground-truth boxes. */
  numGts: number;
  /** Detections evaluated (after the maxDets cut). */
  numDets: number;
  /** Cumulative recall after each detection, detections by descending score. */
  recall: number[];
  /** Cumulative precision after each detection (before any interpolation). */
  precision: number[];
  /** 'coco' only: the 101 interpolated precisions at recall 0, 0.01, ..., 1 (AP is their mean). */
  precision101?: number[];
}

/** One image's share of one class. */
export interface ClassImage {
  image: number;
  detBoxes: number[][];
  detScores: number[];
  gtBoxes: number[][];
  gtIgnore: boolean[];
}

function checkBoxes(boxes: number[][], where: string): void {
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i];
    if (!b || b.length !== 4 || !b.every(Number.isFinite))
      throw new TypeError(`${where}: boxes[${i}] is not 4 finite numbers [x1, y1, x2, y2]`);
  }
}

function checkLabel(l: number, numClasses: number, where: string): void {
  if (!Number.isInteger(l) || l < 0 || l >= numClasses)
    throw new RangeError(`${where}: label ${l} is not an integer in [0, ${numClasses})`);
}

/**
 * Validates the inputs and splits them by class: `result[c]` lists, in image order, the images
 * that have a detection or a ground-truth box of class c (others never affect that class).
 */
export function groupByClass(
  detections: ImageDetections[],
  groundTruths: ImageGroundTruth[],
  numClasses: number,
): ClassImage[][] {
  if (!(Number.isInteger(numClasses) && numClasses > 0))
    throw new RangeError(`evaluateDetections: numClasses must be a positive integer, got ${numClasses}`);
  if (detections.length !== groundTruths.length) {
    throw new RangeError(
      `evaluateDetections: ${detections.length} images of detections but ${groundTruths.length} of ground truth`,
    );
  }
  const out: ClassImage[][] = Array.from({ length: numClasses }, () => []);
  const last: (ClassImage | undefined)[] = new Array(numClasses);
  const slot = (c: number, img: number): ClassImage => {
    let e = last[c];
    if (!e || e.image !== img) {
      e = { image: img, detBoxes: [], detScores: [], gtBoxes: [], gtIgnore: [] };
      out[c]!.push(e);
      last[c] = e;
    }
    return e;
  };
  for (let img = 0; img < detections.length; img++) {
    const d = detections[img]!,
      g = groundTruths[img]!;
    const wd = `evaluateDetections: detections[${img}]`,
      wg = `evaluateDetections: groundTruths[${img}]`;
    if (d.boxes.length !== d.scores.length || d.boxes.length !== d.labels.length) {
      throw new RangeError(
        `${wd}: ${d.boxes.length} boxes, ${d.scores.length} scores, ${d.labels.length} labels`,
      );
    }
    if (g.boxes.length !== g.labels.length)
      throw new RangeError(`${wg}: ${g.boxes.length} boxes but ${g.labels.length} labels`);
    if (g.ignore && g.ignore.length !== g.boxes.length)
      throw new RangeError(`${wg}: ${g.boxes.length} boxes but ${g.ignore.length} ignore flags`);
    checkBoxes(d.boxes, wd);
    checkBoxes(g.boxes, wg);
    for (let i = 0; i < d.boxes.length; i++) {
      checkLabel(d.labels[i]!, numClasses, wd);
      if (!Number.isFinite(d.scores[i])) throw new RangeError(`${wd}: scores[${i}] is not finite`);
      const e = slot(d.labels[i]!, img);
      e.detBoxes.push(d.boxes[i]!);
      e.detScores.push(d.scores[i]!);
    }
    for (let i = 0; i < g.boxes.length; i++) {
      checkLabel(g.labels[i]!, numClasses, wg);
      const e = slot(g.labels[i]!, img);
      e.gtBoxes.push(g.boxes[i]!);
      e.gtIgnore.push(g.ignore ? Boolean(g.ignore[i]) : false);
    }
  }
  return out;
}

/** Indices 0..n-1 by descending score; equal scores keep their order (a stable sort). */
export function byScoreDesc(scores: ArrayLike<number>): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
}
