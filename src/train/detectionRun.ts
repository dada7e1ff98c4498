/**
 * Phase two of the paper as notebook 04 runs it: Faster R-CNN + FPN on each pretrained backbone,
 * fine-tuned on the fused VinDr boxes, mAP@0.5 on validation after every epoch and on test at the
 * end. Every run checkpoints after each epoch and every finished run is saved at once, so an
 * interrupted notebook resumes at the last finished epoch.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { momentumOptimizer } from '../backend/index.js';
import { repoRoot, type Config } from '../config.js';
import { fusedSplitPaths, readFusedCsv } from '../data/annotations.js';
import { DataCache, dataCacheFor, dataFingerprint, folderFingerprint } from '../data/dataCache.js';
import { ImageCache, IN_MEMORY_BYTES } from '../data/imageCache.js';
import { readImage } from '../data/images.js';
import { keepRatioInput } from '../data/keepRatio.js';
import { IssueLog } from '../data/issues.js';
import { VINDR_NO_FINDING } from '../data/labels.js';
import type { VindrDataset } from '../data/vindr.js';
import { writeJsonAtomic } from '../io.js';
import { bootstrapCi } from '../metrics/ci.js';
import { evaluateDetections } from '../metrics/map/index.js';
import { loadBackbone, pretrainFingerprint, type BackboneInit } from '../models/backbones.js';
import type { FasterRcnn } from '../models/fasterRcnn/detector.js';
import { detectorOnResnet, detectorTensors, disposeDetector } from '../models/detectorBuild.js';

export { resnetBackbone } from '../models/detectorBuild.js';
import type { Detections } from '../models/fasterRcnn/roiHeads.js';
import { detectionTrainStep, warmupCosineLr } from '../models/fasterRcnn/train.js';
import type { ResNet } from '../models/resnet.js';
import { assignTensors, readCheckpoint, saveCheckpoint, type RawTensor } from '../models/weights.js';
import type { Rng } from '../rng.js';
import { trainLoop, type TrainTask } from './loop.js';
import { tensorRows } from '../data/tensorRows.js';

/** One image of a detection split: pixels on disk and fused boxes in original pixels. */
export interface DetImage {
  imageId: string;
  path: string;
  width: number;
  height: number;
  boxes: number[][];
  labels: number[];
}

/** The train / val / test images notebook 02 wrote, joined with the image files. */
export function detectionSplits(
  config: Config,
  vindr: VindrDataset,
): Record<'train' | 'val' | 'test', DetImage[]> {
  const paths = new Map(vindr.images.filter((im) => im.path).map((im) => [im.imageId, im.path!]));
  const out = {} as Record<'train' | 'val' | 'test', DetImage[]>;
  for (const split of ['train', 'val', 'test'] as const) {
    const csv = fusedSplitPaths(config.paths.results, split).csv;
    if (!existsSync(csv))
      throw new Error(`missing ${csv}: run notebook 02_wbf first (profile ${config.profile})`);
    const log = new IssueLog();
    const fused = readFusedCsv(csv, log);
    if (log.issues.length)
      throw new Error(
        `${csv}: ${log.issues.length} unreadable row(s), e.g. line ${log.issues[0]!.line}: ${log.issues[0]!.reason}`,
      );
    out[split] = fused.map((f) => {
      const path = paths.get(f.imageId);
      if (!path)
        throw new Error(
          `${csv}: image ${f.imageId} has no usable file in ${vindr.dir} (missing or excluded by the image check; see notebook 01's rejected-input report): rerun notebook 02_wbf to split the images as they are now`,
        );
      return { imageId: f.imageId, path, width: f.width, height: f.height, boxes: f.boxes, labels: f.labels };
    });
  }
  return out;
}

/**
 * A split's images as the detector sees them, after MMDetection's `Resize(img_scale=(size, size),
 * keep_ratio=True)` + `Pad(size_divisor=32)` (the authors' pipeline): each image scaled by
 * `size / max(width, height)` (its aspect ratio kept), placed at the top left of a `size`×`size`
 * zero canvas (the detector pads that further to a multiple of 32), boxes scaled with it.
 * Detections are mapped back to the original image with `scales` and scored against `original`,
 * as MMDetection does (`rescale=True`). The pixels come from `batch`: held in memory for small
 * splits, read from the on-disk image cache for large ones (`openDetectionSet`).
 */
export interface DetSet {
  /** Images in the split. */
  count: number;
  /** Side of the square canvas, pixels. */
  size: number;
  /** `[n, size, size, 1]` of the images at `indices`: each resized image top left, zeros right of and below it. */
  batch(indices: readonly number[]): tf.Tensor4D;
  /** Boxes in input (resized) pixels: the training targets. */
  targets: { boxes: number[][]; labels: number[] }[];
  ids: string[];
  /** Each image's resized, unpadded `[height, width]` (proposals and detections are clipped to it). */
  sizesHw: [number, number][];
  /** Each image's `[w_scale, h_scale]` from original to input pixels. */
  scales: [number, number][];
  /** Boxes in original pixels (what mAP is scored against). */
  original: { boxes: number[][]; labels: number[] }[];
  /** Frees the pixels (tensor or file handle). */
  dispose(): void;
}

