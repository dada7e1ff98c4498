/**
 * Phase two of the paper as notebook 04 runs it: Faster R-CNN + FPN on each pretrained backbone,
 * fine-tuned on the fused VinDr boxes, mAP@0.5 on validation after every epoch and on test at the
 * end. Every run checkpoints after each epoch and every finished run is saved at once, so an
 * interrupted notebook resumes at the last finished epoch.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { momentumOptimizer } from '../backend/index.js';
import type { Config } from '../config.js';
import { fusedSplitPaths, readFusedCsv } from '../data/annotations.js';
import { readImage, resizeImage } from '../data/images.js';
import { IssueLog } from '../data/issues.js';
import { VINDR_NO_FINDING } from '../data/labels.js';
import type { VindrDataset } from '../data/vindr.js';
import { writeJsonAtomic } from '../io.js';
import { bootstrapCi } from '../metrics/ci.js';
import { evaluateDetections } from '../metrics/map/index.js';
import { loadBackbone, pretrainFingerprint, type BackboneInit } from '../models/backbones.js';
import type { FasterRcnn } from '../models/fasterRcnn/detector.js';
import { detectorOnResnet, detectorTensors } from '../models/detectorBuild.js';

export { resnetBackbone } from '../models/detectorBuild.js';
import type { Detections } from '../models/fasterRcnn/roiHeads.js';
import { detectionTrainStep, warmupCosineLr } from '../models/fasterRcnn/train.js';
import type { ResNet } from '../models/resnet.js';
import { assignTensors, readCheckpoint, saveCheckpoint, type RawTensor } from '../models/weights.js';
import type { Rng } from '../rng.js';
import { trainLoop, type TrainTask } from './loop.js';

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
export function detectionSplits(config: Config, vindr: VindrDataset): Record<'train' | 'val' | 'test', DetImage[]> {
  const paths = new Map(vindr.images.filter((im) => im.path).map((im) => [im.imageId, im.path!]));
  const out = {} as Record<'train' | 'val' | 'test', DetImage[]>;
  for (const split of ['train', 'val', 'test'] as const) {
    const csv = fusedSplitPaths(config.paths.results, split).csv;
    if (!existsSync(csv)) throw new Error(`missing ${csv}: run notebook 02_wbf first (profile ${config.profile})`);
    const log = new IssueLog();
    const fused = readFusedCsv(csv, log);
    if (log.issues.length) throw new Error(`${csv}: ${log.issues.length} unreadable row(s), e.g. line ${log.issues[0]!.line}: ${log.issues[0]!.reason}`);
    out[split] = fused.map((f) => {
      const path = paths.get(f.imageId);
      if (!path) throw new Error(`${csv}: image ${f.imageId} has no file in ${vindr.dir}`);
      return { imageId: f.imageId, path, width: f.width, height: f.height, boxes: f.boxes, labels: f.labels };
    });
  }
  return out;
}

/** A split's images resized to `size`×`size` (square, as the paper's 224×224 and 640×640) with boxes scaled to match. */
export interface DetBatchSet {
  images: tf.Tensor4D;
  targets: { boxes: number[][]; labels: number[] }[];
  ids: string[];
}

/** Reads and resizes every image of a split into one tensor (small sets; the paper profile streams instead). */
export async function loadDetectionSet(images: readonly DetImage[], size: number): Promise<DetBatchSet> {
  const buf = new Float32Array(images.length * size * size);
  for (let i = 0; i < images.length; i++) {
    const img = resizeImage(await readImage(images[i]!.path), size, size);
    buf.set(img.data, i * size * size);
  }
  return {
    images: tf.tensor4d(buf, [images.length, size, size, 1]),
    targets: images.map((im) => {
      const sx = size / im.width;
      const sy = size / im.height;
      return { boxes: im.boxes.map((b) => [b[0]! * sx, b[1]! * sy, b[2]! * sx, b[3]! * sy]), labels: [...im.labels] };
    }),
    ids: images.map((im) => im.imageId),
  };
}

/** A detector on the `init` backbone with the config's sizes (14 VinDr classes). */
export function buildDetector(config: Config, init: BackboneInit, rng: Rng): { detector: FasterRcnn; resnet: ResNet } {
  const resnet = loadBackbone(config, init, rng.fork('backbone'));
  return { detector: detectorOnResnet(resnet, config.detection, rng.fork('heads')), resnet };
}

