/**
 * From VinDr's reader-level annotations to the fused, re-split training data of notebook 04.
 */
import { fuseReaderBoxes, type FusedImage, type FuseReadersResult, type ReaderImage } from '../boxes/readers.js';
import type { WbfConfig } from '../config.js';
import type { Rng } from '../rng.js';
import { VINDR_NO_FINDING } from './labels.js';
import { iterativeStratification } from './split.js';
import type { VindrImage } from './vindr.js';

/**
 * The fusion input of each image: every reader's boxes, plus a box-free "No finding" entry for each
 * reader who marked nothing, so the number of readers per image is known. Images of unknown size
 * (listed but missing on disk) cannot be normalised and are left out; the loader has reported them.
 */
export function readerImages(images: readonly VindrImage[]): ReaderImage[] {
  return images
    .filter((img) => img.width > 0 && img.height > 0)
    .map((img) => ({
      imageId: img.imageId,
      width: img.width,
      height: img.height,
      annotations: [
        ...img.annotations.map((a) => ({ readerId: a.readerId, classId: a.classId, box: [...a.box] })),
        ...img.noFindingReaders.map((r) => ({ readerId: r, classId: VINDR_NO_FINDING, box: null })),
      ],
    }));
}

/** Fuses every image's reader boxes per class with WBF (each reader one model, weight 1, score 1). */
export function fuseVindr(images: readonly VindrImage[], wbf: Pick<WbfConfig, 'iouThr' | 'confType'>): FuseReadersResult {
  return fuseReaderBoxes(readerImages(images), { iouThr: wbf.iouThr, confType: wbf.confType });
}

/** Fused box totals for a range of IoU thresholds (how much the threshold matters). */
export function fusionSweep(images: readonly VindrImage[], thresholds: readonly number[], confType: WbfConfig['confType'] = 'avg'): { iouThr: number; fused: number }[] {
  const input = readerImages(images);
  return thresholds.map((iouThr) => ({
    iouThr,
    fused: fuseReaderBoxes(input, { iouThr, confType }).images.reduce((s, im) => s + im.boxes.length, 0),
  }));
}

/** Class-presence rows for stratification: 14 finding columns + "No finding" (no fused box). */
export function presenceMatrix(images: readonly FusedImage[]): number[][] {
  return images.map((img) => {
    const row = new Array<number>(VINDR_NO_FINDING + 1).fill(0);
    for (const c of img.labels) row[c] = 1;
    if (img.boxes.length === 0) row[VINDR_NO_FINDING] = 1;
    return row;
  });
}

export interface VindrSplit {
  train: string[];
  val: string[];
  test: string[];
}

/**
 * Re-splits VinDr's training set into train / validation / test by iterative stratification on
 * class presence (the paper re-split because VinDr's own test set was labelled by consensus, a
 * different process). Images are sorted by id first, so the split depends only on the ids and the
 * seed, not on file order.
 */
export function splitVindr(images: readonly FusedImage[], fractions: readonly [number, number, number], rng: Rng): VindrSplit {
  const sorted = [...images].sort((a, b) => (a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0));
  const folds = iterativeStratification(presenceMatrix(sorted), [...fractions], rng);
  const ids = (f: number[]): string[] => f.map((i) => sorted[i]!.imageId);
  return { train: ids(folds[0]!), val: ids(folds[1]!), test: ids(folds[2]!) };
}

/** One image and class with its readers' boxes and the fused result, for a figure. */
export interface FusionExample {
  imageId: string;
  path: string | null;
  width: number;
  height: number;
  classId: number;
  readerBoxes: { readerId: string; box: number[] }[];
  fusedBoxes: number[][];
}

/**
 * The image and class where the most distinct readers drew boxes (ties: more boxes, then the
 * smaller image id), so the example shows disagreement WBF has to resolve.
 */
export function fusionExample(images: readonly VindrImage[], fused: readonly FusedImage[]): FusionExample | null {
  const fusedById = new Map(fused.map((f) => [f.imageId, f]));
  let best: { score: [number, number]; ex: FusionExample } | null = null;
  for (const img of [...images].sort((a, b) => (a.imageId < b.imageId ? -1 : 1))) {
    const f = fusedById.get(img.imageId);
    if (!f) continue;
    for (const classId of new Set(img.annotations.map((a) => a.classId))) {
      const anns = img.annotations.filter((a) => a.classId === classId);
      const score: [number, number] = [new Set(anns.map((a) => a.readerId)).size, anns.length];
      if (best && (score[0] < best.score[0] || (score[0] === best.score[0] && score[1] <= best.score[1]))) continue;
      best = {
        score,
        ex: {
          imageId: img.imageId,
          path: img.path,
          width: img.width,
          height: img.height,
          classId,
          readerBoxes: anns.map((a) => ({ readerId: a.readerId, box: [...a.box] })),
          fusedBoxes: f.boxes.filter((_, k) => f.labels[k] === classId),
        },
      };
    }
  }
  return best?.ex ?? null;
}