/** A split held in memory as one tensor (small sets: notebooks' examples, tests, smoke and demo). */
export interface DetBatchSet extends DetSet {
  /** `[N, size, size, 1]`: each resized image top left, zeros right of and below it. */
  images: tf.Tensor4D;
}

/** The in-memory set around `images` (the other fields as given); `batch` gathers from the tensor. */
export function inMemoryDetSet(
  images: tf.Tensor4D,
  fields: Pick<DetSet, 'targets' | 'ids' | 'sizesHw' | 'scales' | 'original'>,
): DetBatchSet {
  return {
    ...fields,
    images,
    count: images.shape[0],
    size: images.shape[1],
    batch: (indices) => tensorRows(images, indices),
    dispose: () => images.dispose(),
  };
}

export { keepRatioSize } from '../data/keepRatio.js';

/** Boxes `[x1, y1, x2, y2]` scaled by `[wScale, hScale]` (or divided by them with `inverse`). */
export function scaleBoxes(
  boxes: readonly number[][],
  [ws, hs]: readonly [number, number],
  inverse = false,
): number[][] {
  const [fx, fy] = inverse ? [1 / ws, 1 / hs] : [ws, hs];
  return boxes.map((b) => [b[0]! * fx, b[1]! * fy, b[2]! * fx, b[3]! * fy]);
}

/**
 * One image as the detector's input: resized keeping its aspect ratio so that it fits `size`×`size`, at the
 * top left of a zero canvas (`keepRatioInput`, which the web page uses too); `meta` is `[source width,
 * source height, resized width, resized height]`.
 */
export async function keepRatioPixels(
  path: string,
  size: number,
): Promise<{ pixels: Float32Array; meta: number[] }> {
  const { pixels, meta } = keepRatioInput(await readImage(path), size);
  return { pixels, meta };
}

/** The fields of a set other than its pixels, from each image's `keepRatioPixels` meta. */
function setFields(
  images: readonly DetImage[],
  meta: readonly number[][],
): Pick<DetSet, 'targets' | 'ids' | 'sizesHw' | 'scales' | 'original'> {
  // The annotation's size is the image's (notebook 02 checks it); the factors come from the pixels read.
  const scales = meta.map(([sw, sh, w, h]): [number, number] => [w! / sw!, h! / sh!]);
  return {
    targets: images.map((im, i) => ({ boxes: scaleBoxes(im.boxes, scales[i]!), labels: [...im.labels] })),
    ids: images.map((im) => im.imageId),
    sizesHw: meta.map(([, , w, h]): [number, number] => [h!, w!]),
    scales,
    original: images.map((im) => ({ boxes: im.boxes.map((b) => [...b]), labels: [...im.labels] })),
  };
}

/** Reads and resizes (keeping the aspect ratio) every image of a split into one tensor (small sets; large ones: `openDetectionSet`). */
export async function loadDetectionSet(images: readonly DetImage[], size: number): Promise<DetBatchSet> {
  const buf = new Float32Array(images.length * size * size);
  const meta: number[][] = [];
  for (let i = 0; i < images.length; i++) {
    const one = await keepRatioPixels(images[i]!.path, size);
    buf.set(one.pixels, i * size * size);
    meta.push(one.meta);
  }
  return inMemoryDetSet(tf.tensor4d(buf, [images.length, size, size, 1]), setFields(images, meta));
}

/** The decoder of detection inputs in the image cache (bump the name when `keepRatioPixels` changes). */
const KEEP_RATIO_DECODER = { name: 'keep-ratio-top-left-v1', decode: keepRatioPixels };

/**
 * A split for training or scoring: in memory (`loadDetectionSet`) when its float32 pixels fit in
 * `inMemoryBytes` (default `IN_MEMORY_BYTES`, 2 GiB; `config.data.inMemoryBytes`), otherwise decoded once into the on-disk image cache (`data/imageCache.ts`:
 * keyed by the files and their content (`folderFingerprint`), the size and this decoder; resumable, with
 * progress and ETA) and read batch by batch, so that memory holds a few batches, not the split. `stream`
 * forces either path. Both give the same pixels up to the cache's 16-bit quantisation (exactly, for
 * 8-bit sources at their own size).
 */