/** Detections for every image of a set, in batches, eval mode. */
export function detectAll(detector: FasterRcnn, set: DetBatchSet, batchSize: number): Detections[] {
  const out: Detections[] = [];
  const n = set.images.shape[0];
  for (let s = 0; s < n; s += batchSize) {
    const x = set.images.slice([s, 0, 0, 0], [Math.min(batchSize, n - s), -1, -1, -1]);
    out.push(...detector.detect(x));
    x.dispose();
  }
  return out;
}

/** mAP@0.5, COCO-style (101-point interpolation, 100 detections per image, classes with ground truth). */
export function map50(dets: Detections[], set: DetBatchSet): { map: number; perClass: (number | null)[] } {
  return evaluateDetections(dets, set.targets, { numClasses: VINDR_NO_FINDING, iouThr: 0.5, mode: 'coco', maxDets: 100 });
}

/** One fine-tuning run. */
export interface DetectionRun {
  init: BackboneInit;
  seed: number;
  inputSize: number;
  epochs: { epoch: number; loss: number; valMap: number }[];
  /** Validation mAP50 after the last epoch. */
  valMap: number;
  testMap: number;
  testPerClass: (number | null)[];
  /** Percentile bootstrap over test images of this run's test mAP50. */
  testBootstrap: { low: number; high: number; iterations: number };
  /** Wall time of the session that finished the run (a resumed run counts only what it redid). */
  seconds: number;
}

function runKey(config: Config, init: BackboneInit, size: number, seed: number): string {
  const fp = createHash('sha256').update(JSON.stringify({ pre: pretrainFingerprint(config), det: config.detection, wbf: config.wbf })).digest('hex').slice(0, 10);
  return `${init}_${size}px_seed${seed}-${fp}`;
}

/**
 * Where a run's result, (for the first seed) its detector weights, and its epoch checkpoint while it
 * is unfinished are kept.
 */
export function detectionRunPaths(config: Config, init: BackboneInit, size: number, seed: number): { result: string; weights: string; checkpoint: string } {
  const key = runKey(config, init, size, seed);
  return {
    result: join(config.paths.results, '04_detection', 'runs', `${key}.json`),
    weights: join(config.paths.checkpoints, `detector_${key}.safetensors`),
    checkpoint: join(config.paths.checkpoints, `detector_${key}.ckpt`),
  };
}

/** Saves a trained detector (backbone by name, heads by position: the same config rebuilds the same list). */
export function saveDetector(path: string, resnet: ResNet, detector: FasterRcnn, state: Record<string, unknown>): void {
  saveCheckpoint(path, detectorTensors(resnet, detector), state);
}

/** Rebuilds the detector of a finished run (notebook 06). */
export function loadDetector(config: Config, init: BackboneInit, size: number, rng: Rng): { detector: FasterRcnn; resnet: ResNet } {
  const seed = config.seeds[0]!;
  const { weights } = detectionRunPaths(config, init, size, seed);
  if (!existsSync(weights)) throw new Error(`detector '${init}' at ${size}px not found (${weights}): run notebook 04_detection first (profile ${config.profile})`);
  const built = buildDetector(config, init, rng);
  const target = detectorTensors(built.resnet, built.detector) as Map<string, tf.Variable>;
  assignTensors(target, readCheckpoint(weights).tensors, weights);
  return built;
}

const OPT_PREFIX = 'optimizer.momentum.';

/**
 * One detector fine-tuning as a {@link TrainTask}. Its randomness is a pure function of the run's
 * `rng` and the step (each epoch's order and flips from `order:<epoch>`, each step's sampling from
 * `step:<step>`), so a run resumed from an epoch checkpoint redoes exactly what it would have done.
 */
class DetectionTask implements TrainTask {
  readonly optimizer: tf.MomentumOptimizer;
  private epochPlan: { epoch: number; order: number[]; flips: boolean[] } | null = null;

  constructor(
    readonly detector: FasterRcnn,
    readonly resnet: ResNet,
    readonly train: DetBatchSet,
    readonly rng: Rng,
    readonly o: { lr: number; batchSize: number; stepsPerEpoch: number; totalSteps: number; warmupSteps: number; weightDecay: number; clipNorm: number },
  ) {
    this.optimizer = momentumOptimizer(o.lr, 0.9);
  }

