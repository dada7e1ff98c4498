/**
 * Notebook 06's experiment: Ablation-CAM heat maps of the fine-tuned detectors (notebook 04) for
 * two backbones on the same images, one map per correctly predicted box (the paper's Fig. 5: the
 * authors' tool explains each predicted box with score ≥ 0.3 on its own), at each configured layer,
 * and how much of each map falls on the ground-truth box that prediction found.
 */
import type * as tf from '@tensorflow/tfjs';
import { iou } from '../boxes/iou.js';
import type { CamConfig, CamLayer, Config } from '../config.js';
import { VINDR_CLASSES } from '../data/labels.js';
import type { ImageDetections } from '../metrics/map/common.js';
import type { BackboneInit } from '../models/backbones.js';
import type { FasterRcnn } from '../models/fasterRcnn/detector.js';
import type { ResNet } from '../models/resnet.js';
import type { Rng } from '../rng.js';
import { loadDetectionSet, loadDetector, type DetImage } from '../train/detectionRun.js';
import { ablationCamTargets, type CamMap } from './ablationCam.js';
import { detectorHeadPerBox } from './detectorTarget.js';
import { cutDetectorAt } from './detectorLayers.js';
import {
  cropCam,
  localisationScore,
  pairLocalisation,
  pointingChance,
  summariseLocalisation,
  type BoxLocalisation,
  type LocalisationSummary,
  type PairedComparison,
} from './localisation.js';

export { cropCam } from './localisation.js';

/** A predicted box that found a ground-truth box: same class, IoU above the threshold. */
export interface CorrectBox {
  /** `[x1, y1, x2, y2]` input pixels, the detection's class id and score. */
  box: number[];
  label: number;
  score: number;
  /** The ground-truth box it found (index into the image's boxes) and their IoU. */
  gtIndex: number;
  iou: number;
}

/**
 * The predictions the authors' tool explains, kept when they are correct: the `topK` highest-scoring
 * detections with score ≥ `scoreThr`, each matched to the ground-truth box of its class with the highest
 * IoU (> `iouThr`). A ground-truth box found by several predictions keeps the highest-scoring one, so
 * each ground-truth box has at most one map per backbone and layer (and two backbones pair on it).
 */
export function correctBoxes(
  dets: ImageDetections,
  gt: { boxes: number[][]; labels: number[] },
  opts: { scoreThr: number; topK: number; iouThr: number },
): CorrectBox[] {
  const order = dets.scores
    .map((s, i) => i)
    .filter((i) => dets.scores[i]! >= opts.scoreThr)
    .sort((a, b) => dets.scores[b]! - dets.scores[a]! || a - b)
    .slice(0, opts.topK);
  const byGt = new Map<number, CorrectBox>();
  for (const i of order) {
    let best = -1,
      bestIou = -1;
    gt.boxes.forEach((g, j) => {
      if (gt.labels[j] !== dets.labels[i]) return;
      const o = iou(dets.boxes[i]!, g);
      if (o > bestIou) {
        bestIou = o;
        best = j;
      }
    });
    if (best < 0 || !(bestIou > opts.iouThr) || byGt.has(best)) continue;
    byGt.set(best, {
      box: dets.boxes[i]!,
      label: dets.labels[i]!,
      score: dets.scores[i]!,
      gtIndex: best,
      iou: bestIou,
    });
  }
  return [...byGt.values()];
}

/** One correctly predicted box's heat map at one layer. */
export interface BoxCam extends CorrectBox {
  layer: CamLayer;
  /** The box's target (IoU + score of its best match) on the unablated activations. */
  target: number;
  /** The map over the whole image, in [0, 1]. */
  cam: CamMap;
  /** Scored against the ground-truth box `gtIndex`. */
  localisation: BoxLocalisation;
}