export async function openDetectionSet(
  images: readonly DetImage[],
  size: number,
  opts: {
    stream?: boolean;
    cacheDir?: string;
    label?: string;
    inMemoryBytes?: number;
    /** The files' content fingerprint (`folderFingerprint`; default: computed here, reading every file). */
    fingerprint?: string;
  } = {},
): Promise<DetSet> {
  if (!(opts.stream ?? images.length * size * size * 4 > (opts.inMemoryBytes ?? IN_MEMORY_BYTES)))
    return loadDetectionSet(images, size);
  const paths = images.map((im) => im.path);
  const log = new IssueLog();
  const cache = await ImageCache.open(paths, {
    dir: opts.cacheDir ?? join(repoRoot(), '.cache', 'images'),
    size,
    fingerprint: opts.fingerprint ?? folderFingerprint(dirname(paths[0] ?? '.'), paths, new DataCache(null)),
    decoder: KEEP_RATIO_DECODER,
    log,
    label: opts.label ?? `VinDr images`,
  });
  if (cache.count !== images.length) {
    cache.close();
    const first = log.issues[0];
    throw new Error(
      `detection: ${images.length - cache.count} of ${images.length} images could not be read${first ? `, e.g. ${first.file}: ${first.reason}` : ''}; rerun notebook 01 and 02_wbf to exclude them`,
    );
  }
  return {
    ...setFields(images, cache.meta),
    count: cache.count,
    size,
    batch: (indices) => cache.batch([...indices]),
    dispose: () => cache.close(),
  };
}

/**
 * Horizontal flip of one resized image inside its own width (MMDetection flips before padding):
 * columns `0..w-1` reversed, the padding stays right; boxes `x -> w - x`.
 */
export function flipImage(img: tf.Tensor3D, width: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w, c] = img.shape;
    const inside = tf.reverse(tf.slice(img, [0, 0, 0], [h, width, c]), 1);
    return width === w
      ? (inside as tf.Tensor3D)
      : (tf.concat([inside, tf.slice(img, [0, width, 0], [h, w - width, c])], 1) as tf.Tensor3D);
  });
}

/** Boxes flipped inside an image of `width`. */
export function flipBoxes(boxes: readonly number[][], width: number): number[][] {
  return boxes.map((b) => [width - b[2]!, b[1]!, width - b[0]!, b[3]!]);
}

/** A detector on the `init` backbone with the config's sizes (14 VinDr classes). */
export function buildDetector(
  config: Config,
  init: BackboneInit,
  rng: Rng,
): { detector: FasterRcnn; resnet: ResNet } {
  // With no pretraining, MMDetection's ResNet initialises itself (init_cfg when no checkpoint is given):
  // Kaiming convolutions, BatchNorm weights 1, and zero_init_residual=True, its default, which sets each
  // block's last BatchNorm weight to 0 so every block starts as its shortcut. Without it, the random
  // network's eval-mode BatchNorm (running statistics 0 and 1, frozen by normEval) lets activations grow
  // block by block; at ResNet-50 depth the RoI head's logits start far from 0.
  const resnet = loadBackbone(config, init, rng.fork('backbone'), { zeroInitResidual: init === 'none' });
  return { detector: detectorOnResnet(resnet, config.detection, rng.fork('heads')), resnet };
}

/** Detections for every image of a set, in batches, eval mode, in input pixels (clipped to each resized image). */
export function detectAll(detector: FasterRcnn, set: DetSet, batchSize: number): Detections[] {
  const out: Detections[] = [];
  const n = set.count;
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const x = set.batch(Array.from({ length: m }, (_, j) => s + j));
    out.push(...detector.detect(x, { imageSizesHw: set.sizesHw.slice(s, s + m) }));
    x.dispose();
  }
  return out;
}

/**
 * Detections for the images at `indices` only (the others get none), aligned with the set as
 * `detectAll`'s: for scoring a subset, e.g. the images with boxes, without running the rest.
 */
export function detectSome(
  detector: FasterRcnn,
  set: DetSet,
  batchSize: number,
  indices: readonly number[],
): Detections[] {
  const out: Detections[] = Array.from({ length: set.count }, () => ({ boxes: [], scores: [], labels: [] }));
  for (let s = 0; s < indices.length; s += batchSize) {
    const idx = indices.slice(s, s + batchSize);
    const x = set.batch(idx);
    detector
      .detect(x, { imageSizesHw: idx.map((i) => set.sizesHw[i]!) })
      .forEach((d, j) => (out[idx[j]!] = d));
    x.dispose();
  }
  return out;
}

/** Detections mapped from input pixels back to each original image (MMDetection's `rescale=True`). */
export function toOriginal(dets: readonly Detections[], set: DetSet): Detections[] {
  return dets.map((d, i) => ({
    boxes: scaleBoxes(d.boxes, set.scales[i]!, true),
    scores: [...d.scores],
    labels: [...d.labels],
  }));
}

