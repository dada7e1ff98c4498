/**
 * Fusing the radiologists' boxes of VinDr-CXR: each image was read by 3 readers, and each reader is
 * treated as one WBF "model" (weight 1, score 1), per image and per class.
 *
 * Boxes are `[x1, y1, x2, y2]` in pixels of the original image.
 */
import { weightedBoxesFusion, type ConfType } from './wbf.js';

/** One reader's finding on one image. */
export interface ReaderAnnotation {
  /** Radiologist id (VinDr `rad_id`, e.g. "R9"). */
  readerId: string;
  /** VinDr class id 0–13, or 14 = "No finding". */
  classId: number;
  /** `[x1, y1, x2, y2]` in pixels; null for "No finding" rows, which carry no box. */
  box: number[] | null;
}

/** All readers' annotations of one image, with its TRUE pixel size. */
export interface ReaderImage {
  imageId: string;
  /** Image width in pixels (DICOM Columns), used to normalise x. */
  width: number;
  /** Image height in pixels (DICOM Rows), used to normalise y. */
  height: number;
  annotations: ReaderAnnotation[];
}

/** Fused boxes of one image. */
export interface FusedImage {
  imageId: string;
  width: number;
  height: number;
  /** `[K][4]` fused `[x1, y1, x2, y2]` in pixels; empty for an image with no finding boxes. */
  boxes: number[][];
  /** `[K]` fused confidence: with weight 1 and score 1, the fraction of readers who drew the box ('avg'). */
  scores: number[];
  /** `[K]` class ids 0–13. */
  labels: number[];
  /** Number of distinct readers of this image (including those who reported "No finding"). */
  numReaders: number;
}

/** Options of {@link fuseReaderBoxes}. */
export interface FuseReadersOptions {
  /** WBF IoU threshold (strict `>`), default 0.55 (ensemble_boxes' default). */
  iouThr?: number;
  /** WBF confidence rule, default 'avg'. */
  confType?: ConfType;
  /** Class id that means "No finding" and never carries a box (default 14). */
  noFindingClassId?: number;
}

/** A repaired or dropped input, with the image it came from. */
export interface FusionWarning {
  imageId: string;
  message: string;
}

/** Result of {@link fuseReaderBoxes}. */
export interface FuseReadersResult {
  /** One entry per input image, in input order. */
  images: FusedImage[];
  /** Every repaired box (swapped corners, outside the image), dropped box (zero area, missing). */
  warnings: FusionWarning[];
}

/**
 * Fuses each image's reader boxes with Weighted Boxes Fusion, per class, each reader one model.
 *
 * Coordinates are normalised by the image's true `width`/`height` (not by the largest coordinate,
 * which would shift every box of an image whose findings do not reach its border) and mapped back
 * to pixels. "No finding" rows add a reader but no box, so normal images come out box-free. Work is
 * per image, so the cost is linear in the number of images.
 *
 * @param images per-image reader annotations with pixel boxes `[x1, y1, x2, y2]`.
 * @returns fused pixel boxes per image, plus warnings for every input box that was repaired or dropped.
 */
export function fuseReaderBoxes(images: ReaderImage[], opts: FuseReadersOptions = {}): FuseReadersResult {
  const noFinding = opts.noFindingClassId ?? 14;
  const warnings: FusionWarning[] = [];
  const out: FusedImage[] = new Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const img = images[i]!;
    const { imageId, width, height } = img;
    if (!(width > 0 && height > 0 && Number.isFinite(width) && Number.isFinite(height))) {
      throw new RangeError(`fuseReaderBoxes: image ${imageId} has invalid size ${width}x${height}`);
    }
    // Readers become models in the order they first appear, so results do not depend on ids.
    const model = new Map<string, number>();
    const boxesList: number[][][] = [],
      scoresList: number[][] = [],
      labelsList: number[][] = [];
    for (let a = 0; a < img.annotations.length; a++) {
      const ann = img.annotations[a]!;
      let m = model.get(ann.readerId);
      if (m === undefined) {
        m = model.size;
        model.set(ann.readerId, m);
        boxesList.push([]);
        scoresList.push([]);
        labelsList.push([]);
      }
      if (ann.classId === noFinding) continue;
      if (!ann.box) {
        warnings.push({ imageId, message: `reader ${ann.readerId} class ${ann.classId}: no box, skipped` });
        continue;
      }
      const b = ann.box;
      boxesList[m]!.push([b[0]! / width, b[1]! / height, b[2]! / width, b[3]! / height]);
      scoresList[m]!.push(1);
      labelsList[m]!.push(ann.classId);
    }
    const readerIds = [...model.keys()];
    const fused = weightedBoxesFusion(boxesList, scoresList, labelsList, {
      iouThr: opts.iouThr ?? 0.55,
      confType: opts.confType ?? 'avg',
      // WBF numbers models and boxes within a model; name the reader instead.
      onWarning: (message) =>
        warnings.push({
          imageId,
          message: message.replace(
            /^model (\d+) box (\d+)/,
            (_, t: string, j: string) => `reader ${readerIds[Number(t)]} finding box ${j}`,
          ),
        }),
    });
    out[i] = {
      imageId,
      width,
      height,
      boxes: fused.boxes.map((b) => [b[0]! * width, b[1]! * height, b[2]! * width, b[3]! * height]),
      scores: fused.scores,
      labels: fused.labels,
      numReaders: model.size,
    };
  }
  return { images: out, warnings };
}
