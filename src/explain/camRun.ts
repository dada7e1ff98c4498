/**
 * Notebook 06's experiment: Ablation-CAM heat maps of the fine-tuned detectors (notebook 04) for
 * two backbones on the same images, and how much of each map falls on the ground truth.
 */
import type { Config } from '../config.js';
import { VINDR_CLASSES } from '../data/labels.js';
import type { BackboneInit } from '../models/backbones.js';
import type { Rng } from '../rng.js';
import { loadDetectionSet, loadDetector, type DetImage } from '../train/detectionRun.js';
import { ablationCam, type CamMap } from './ablationCam.js';
import { detectorHead } from './detectorTarget.js';
import { cutDetectorAt } from './detectorLayers.js';
import { compareLocalisation, localisationScore, type LocalisationComparison, type LocalisationScore } from './localisation.js';

/** One backbone's heat map of one image. */
export interface CamCell {
  init: BackboneInit;
  /** Target score of the unablated detector (0: no detection matched the ground truth). */
  score: number;
  cam: CamMap;
  localisation: LocalisationScore;
  /** The detector's boxes scoring at least 0.3, for drawing. */
  detections: { box: number[]; label: string; score: number }[];
}

export interface CamImage {
  imageId: string;
  split: 'train' | 'test';
  pixels: Float32Array;
  size: number;
  gtBoxes: number[][];
  gtLabels: number[];
  cells: CamCell[];
}

/**
 * Heat maps for `images` (first those of `train`, then `test`) from the first-seed detectors of
 * `inits` at `size` px. The target is Σ (IoU + score) of the detection matching each ground-truth box.
 *
 * @example
 * // Notebook 06's call on two test images (notebook 04 must have written the detectors).
 * const config = makeConfig({ notebook: '06_ablation_cam' });
 * const nb = await startNotebook(config);
 * const test = detectionSplits(config, openVindr(config)).test.filter((im) => im.boxes.length > 0).slice(0, 2);
 * const size = config.detection.inputSizes[0]!;
 * const maps = await camImages(config, test.map((image) => ({ split: 'test' as const, image })), ['bt', 'imagenet'], size, nb.rng);
 * for (const c of maps[0]!.cells) console.log(`${c.init}: target ${c.score.toFixed(2)}, mass on the lesion ${c.localisation.mass.toFixed(2)}`);
 */
export async function camImages(
  config: Config,
  images: { split: 'train' | 'test'; image: DetImage }[],
  inits: BackboneInit[],
  size: number,
  rng: Rng,
  log: (line: string) => void = (l) => console.log(l),
): Promise<CamImage[]> {
  const set = await loadDetectionSet(images.map((x) => x.image), size);
  const out: CamImage[] = images.map((x, i) => ({
    imageId: x.image.imageId, split: x.split, size, pixels: set.images.slice([i, 0, 0, 0], [1, -1, -1, -1]).dataSync() as Float32Array,
    gtBoxes: set.targets[i]!.boxes, gtLabels: set.targets[i]!.labels, cells: [],
  }));
  try {
    for (const init of inits) {
      const { detector, resnet } = loadDetector(config, init, size, rng.fork(init));
      const t0 = performance.now();
      try {
        for (let i = 0; i < out.length; i++) {
          const img = out[i]!;
          const x = set.images.slice([i, 0, 0, 0], [1, -1, -1, -1]);
          const cut = cutDetectorAt(detector, resnet, x, config.cam.targetLayer);
          try {
            const refs = { boxes: img.gtBoxes, labels: img.gtLabels };
            const r = await ablationCam({
              activations: cut.activations, head: detectorHead(cut.detector, refs, { iouThr: config.cam.iouThr }),
              imageSize: [size, size], batchSize: config.cam.batchSize, channelFraction: config.cam.channelFraction,
            });
            const dets = detector.detect(x)[0]!;
            img.cells.push({
              init, score: r.score, cam: r.cam, localisation: localisationScore(r.cam, img.gtBoxes, config.cam.pointingTolerance),
              detections: dets.scores.map((s, k) => ({ box: dets.boxes[k]!, label: VINDR_CLASSES[dets.labels[k]!]!, score: s })).filter((d) => d.score >= 0.3),
            });
          } finally {
            cut.dispose();
            x.dispose();
          }
        }
      } finally {
        for (const v of [...detector.fpn.variables(), ...detector.rpn.variables(), ...detector.roiHeads.variables()]) v.dispose();
        resnet.dispose();
      }
      log(`Ablation-CAM (${init}, ${config.cam.targetLayer}): ${out.length} images in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    }
  } finally {
    set.images.dispose();
  }
  return out;
}

/**
 * The localisation comparison between the first two backbones of `images`' cells, over the images
 * where both detectors found the ground truth (target score > 0), since a heat map explains a
 * detection only when there is one.
 */
export function camComparison(images: readonly CamImage[], rng: Rng): { compared: number; skipped: number; comparison: LocalisationComparison | null } {
  const both = images.filter((im) => im.cells.length >= 2 && im.cells[0]!.score > 0 && im.cells[1]!.score > 0);
  return {
    compared: both.length,
    skipped: images.length - both.length,
    comparison: both.length >= 2 ? compareLocalisation(both.map((im) => im.cells[0]!.localisation), both.map((im) => im.cells[1]!.localisation), rng) : null,
  };
}