/**
 * Which images an mAP is measured on: `withBoxes` is the authors' evaluation set (their validation
 * and test annotation files hold only images with fused boxes), `all` keeps the normal images too.
 */
export type EvalSet = 'withBoxes' | 'all';

/** Indices of a set's images in an {@link EvalSet}. */
export function evalIndices(set: DetSet, which: EvalSet): number[] {
  return set.original
    .map((t, i) => [t, i] as const)
    .filter(([t]) => which === 'all' || t.boxes.length > 0)
    .map(([, i]) => i);
}

/**
 * mAP@0.5, COCO-style (101-point interpolation, 100 detections per image, classes with ground
 * truth), of detections in input pixels against the original boxes, on `which` images (default the
 * authors' set).
 */
export function map50(
  dets: Detections[],
  set: DetSet,
  which: EvalSet = 'withBoxes',
): { map: number; perClass: (number | null)[] } {
  const idx = evalIndices(set, which);
  const orig = toOriginal(dets, set);
  return evaluateDetections(
    idx.map((i) => orig[i]!),
    idx.map((i) => set.original[i]!),
    { numClasses: VINDR_NO_FINDING, iouThr: 0.5, mode: 'coco', maxDets: 100 },
  );
}

/**
 * One fine-tuning run. `valMap` / `testMap` are on the authors' evaluation set (images with fused
 * boxes), the `...All` numbers on every image of the split, normal ones included.
 */
export interface DetectionRun {
  init: BackboneInit;
  seed: number;
  inputSize: number;
  /** `valMapAll`: null when `detection.validateAllImages` is off (the normal images not scored per epoch). */
  epochs: { epoch: number; loss: number; valMap: number; valMapAll: number | null }[];
  /** The epoch with the best validation mAP50 (authors' set; the first on ties, as `save_best`). */
  bestEpoch: number;
  /** Validation mAP50 at `bestEpoch`. */
  valMap: number;
  /** Test mAP50 of the `bestEpoch` checkpoint (the Table 1 number), and on all test images. */
  testMap: number;
  testMapAll: number;
  /** Test mAP50 of the last epoch's weights (authors' set), beside it. */
  testMapLast: number;
  /** Per-class test AP of the `bestEpoch` checkpoint (authors' set; null: no ground truth). */
  testPerClass: (number | null)[];
  /** Percentile bootstrap over the authors'-set test images of `testMap`. */
  testBootstrap: { low: number; high: number; iterations: number };
  /** Wall time of the session that finished the run (a resumed run counts only what it redid). */
  seconds: number;
}

function runKey(config: Config, init: BackboneInit, size: number, seed: number): string {
  const fp = createHash('sha256')
    .update(
      JSON.stringify({
        pre: pretrainFingerprint(config),
        // Bumped when the `none` detector's initialisation changed (MMDetection's zero_init_residual).
        ...(init === 'none' ? { noneInit: 'mmdet-zero-init-residual' } : {}),
        det: config.detection,
        wbf: config.wbf,
        vindr: dataFingerprint(config, 'vindr'),
      }),
    )
    .digest('hex')
    .slice(0, 10);
  return `${init}_${size}px_seed${seed}-${fp}`;
}

/**
 * Where a run's result, (for the first seed) its detector weights, and its epoch checkpoint while it
 * is unfinished are kept.
 */
export function detectionRunPaths(
  config: Config,
  init: BackboneInit,
  size: number,
  seed: number,
): { result: string; weights: string; checkpoint: string; best: string } {
  const key = runKey(config, init, size, seed);
  return {
    result: join(config.paths.results, '04_detection', 'runs', `${key}.json`),
    weights: join(config.paths.checkpoints, `detector_${key}.safetensors`),
    checkpoint: join(config.paths.checkpoints, `detector_${key}.ckpt`),
    best: join(config.paths.checkpoints, `detector_${key}.best.safetensors`),
  };
}

/** Saves a trained detector (backbone by name, heads by position: the same config rebuilds the same list). */
export function saveDetector(
  path: string,
  resnet: ResNet,
  detector: FasterRcnn,
  state: Record<string, unknown>,
): void {
  saveCheckpoint(path, detectorTensors(resnet, detector), state);
}

/** Rebuilds the detector of a finished run (notebook 06). */
export function loadDetector(
  config: Config,
  init: BackboneInit,
  size: number,
  rng: Rng,
): { detector: FasterRcnn; resnet: ResNet } {
  const seed = config.seeds[0]!;
  const { weights } = detectionRunPaths(config, init, size, seed);
  if (!existsSync(weights))
    throw new Error(
      `detector '${init}' at ${size}px not found (${weights}): run notebook 04_detection first (profile ${config.profile})`,
    );
  const built = buildDetector(config, init, rng);
  const target = detectorTensors(built.resnet, built.detector) as Map<string, tf.Variable>;
  assignTensors(target, readCheckpoint(weights).tensors, weights);
  return built;
}