/** One backbone's maps of one image. */
export interface CamCell {
  init: BackboneInit;
  /** The detections explained (score ≥ scoreThr, top-k), for drawing. */
  detections: { box: number[]; label: string; score: number }[];
  /** One map per correctly predicted box and layer (empty: no correct detection). */
  boxes: BoxCam[];
}

export interface CamImage {
  imageId: string;
  split: 'train' | 'test';
  pixels: Float32Array;
  size: number;
  /** The resized image's own `[height, width]` at the top left of the `size`×`size` input (the rest is padding). */
  imageHw: [number, number];
  gtBoxes: number[][];
  gtLabels: number[];
  cells: CamCell[];
}

/**
 * One image's cell (see {@link camImages}): `x` is `[1, S, S, 1]` with the resized image at the top left
 * and zeros right of and below it (keep-ratio resize + pad); `imageHw` is the resized image's own
 * `[height, width]`. Detections are clipped to it as in notebook 04's evaluation, the cut detector
 * sees the same sizes, and each map is scored on the image only (the padding is no place a finding can
 * be), against the chance level of the image's own area.
 */
export async function explainImage(
  detector: FasterRcnn,
  resnet: ResNet,
  x: tf.Tensor4D,
  imageHw: [number, number],
  gt: { imageId: string; gtBoxes: number[][]; gtLabels: number[] },
  init: BackboneInit,
  cam: CamConfig,
): Promise<{ cell: CamCell; sweeps: number }> {
  const [, size, sizeW] = x.shape;
  const [h, w] = imageHw;
  const dets = detector.detect(x, { imageSizesHw: [imageHw] })[0]!;
  const shown = dets.scores
    .map((s, k) => k)
    .filter((k) => dets.scores[k]! >= cam.scoreThr)
    .sort((a, b) => dets.scores[b]! - dets.scores[a]!)
    .slice(0, cam.topK);
  const correct = correctBoxes(dets, { boxes: gt.gtBoxes, labels: gt.gtLabels }, cam);
  const cell: CamCell = {
    init,
    detections: shown.map((k) => ({
      box: dets.boxes[k]!,
      label: VINDR_CLASSES[dets.labels[k]!]!,
      score: dets.scores[k]!,
    })),
    boxes: [],
  };
  let sweeps = 0;
  if (correct.length === 0) return { cell, sweeps };
  for (const layer of cam.layers) {
    const cut = cutDetectorAt(detector, resnet, x, layer, imageHw);
    try {
      const results = await ablationCamTargets({
        activations: cut.activations,
        targets: correct.length,
        head: detectorHeadPerBox(
          cut.detector,
          { boxes: correct.map((c) => c.box), labels: correct.map((c) => c.label) },
          { iouThr: cam.iouThr },
        ),
        imageSize: [size, sizeW],
        batchSize: cam.batchSize,
        channelFraction: cam.channelFraction,
      });
      sweeps++;
      results.forEach((r, t) => {
        const c = correct[t]!;
        const box = gt.gtBoxes[c.gtIndex]!;
        cell.boxes.push({
          ...c,
          layer,
          target: r.score,
          cam: r.cam,
          localisation: {
            imageId: gt.imageId,
            gtIndex: c.gtIndex,
            ...localisationScore(cropCam(r.cam, h, w), [box], cam.pointingTolerance),
            pointChance: pointingChance(w, h, box, cam.pointingTolerance),
          },
        });
      });
    } finally {
      cut.dispose();
    }
  }
  return { cell, sweeps };
}

/**
 * Heat maps for `images` from the first-seed detectors of `inits` at `size` px: for every correctly
 * predicted box ({@link correctBoxes}), one map per layer of `config.cam.layers`. An image's boxes
 * share one ablation sweep per layer (one target per box).
 *
 * @example
 * // Notebook 06's call on two test images (notebook 04 must have written the detectors).
 * const config = makeConfig({ notebook: '06_ablation_cam' });
 * const nb = await startNotebook(config);
 * const test = detectionSplits(config, await openVindr(config)).test.filter((im) => im.boxes.length > 0).slice(0, 2);
 * const size = config.detection.inputSizes[0]!;
 * const maps = await camImages(config, test.map((image) => ({ split: 'test' as const, image })), ['bt', 'imagenet'], size, nb.rng);
 * for (const c of maps[0]!.cells) console.log(`${c.init}: ${c.boxes.length} correctly found boxes explained`);
 */