  private plan(epoch: number): { order: number[]; flips: boolean[] } {
    if (this.epochPlan?.epoch !== epoch) {
      const r = this.rng.fork(`order:${epoch}`);
      const order = r.shuffle([...Array(this.train.images.shape[0]).keys()]);
      this.epochPlan = { epoch, order, flips: Array.from({ length: this.o.stepsPerEpoch }, () => r.next() < 0.5) };
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
    assignTensors(detectorTensors(this.resnet, this.detector) as Map<string, tf.Variable>, model, 'detector checkpoint');
    const slots: { name: string; tensor: tf.Tensor }[] = [{ name: 'iter', tensor: tf.scalar(0) }];
    for (let i = 0; tensors.has(`${OPT_PREFIX}${i}`); i++) {
      const t = tensors.get(`${OPT_PREFIX}${i}`)!;
      slots.push({ name: `momentum.${i}`, tensor: tf.tensor(t.data, t.shape) });
    }
    await this.optimizer.setWeights(slots);
    // setWeights made variables of its own from these.
    tf.dispose(slots.map((w) => w.tensor));
  }

  dispose(): void {
    this.optimizer.dispose();
    // tfjs 4's MomentumOptimizer.dispose skips SGDOptimizer's, leaking its learning-rate scalar `c`.
    const c = (this.optimizer as unknown as { c?: tf.Tensor }).c;
    if (c && !c.isDisposed) c.dispose();
  }

  trainStep(step: number): number {
    const { batchSize, stepsPerEpoch } = this.o;
    const size = this.train.images.shape[1];
    const { order, flips } = this.plan(Math.floor(step / stepsPerEpoch));
    const b = step % stepsPerEpoch;
    const idx = order.slice(b * batchSize, (b + 1) * batchSize);
    const flip = flips[b]!;
    const x = tf.tidy(() => {
      const g = tf.gather(this.train.images, tf.tensor1d(idx, 'int32')) as tf.Tensor4D;
      return flip ? (tf.reverse(g, 2) as tf.Tensor4D) : g;
    });
    const targets = idx.map((i) => {
      const t = this.train.targets[i]!;
      return flip ? { boxes: t.boxes.map((bx) => [size - bx[2]!, bx[1]!, size - bx[0]!, bx[3]!]), labels: t.labels } : t;
    });
    this.optimizer.setLearningRate(warmupCosineLr(step, { baseLr: this.o.lr, totalSteps: this.o.totalSteps, warmupSteps: this.o.warmupSteps }));
    try {
      return detectionTrainStep(this.detector, this.optimizer, x, targets, { weightDecay: this.o.weightDecay, clipNorm: this.o.clipNorm, rng: this.rng.fork(`step:${step}`), step }).total;
    } finally {
      x.dispose();
    }
  }
}

/**
 * Fine-tunes one detector: SGD momentum 0.9 with weight decay, warm-up then cosine, horizontal
 * flips with probability 0.5; validation mAP50 after each epoch, test mAP50 (with a bootstrap CI
 * over test images) at the end. With `checkpoint`, the state after every epoch (weights, BatchNorm
 * statistics, momentum, the epochs so far) is written there atomically and a restarted run resumes
 * from it with identical results; a NaN/Inf loss stops the run naming the step and that checkpoint.
 * @returns the run, or null when `stopAfterEpochs` stopped it early (its state is in the checkpoint).
 */
export async function trainDetector(
  config: Config,
  init: BackboneInit,
  seed: number,
  sets: { train: DetBatchSet; val: DetBatchSet; test: DetBatchSet },
  rng: Rng,
  opts: { log?: (line: string) => void; save?: string; checkpoint?: string; stopAfterEpochs?: number } = {},
): Promise<DetectionRun | null> {
  const d = config.detection;
  const log = opts.log ?? ((l: string) => console.log(l));
  const size = sets.train.images.shape[1];
  const t0 = performance.now();
  const { detector, resnet } = buildDetector(config, init, rng);
  const stepsPerEpoch = Math.ceil(sets.train.images.shape[0] / d.batchSize);
  const task = new DetectionTask(detector, resnet, sets.train, rng, {
    lr: d.lr, batchSize: d.batchSize, stepsPerEpoch, totalSteps: stepsPerEpoch * d.epochs, warmupSteps: d.warmupSteps, weightDecay: d.weightDecay, clipNorm: d.gradClipNorm,
  });
  const label = `${init} ${size}px seed ${seed}`;
  try {
    const r = await trainLoop(task, {
      seed, epochs: d.epochs, stepsPerEpoch, batchSize: d.batchSize, checkpointPath: opts.checkpoint, log, label, logEverySeconds: 60,
      stopAtStep: opts.stopAfterEpochs === undefined ? undefined : opts.stopAfterEpochs * stepsPerEpoch,
      endOfEpoch: (e, loss) => {
        const valMap = map50(detectAll(detector, sets.val, d.batchSize), sets.val).map;
        log(`  ${label}: epoch ${e}/${d.epochs} loss ${loss.toFixed(4)} val mAP50 ${valMap.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)}s)`);
        return { valMap };
      },
    });
    if (!r.finished) return null;
    const epochs = r.epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, valMap: e.valMap! }));
    const dets = detectAll(detector, sets.test, d.batchSize);
    const test = map50(dets, sets.test);
    const bs = bootstrapCi(
      (idx) => evaluateDetections(idx.map((i) => dets[i]!), idx.map((i) => sets.test.targets[i]!), { numClasses: VINDR_NO_FINDING, iouThr: 0.5, mode: 'coco', maxDets: 100 }).map,
      { n: dets.length, rng: rng.fork('bootstrap'), iterations: d.bootstrap },
    );
    if (opts.save) saveDetector(opts.save, resnet, detector, { init, seed, inputSize: size });
    return {
      init, seed, inputSize: size, epochs, valMap: epochs[epochs.length - 1]!.valMap, testMap: test.map, testPerClass: test.perClass,
      testBootstrap: { low: bs.low, high: bs.high, iterations: bs.iterations }, seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    task.dispose();
    for (const v of [...detector.fpn.variables(), ...detector.rpn.variables(), ...detector.roiHeads.variables()]) v.dispose();
    resnet.dispose();
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
 */
export async function runDetection(config: Config, vindr: VindrDataset, opts: { inits: BackboneInit[]; rng: Rng; log?: (line: string) => void }): Promise<DetectionRun[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const splits = detectionSplits(config, vindr);
  const runs: DetectionRun[] = [];
  for (const [k, size] of config.detection.inputSizes.entries()) {
    const inits = k === 0 ? opts.inits : opts.inits.filter((i) => config.detection.laterSizeInits.includes(i));
    const trainImages = config.detection.filterEmptyGt ? splits.train.filter((im) => im.boxes.length > 0) : splits.train;
    const sets = { train: await loadDetectionSet(trainImages, size), val: await loadDetectionSet(splits.val, size), test: await loadDetectionSet(splits.test, size) };
    try {
      for (const init of inits) {
        for (const seed of detectionSeeds(config, k)) {
          const p = detectionRunPaths(config, init, size, seed);
          if (existsSync(p.result)) {
            runs.push(JSON.parse(readFileSync(p.result, 'utf8')) as DetectionRun);
            log(`${init} ${size}px seed ${seed}: already done (${p.result})`);
            // A crash between the result and the clean-up below can leave it behind.
            rmSync(p.checkpoint, { force: true });
            continue;
          }
          const r = (await trainDetector(config, init, seed, sets, opts.rng.fork(`${init}:${size}:${seed}`), {
            log, save: seed === config.seeds[0] ? p.weights : undefined, checkpoint: p.checkpoint,
          }))!;
          writeJsonAtomic(p.result, r);
          rmSync(p.checkpoint, { force: true });
          runs.push(r);
          log(`${init} ${size}px seed ${seed}: test mAP50 ${r.testMap.toFixed(4)} (bootstrap 95% CI ${r.testBootstrap.low.toFixed(4)}–${r.testBootstrap.high.toFixed(4)}), ${r.seconds}s`);
        }
      }
    } finally {
      tf.dispose([sets.train.images, sets.val.images, sets.test.images]);
    }
  }
  return runs;
}