const OPT_PREFIX = 'optimizer.momentum.';

/**
 * One detector fine-tuning as a {@link TrainTask}. Its randomness is a pure function of the run's
 * `rng` and the step (each epoch's order and per-image flips from `order:<epoch>`, each step's sampling from
 * `step:<step>`), so a run resumed from an epoch checkpoint redoes exactly what it would have done.
 */
class DetectionTask implements TrainTask {
  readonly optimizer: tf.MomentumOptimizer;
  private epochPlan: { epoch: number; order: number[]; flips: boolean[] } | null = null;
  /** Sums of each loss part (and the pre-clip gradient norm) since the last `takeParts`. */
  private parts = { rpnCls: 0, rpnBox: 0, roiCls: 0, roiBox: 0, gradNorm: 0, clipped: 0, n: 0 };

  constructor(
    readonly detector: FasterRcnn,
    readonly resnet: ResNet,
    readonly train: DetSet,
    readonly rng: Rng,
    readonly o: {
      lr: number;
      minLr: number;
      batchSize: number;
      stepsPerEpoch: number;
      totalSteps: number;
      warmupSteps: number;
      weightDecay: number;
      clipNorm: number;
    },
  ) {
    this.optimizer = momentumOptimizer(o.lr, 0.9);
  }

  private plan(epoch: number): { order: number[]; flips: boolean[] } {
    if (this.epochPlan?.epoch !== epoch) {
      const r = this.rng.fork(`order:${epoch}`);
      const order = r.shuffle([...Array(this.train.count).keys()]);
      // One coin per image, as MMDetection's RandomFlip(flip_ratio=0.5) in the per-image pipeline.
      this.epochPlan = { epoch, order, flips: order.map(() => r.next() < 0.5) };
    }
    return this.epochPlan;
  }

  async stateTensors(): Promise<Map<string, tf.Tensor>> {
    const m = detectorTensors(this.resnet, this.detector);
    // tfjs keeps one momentum slot per gradient, by position; [0] is its step counter (unused by momentum).
    const [iter, ...slots] = await this.optimizer.getWeights();
    iter!.tensor.dispose();
    slots.forEach((w, i) => m.set(`${OPT_PREFIX}${i}`, w.tensor));
    return m;
  }

  async loadStateTensors(tensors: Map<string, RawTensor>): Promise<void> {
    const model = new Map([...tensors].filter(([k]) => !k.startsWith(OPT_PREFIX)));
    assignTensors(
      detectorTensors(this.resnet, this.detector) as Map<string, tf.Variable>,
      model,
      'detector checkpoint',
    );
    const slots: { name: string; tensor: tf.Tensor }[] = [{ name: 'iter', tensor: tf.scalar(0) }];
    for (let i = 0; tensors.has(`${OPT_PREFIX}${i}`); i++) {
      const t = tensors.get(`${OPT_PREFIX}${i}`)!;
      slots.push({ name: `momentum.${i}`, tensor: tf.tensor(t.data, t.shape) });
    }
    await this.optimizer.setWeights(slots);
    // setWeights made variables of its own from these.
    tf.dispose(slots.map((w) => w.tensor));
  }

  /** Mean loss parts and gradient norm over the steps since the last call, and the share of clipped steps. */
  takeParts(): {
    rpnCls: number;
    rpnBox: number;
    roiCls: number;
    roiBox: number;
    gradNorm: number;
    clipped: number;
  } {
    const p = this.parts;
    const n = Math.max(1, p.n);
    this.parts = { rpnCls: 0, rpnBox: 0, roiCls: 0, roiBox: 0, gradNorm: 0, clipped: 0, n: 0 };
    return {
      rpnCls: p.rpnCls / n,
      rpnBox: p.rpnBox / n,
      roiCls: p.roiCls / n,
      roiBox: p.roiBox / n,
      gradNorm: p.gradNorm / n,
      clipped: p.clipped / n,
    };
  }

  dispose(): void {
    this.optimizer.dispose();
    // tfjs 4's MomentumOptimizer.dispose skips SGDOptimizer's, leaking its learning-rate scalar `c`.
    const c = (this.optimizer as unknown as { c?: tf.Tensor }).c;
    if (c && !c.isDisposed) c.dispose();
  }