export async function camImages(
  config: Config,
  images: { split: 'train' | 'test'; image: DetImage }[],
  inits: BackboneInit[],
  size: number,
  rng: Rng,
  log: (line: string) => void = (l) => console.log(l),
): Promise<CamImage[]> {
  const { cam } = config;
  const set = await loadDetectionSet(
    images.map((x) => x.image),
    size,
  );
  const out: CamImage[] = images.map((x, i) => ({
    imageId: x.image.imageId,
    split: x.split,
    size,
    pixels: set.images.slice([i, 0, 0, 0], [1, -1, -1, -1]).dataSync() as Float32Array,
    imageHw: set.sizesHw[i]!,
    gtBoxes: set.targets[i]!.boxes,
    gtLabels: set.targets[i]!.labels,
    cells: [],
  }));
  try {
    for (const init of inits) {
      const { detector, resnet } = loadDetector(config, init, size, rng.fork(init));
      const t0 = performance.now();
      let sweeps = 0,
        maps = 0;
      try {
        for (let i = 0; i < out.length; i++) {
          const img = out[i]!;
          const x = set.images.slice([i, 0, 0, 0], [1, -1, -1, -1]);
          try {
            const r = await explainImage(detector, resnet, x, img.imageHw, img, init, cam);
            sweeps += r.sweeps;
            maps += r.cell.boxes.length;
            img.cells.push(r.cell);
          } finally {
            x.dispose();
          }
        }
      } finally {
        for (const v of [
          ...detector.fpn.variables(),
          ...detector.rpn.variables(),
          ...detector.roiHeads.variables(),
        ])
          v.dispose();
        resnet.dispose();
      }
      log(
        `Ablation-CAM (${init}, ${cam.layers.join(' + ')}): ${out.length} images, ${maps} per-box maps from ${sweeps} sweeps in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
      );
    }
  } finally {
    set.images.dispose();
  }
  return out;
}

/** One layer's localisation numbers: each backbone on its own against chance, and the two paired by box. */
export interface LayerLocalisation {
  layer: CamLayer;
  /** Images scored and their ground-truth boxes (the denominators of "found"). */
  images: number;
  gtBoxes: number;
  /** Per backbone (in the images' cell order): the per-box summary, null when it found no box. */
  byInit: { init: BackboneInit; found: number; summary: LocalisationSummary | null }[];
  /** The first two backbones on the ground-truth boxes both found; null with fewer than two such boxes. */
  paired: { n: number; mass: PairedComparison; hit: PairedComparison } | null;
}

/** The localisation numbers of `images` (per box, per layer), for the table and the results file. */
export function camLocalisation(
  images: readonly CamImage[],
  layers: readonly CamLayer[],
  rng: Rng,
): LayerLocalisation[] {
  const gtTotal = images.reduce((s, im) => s + im.gtBoxes.length, 0);
  const inits = images[0]?.cells.map((c) => c.init) ?? [];
  return layers.map((layer) => {
    const per = inits.map((init, k) =>
      images.flatMap((im) => im.cells[k]!.boxes.filter((b) => b.layer === layer).map((b) => b.localisation)),
    );
    return {
      layer,
      images: images.length,
      gtBoxes: gtTotal,
      byInit: inits.map((init, k) => ({
        init,
        found: per[k]!.length,
        summary: summariseLocalisation(per[k]!),
      })),
      paired: per.length >= 2 ? pairLocalisation(per[0]!, per[1]!, rng.fork(layer)) : null,
    };
  });
}