  trainStep(step: number): number {
    const { batchSize, stepsPerEpoch } = this.o;
    const { order, flips } = this.plan(Math.floor(step / stepsPerEpoch));
    const b = step % stepsPerEpoch;
    const idx = order.slice(b * batchSize, (b + 1) * batchSize);
    const flip = flips.slice(b * batchSize, (b + 1) * batchSize);
    const widths = idx.map((i) => this.train.sizesHw[i]![1]);
    const x = tf.tidy(() => {
      const g = this.train.batch(idx);
      if (!flip.some(Boolean)) return g;
      return tf.stack(
        tf.unstack(g).map((im, j) => (flip[j] ? flipImage(im as tf.Tensor3D, widths[j]!) : im)),
      ) as tf.Tensor4D;
    });
    const targets = idx.map((i, j) => {
      const t = this.train.targets[i]!;
      return flip[j] ? { boxes: flipBoxes(t.boxes, widths[j]!), labels: t.labels } : t;
    });
    this.optimizer.setLearningRate(
      warmupCosineLr(step, {
        baseLr: this.o.lr,
        totalSteps: this.o.totalSteps,
        warmupSteps: this.o.warmupSteps,
        minLr: this.o.minLr,
      }),
    );
    try {
      const l = detectionTrainStep(this.detector, this.optimizer, x, targets, {
        weightDecay: this.o.weightDecay,
        clipNorm: this.o.clipNorm,
        rng: this.rng.fork(`step:${step}`),
        step,
        imageSizesHw: idx.map((i) => this.train.sizesHw[i]!),
      });
      const p = this.parts;
      p.rpnCls += l.rpnCls;
      p.rpnBox += l.rpnBox;
      p.roiCls += l.roiCls;
      p.roiBox += l.roiBox;
      p.gradNorm += l.gradNorm;
      if (this.o.clipNorm > 0 && l.gradNorm > this.o.clipNorm) p.clipped++;
      p.n++;
      return l.total;
    } finally {
      x.dispose();
    }
  }
}

/**
 * Fine-tunes one detector: SGD momentum 0.9 with weight decay, warm-up then cosine to `minLr`,
 * per-image horizontal flips with probability 0.5; validation mAP50 after each epoch (on the
 * authors' set and on all images), and the weights of the best epoch (authors' set, as MMDetection's
 * `save_best='bbox_mAP_50'`) kept in `best`. At the end the best checkpoint is scored on test (the
 * Table 1 number, with a bootstrap CI over test images), the last epoch's weights beside it. With
 * `checkpoint`, the state after every epoch (weights, BatchNorm statistics, momentum, the epochs so
 * far) is written there atomically and a restarted run resumes from it with identical results; a
 * NaN/Inf loss stops the run naming the step and that checkpoint.
 * @returns the run, or null when `stopAfterEpochs` stopped it early (its state is in the checkpoint).
 */
export async function trainDetector(
  config: Config,
  init: BackboneInit,
  seed: number,
  sets: { train: DetSet; val: DetSet; test: DetSet },
  rng: Rng,
  opts: {
    log?: (line: string) => void;
    save?: string;
    checkpoint?: string;
    best?: string;
    stopAfterEpochs?: number;
    /** Also log each epoch's mean loss parts, gradient norm and training-set mAP50 (diagnosis of a stalled run). */
    diagnose?: boolean;
  } = {},
): Promise<DetectionRun | null> {
  const d = config.detection;
  const log = opts.log ?? ((l: string) => console.log(l));
  const size = sets.train.size;
  const t0 = performance.now();
  const { detector, resnet } = buildDetector(config, init, rng);
  const stepsPerEpoch = Math.ceil(sets.train.count / d.batchSize);
  const task = new DetectionTask(detector, resnet, sets.train, rng, {
    lr: d.lr,
    minLr: d.minLr,
    batchSize: d.batchSize,
    stepsPerEpoch,
    totalSteps: stepsPerEpoch * d.epochs,
    warmupSteps: d.warmupSteps,
    weightDecay: d.weightDecay,
    clipNorm: d.gradClipNorm,
  });
  const label = `${init} ${size}px seed ${seed}`;
  // The best weights go to a file beside the checkpoint, so that they survive a resume; without
  // either path (a run that cannot resume) they are kept in memory, as plain arrays.
  const bestPath = opts.best ?? (opts.checkpoint ? `${opts.checkpoint}.best` : undefined);
  let bestInMemory: { epoch: number; valMap: number; tensors: Map<string, RawTensor> } | null = null;
  const bestSoFar = (): number => {
    if (bestPath)
      return existsSync(bestPath) ? readCheckpoint<{ valMap: number }>(bestPath).state.valMap : -Infinity;
    return bestInMemory?.valMap ?? -Infinity;
  };
  try {
    const r = await trainLoop(task, {
      seed,
      epochs: d.epochs,
      stepsPerEpoch,
      batchSize: d.batchSize,
      checkpointPath: opts.checkpoint,
      log,
      label,
      logEverySeconds: 60,
      stopAtStep: opts.stopAfterEpochs === undefined ? undefined : opts.stopAfterEpochs * stepsPerEpoch,
      endOfEpoch: (e, loss) => {
        const tv = performance.now();
        const parts = task.takeParts();
        if (opts.diagnose) {
          const tm = map50(detectAll(detector, sets.train, d.batchSize), sets.train, 'withBoxes');
          const trainMap = tm.map;
          log(
            `  ${label}: epoch ${e} parts rpnCls ${parts.rpnCls.toFixed(4)} rpnBox ${parts.rpnBox.toFixed(4)} roiCls ${parts.roiCls.toFixed(4)} roiBox ${parts.roiBox.toFixed(4)} gradNorm ${parts.gradNorm.toFixed(2)} clipped ${(100 * parts.clipped).toFixed(0)}% train mAP50 ${trainMap.toFixed(4)} (per class ${tm.perClass.map((a) => (a === null ? '-' : a.toFixed(2))).join(' ')})`,
          );
        }
        const dets = d.validateAllImages
          ? detectAll(detector, sets.val, d.batchSize)
          : detectSome(detector, sets.val, d.batchSize, evalIndices(sets.val, 'withBoxes'));
        const valMap = map50(dets, sets.val, 'withBoxes').map;
        const valMapAll = d.validateAllImages ? map50(dets, sets.val, 'all').map : null;
        const best = valMap > bestSoFar();
        if (best) {
          if (bestPath)
            saveDetector(bestPath, resnet, detector, { init, seed, inputSize: size, epoch: e, valMap });
          else {
            bestInMemory = {
              epoch: e,
              valMap,
              tensors: new Map(
                [...detectorTensors(resnet, detector)].map(([k, v]) => [
                  k,
                  { shape: [...v.shape], data: (v.dataSync() as Float32Array).slice() },
                ]),
              ),
            };
          }
        }
        log(
          `  ${label}: epoch ${e}/${d.epochs} loss ${loss.toFixed(4)} val mAP50 ${valMap.toFixed(4)}${valMapAll === null ? '' : ` (all images ${valMapAll.toFixed(4)})`}${best ? ' best' : ''} (${((performance.now() - t0) / 1000).toFixed(0)}s, validation ${((performance.now() - tv) / 1000).toFixed(1)}s)`,
        );
        const metrics: Record<string, number> = { valMap };
        if (valMapAll !== null) metrics.valMapAll = valMapAll;
        return metrics;
      },
    });
    if (!r.finished) return null;
    const epochs = r.epochs.map((e) => ({
      epoch: e.epoch,
      loss: e.loss,
      valMap: e.valMap!,
      valMapAll: e.valMapAll ?? null,
    }));
    const testMapLast = map50(detectAll(detector, sets.test, d.batchSize), sets.test, 'withBoxes').map;
    // The best epoch: the first with the highest validation mAP50 (save_best keeps a strictly better one).
    const bestEpoch = epochs.reduce((b, e) => (e.valMap > b.valMap ? e : b), epochs[0]!).epoch;
    if (bestEpoch !== epochs[epochs.length - 1]!.epoch) {
      const target = detectorTensors(resnet, detector) as Map<string, tf.Variable>;
      const kept = bestPath ? readCheckpoint<{ epoch: number }>(bestPath) : null;
      const inMemory = bestInMemory as { epoch: number; tensors: Map<string, RawTensor> } | null;
      const keptEpoch = kept?.state.epoch ?? inMemory?.epoch;
      if (keptEpoch !== bestEpoch)
        throw new Error(
          `${label}: the kept best weights are of epoch ${keptEpoch}, the best validation mAP50 is at epoch ${bestEpoch}${bestPath ? ` (${bestPath} is stale: delete it and the checkpoint)` : ''}`,
        );
      assignTensors(target, kept ? kept.tensors : inMemory!.tensors, bestPath ?? 'best weights');
    }
    const dets = detectAll(detector, sets.test, d.batchSize);
    const test = map50(dets, sets.test, 'withBoxes');
    const testMapAll = map50(dets, sets.test, 'all').map;
    const idx = evalIndices(sets.test, 'withBoxes');
    const orig = toOriginal(dets, sets.test);
    const bs = bootstrapCi(
      (sample) =>
        evaluateDetections(
          sample.map((i) => orig[idx[i]!]!),
          sample.map((i) => sets.test.original[idx[i]!]!),
          { numClasses: VINDR_NO_FINDING, iouThr: 0.5, mode: 'coco', maxDets: 100 },
        ).map,
      { n: idx.length, rng: rng.fork('bootstrap'), iterations: d.bootstrap },
    );
    if (opts.save)
      saveDetector(opts.save, resnet, detector, { init, seed, inputSize: size, epoch: bestEpoch });
    return {
      init,
      seed,
      inputSize: size,
      epochs,
      bestEpoch,
      valMap: epochs[bestEpoch - 1]!.valMap,
      testMap: test.map,
      testMapAll,
      testMapLast,
      testPerClass: test.perClass,
      testBootstrap: { low: bs.low, high: bs.high, iterations: bs.iterations },
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    task.dispose();
    disposeDetector(resnet, detector);
  }
}

/** The seeds run at the `k`-th input size: the first `detection.seedsPerSize[k]` of `seeds` (all when unset). */
export function detectionSeeds(config: Config, k: number): number[] {
  const n = config.detection.seedsPerSize[k];
  return n && n > 0 ? config.seeds.slice(0, n) : [...config.seeds];
}

/**
 * Every setting: backbone inits × input sizes × seeds (at the sizes after the first, only the inits
 * of `config.detection.laterSizeInits`, as the paper). A run whose result file exists (same
 * settings) is read back instead of retrained; each new run is saved as soon as it finishes, and
 * the first seed's detectors are kept for notebook 06.
 *
 * @example
 * // Notebook 04's call, for two backbones (notebook 03 must have written them).
 * const config = makeConfig({ notebook: '04_detection' });
 * const nb = await startNotebook(config);
 * const runs = await runDetection(config, await openVindr(config), { inits: ['none', 'bt'], rng: nb.rng });
 * for (const r of runs) console.log(`${r.init} ${r.inputSize}px seed ${r.seed}: test mAP50 ${r.testMap.toFixed(3)}`);
 */
export async function runDetection(
  config: Config,
  vindr: VindrDataset,
  opts: { inits: BackboneInit[]; rng: Rng; log?: (line: string) => void },
): Promise<DetectionRun[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const splits = detectionSplits(config, vindr);
  for (const part of ['train', 'val', 'test'] as const) {
    if (splits[part].length === 0) {
      throw new Error(
        `detection: the ${part} part of the VinDr split is empty (${splits.train.length}/${splits.val.length}/${splits.test.length} train/val/test images from ${vindr.images.length} usable in ${vindr.dir}): too few images; add images or rerun notebook 02_wbf`,
      );
    }
  }
  const runs: DetectionRun[] = [];
  for (const [k, size] of config.detection.inputSizes.entries()) {
    const inits =
      k === 0 ? opts.inits : opts.inits.filter((i) => config.detection.laterSizeInits.includes(i));
    const trainImages = config.detection.filterEmptyGt
      ? splits.train.filter((im) => im.boxes.length > 0)
      : splits.train;
    const open = (images: DetImage[], part: string): Promise<DetSet> =>
      openDetectionSet(images, size, {
        cacheDir: config.paths.cache,
        // By content, from the SHA-1s openVindr's image check keeps in the data cache.
        fingerprint: folderFingerprint(
          vindr.dir,
          images.map((im) => im.path),
          dataCacheFor(config, vindr.dir),
        ),
        label: `VinDr ${part} images`,
        inMemoryBytes: config.data.inMemoryBytes,
      });
    const sets = {
      train: await open(trainImages, 'train'),
      val: await open(splits.val, 'validation'),
      test: await open(splits.test, 'test'),
    };
    log(
      `${size}px: ${sets.train.count}/${sets.val.count}/${sets.test.count} train/val/test images, ${[sets.train, sets.val, sets.test].some((x) => !('images' in x)) ? 'streamed from the image cache' : 'held in memory'}`,
    );
    try {
      for (const init of inits) {
        for (const seed of detectionSeeds(config, k)) {
          const p = detectionRunPaths(config, init, size, seed);
          if (existsSync(p.result)) {
            runs.push(JSON.parse(readFileSync(p.result, 'utf8')) as DetectionRun);
            log(`${init} ${size}px seed ${seed}: already done (${p.result})`);
            // A crash between the result and the clean-up below can leave it behind.
            rmSync(p.checkpoint, { force: true });
            rmSync(p.best, { force: true });
            continue;
          }
          const r = (await trainDetector(config, init, seed, sets, opts.rng.fork(`${init}:${size}:${seed}`), {
            log,
            save: seed === config.seeds[0] ? p.weights : undefined,
            checkpoint: p.checkpoint,
            best: p.best,
          }))!;
          writeJsonAtomic(p.result, r);
          rmSync(p.checkpoint, { force: true });
          rmSync(p.best, { force: true });
          runs.push(r);
          log(
            `${init} ${size}px seed ${seed}: test mAP50 ${r.testMap.toFixed(4)} at the best epoch ${r.bestEpoch} (bootstrap 95% CI ${r.testBootstrap.low.toFixed(4)}–${r.testBootstrap.high.toFixed(4)}; all images ${r.testMapAll.toFixed(4)}; last epoch ${r.testMapLast.toFixed(4)}), ${r.seconds}s`,
          );
        }
      }
    } finally {
      for (const x of [sets.train, sets.val, sets.test]) x.dispose();
    }
  }
  return runs;
}
