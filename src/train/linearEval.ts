/**
 * The linear-evaluation protocol of the paper on NIH ChestX-ray14 (notebook 05): the official test
 * list re-split by iterative stratification, classifiers trained on 1 / 10 / 100 % of the training
 * part with the backbone frozen (linear probe) or fine-tuned end to end, macro ROC AUC on the rest.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot, type Config } from '../config.js';
import { randomResizedCropFlip, type Interpolation } from '../data/augment.js';
import { ImageCache, IN_MEMORY_BYTES } from '../data/imageCache.js';
import { DataCache, folderFingerprint } from '../data/dataCache.js';
import { imageBatches } from '../data/images.js';
import { IssueLog } from '../data/issues.js';
import { NIH_LABELS } from '../data/labels.js';
import type { NihDataset, NihRecord } from '../data/nih.js';
import { iterativeStratification, nestedStratifiedSubsets, stratifiedSubset } from '../data/split.js';
import { macroRocAuc } from '../metrics/auc.js';
import { loadBackbone, pretrainFingerprint, type EvalInit } from '../models/backbones.js';
import { writeJsonAtomic } from '../io.js';
import { bceWithLogits, LinearHead } from '../models/classifier.js';
import type { ResNet } from '../models/resnet.js';
import type { RawTensor } from '../models/weights.js';
import type { Rng } from '../rng.js';
import type { ImageSource } from './pretrain.js';
import {
  checkEpochLoss,
  DivergedError,
  fitLinearProbe,
  selectEpoch,
  type EpochScore,
  type FeatureSet,
  type ProbeResult,
} from './linearProbe.js';
import { applyBatchNormStats, reestimateBatchNorm } from './bnCalibration.js';
import { nihSplitSource } from './pretrainRun.js';
import { warmupCosine } from './schedule.js';
import { SgdMomentum } from './sgd.js';
import { tensorRows } from '../data/tensorRows.js';

/** `[n][15]` 0/1 rows in NIH_LABELS order (14 findings + No Finding). */
export function nihLabelMatrix(records: readonly NihRecord[]): number[][] {
  return records.map((r) => NIH_LABELS.map((l) => (r.labels.includes(l) ? 1 : 0)));
}

/** The evaluation set: test-list images, their labels, and the fixed train / validation / test parts. */
export interface EvalSplit {
  ids: string[];
  paths: string[];
  labels: number[][];
  /** Indices into `ids`: the classifier's training part (subsets are drawn from it). */
  train: number[];
  /** Held out from the training part to choose the epoch. */
  val: number[];
  /** The evaluation test part (the paper's 20 %). */
  test: number[];
}

/**
 * Re-splits the official test list `trainShare` / rest by iterative stratification, then holds
 * `valShare` of the training part out for model selection. Ids are sorted first, so the split is a
 * function of the ids and the seed.
 */
export function linearEvalSplit(
  nih: NihDataset,
  opts: { trainShare: number; valShare: number },
  rng: Rng,
): EvalSplit {
  const records = nih.records
    .filter((r) => nih.test.has(r.imageIndex) && nih.imagePaths.has(r.imageIndex))
    .sort((a, b) => (a.imageIndex < b.imageIndex ? -1 : 1));
  if (records.length < 10)
    throw new Error(
      `linear evaluation: only ${records.length} test-list images with pixels; need at least 10`,
    );
  const labels = nihLabelMatrix(records);
  const [pool, test] = iterativeStratification(
    labels,
    [opts.trainShare, 1 - opts.trainShare],
    rng.fork('eval-split'),
  );
  const val = stratifiedSubset(labels, pool!, opts.valShare, rng.fork('eval-val'));
  const inVal = new Set(val);
  return {
    ids: records.map((r) => r.imageIndex),
    paths: records.map((r) => nih.imagePaths.get(r.imageIndex)!),
    labels,
    train: pool!.filter((i) => !inVal.has(i)),
    val,
    test: test!,
  };
}

/**
 * Nested stratified training subsets for the label fractions (1 % ⊂ 10 % ⊂ 100 %), none smaller than
 * `minImages`. Returned in the order of `fractions`, each with the fraction actually used.
 */
export function trainingSubsets(
  split: EvalSplit,
  fractions: readonly number[],
  minImages: number,
  rng: Rng,
): { fraction: number; used: number; indices: number[] }[] {
  const n = split.train.length;
  const used = fractions.map((f) => Math.min(1, Math.max(f, minImages / n)));
  const order = [...used.keys()].sort((a, b) => used[b]! - used[a]!);
  const nested = nestedStratifiedSubsets(
    split.labels,
    split.train,
    order.map((k) => used[k]!),
    rng,
  );
  const out = new Array<{ fraction: number; used: number; indices: number[] }>(fractions.length);
  order.forEach((k, j) => {
    out[k] = { fraction: fractions[k]!, used: used[k]!, indices: nested[j]! };
  });
  return out;
}

/**
 * The training subsets of one seed, the same for every backbone (so that differences paired by seed
 * are paired on data): ours from the training part after the validation carve-out, and, for the
 * authors' protocol, from the whole training part (train ∪ val), as evaluate.py trains. Drawn from
 * `rng.fork('subsets:<seed>')` only, never from anything that depends on the backbone.
 */
export function seedSubsets(
  split: EvalSplit,
  le: Pick<Config['linearEval'], 'fractions' | 'minImages'>,
  seed: number,
  rng: Rng,
): {
  ours: { fraction: number; used: number; indices: number[] }[];
  authors: { fraction: number; used: number; indices: number[] }[];
} {
  const r = rng.fork(`subsets:${seed}`);
  const whole: EvalSplit = { ...split, train: [...split.train, ...split.val].sort((a, b) => a - b) };
  return {
    ours: trainingSubsets(split, le.fractions, le.minImages, r.fork('ours')),
    authors: trainingSubsets(whole, le.fractions, le.minImages, r.fork('authors')),
  };
}

/** A short fingerprint of a subset's image ids (equal fingerprints: the same images). */
export function subsetFingerprint(split: EvalSplit, indices: readonly number[]): string {
  return createHash('sha256')
    .update(
      [...indices]
        .map((i) => split.ids[i]!)
        .sort()
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 12);
}

/** All evaluation images as one `[N, size, size, 1]` tensor (bad files reported to `log`, which then throws). */
export async function loadEvalImages(split: EvalSplit, size: number): Promise<tf.Tensor4D> {
  const log = new IssueLog();
  const parts: tf.Tensor4D[] = [];
  for await (const b of imageBatches(split.paths, { size, batchSize: 128, log })) parts.push(b.images);
  if (log.issues.length) {
    tf.dispose(parts);
    throw new Error(
      `linear evaluation: ${log.issues.length} image(s) could not be read, e.g. ${log.issues[0]!.file}: ${log.issues[0]!.reason}`,
    );
  }
  const t = tf.concat(parts) as tf.Tensor4D;
  tf.dispose(parts);
  return t;
}

/**
 * The evaluation images as notebook 05 reads them: in memory (`loadEvalImages`) when their float32 pixels
 * fit in `inMemoryBytes` (default `IN_MEMORY_BYTES`, 2 GiB; `config.data.inMemoryBytes`), otherwise decoded once into the on-disk image cache and read batch by
 * batch (`stream` forces either path; the two give the same pixels up to the cache's 16-bit quantisation).
 * An image that cannot be read stops it, naming the file.
 */
export async function openEvalImages(
  split: EvalSplit,
  size: number,
  opts: {
    stream?: boolean;
    cacheDir?: string;
    inMemoryBytes?: number;
    /** The files' content fingerprint (`folderFingerprint`; default: computed here, reading every file). */
    fingerprint?: string;
  } = {},
): Promise<ImageSource & { streamed: boolean; dispose(): void }> {
  if (!(opts.stream ?? split.paths.length * size * size * 4 > (opts.inMemoryBytes ?? IN_MEMORY_BYTES))) {
    const t = await loadEvalImages(split, size);
    return { ...tensorSource(t), streamed: false, dispose: () => t.dispose() };
  }
  const log = new IssueLog();
  const cache = await ImageCache.open(split.paths, {
    dir: opts.cacheDir ?? join(repoRoot(), '.cache', 'images'),
    size,
    fingerprint:
      opts.fingerprint ?? folderFingerprint(dirname(split.paths[0] ?? '.'), split.paths, new DataCache(null)),
    log,
    label: 'NIH test-list images',
  });
  if (log.issues.length) {
    cache.close();
    throw new Error(
      `linear evaluation: ${log.issues.length} image(s) could not be read, e.g. ${log.issues[0]!.file}: ${log.issues[0]!.reason}`,
    );
  }
  return { count: cache.count, batch: (i) => cache.batch(i), streamed: true, dispose: () => cache.close() };
}

/** A tensor's images as an `ImageSource` (`tensorRows`: sliced when consecutive, else gathered). */
function tensorSource(images: tf.Tensor4D): ImageSource {
  return {
    count: images.shape[0],
    batch: (indices) => tensorRows(images, indices),
  };
}

/** Images as a tensor (small sets, tests) or a source that reads batches on demand (the image cache). */
export type EvalImages = tf.Tensor4D | ImageSource;

function asSource(images: EvalImages): ImageSource {
  return images instanceof tf.Tensor ? tensorSource(images) : images;
}

/** Pooled features of every image, eval-mode BatchNorm: `[N * dim]` row-major. */
export function extractFeatures(backbone: ResNet, images: EvalImages, batchSize = 64): Float32Array {
  const src = asSource(images);
  const n = src.count;
  const dim = backbone.outChannels;
  const out = new Float32Array(n * dim);
  for (let s = 0; s < n; s += batchSize) {
    const x = src.batch(Array.from({ length: Math.min(batchSize, n - s) }, (_, j) => s + j));
    try {
      // The tensor leaves the tidy, not its values: tidy walks whatever it returns, and a
      // Float32Array of batch × dim numbers it walks element by element (~6% of the pass).
      const pooled = tf.tidy(() => backbone.forward(x, { training: false }).pooled);
      try {
        out.set(pooled.dataSync(), s * dim);
      } finally {
        pooled.dispose();
      }
    } finally {
      x.dispose();
    }
  }
  return out;
}

/** The rows `indices` of a feature matrix with their labels. */
export function featureSet(
  features: Float32Array,
  dim: number,
  labels: number[][],
  indices: readonly number[],
): FeatureSet {
  const L = labels[0]!.length;
  const x = new Float32Array(indices.length * dim);
  const y = new Float32Array(indices.length * L);
  indices.forEach((i, k) => {
    x.set(features.subarray(i * dim, (i + 1) * dim), k * dim);
    y.set(labels[i]!, k * L);
  });
  return { x, y, n: indices.length, dim, labels: L };
}

function gatherRows(
  images: ImageSource,
  labels: number[][],
  idx: readonly number[],
): { x: tf.Tensor4D; y: tf.Tensor2D } {
  return { x: images.batch([...idx]), y: tf.tensor2d(idx.map((i) => labels[i]!)) };
}

function scores(
  backbone: ResNet,
  head: LinearHead,
  images: ImageSource,
  idx: readonly number[],
  batchSize: number,
): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < idx.length; s += batchSize) {
    const x = images.batch(idx.slice(s, s + batchSize));
    try {
      // arraySync outside the tidy: tidy walks what it returns, a nested array element by element.
      const scores = tf.tidy(() => tf.sigmoid(head.apply(backbone.forward(x, { training: false }).pooled)));
      try {
        out.push(...(scores.arraySync() as number[][]));
      } finally {
        scores.dispose();
      }
    } finally {
      x.dispose();
    }
  }
  return out;
}

/**
 * End-to-end fine-tuning: backbone (training-mode BatchNorm, its own learning rate) and head
 * trained together with SGD momentum and a cosine schedule, random horizontal flips; validation and
 * test macro AUC after every epoch, the epoch chosen on validation.
 */
export function fitEndToEnd(
  backbone: ResNet,
  imagesIn: EvalImages,
  labels: number[][],
  parts: { train: readonly number[]; val: readonly number[]; test: readonly number[] },
  opts: Omit<Config['linearEval']['endToEnd'], 'augment'> & {
    augment?: boolean;
    /** How the crops are resampled (config `linearEval.interpolation`); default `bilinear`. */
    interpolation?: Interpolation;
    rng: Rng;
    log?: (line: string) => void;
  },
): ProbeResult {
  const images = asSource(imagesIn);
  const head = new LinearHead(backbone.outChannels, labels[0]!.length, opts.rng.fork('head'));
  const backboneVars = backbone.store.trainable().map((p) => p.variable);
  const opt = new SgdMomentum(
    [
      { variables: backboneVars, lrScale: opts.backboneLrScale, weightDecay: opts.weightDecay },
      { variables: head.variables(), weightDecay: opts.weightDecay },
    ],
    0.9,
  );
  const steps = Math.ceil(parts.train.length / opts.batchSize);
  const total = steps * opts.epochs;
  const order = [...parts.train];
  const shuffle = opts.rng.fork('order');
  const yVal = parts.val.map((i) => labels[i]!);
  const yTest = parts.test.map((i) => labels[i]!);
  const epochs: EpochScore[] = [];
  const perLabel: (number | null)[][] = [];
  let step = 0;
  try {
    for (let e = 1; e <= opts.epochs; e++) {
      shuffle.shuffle(order);
      let lossSum = 0;
      for (let b = 0; b < steps; b++) {
        const idx = order.slice(b * opts.batchSize, (b + 1) * opts.batchSize);
        const { x: plain, y } = gatherRows(images, labels, idx);
        // The authors' RandomResizedCrop + flip per image; without `augment`, a flip coin per image.
        const x =
          (opts.augment ?? true)
            ? randomResizedCropFlip(plain, plain.shape[1], shuffle, undefined, opts.interpolation)
            : flipEach(plain, shuffle);
        const { value, grads } = tf.variableGrads(
          () => bceWithLogits(head.apply(backbone.forward(x, { training: true }).pooled), y),
          [...backboneVars, ...head.variables()],
        );
        opt.step(grads, warmupCosine(step, { base: opts.lr, totalSteps: total }));
        lossSum += value.dataSync()[0]! * idx.length;
        tf.dispose([plain, x, y, value, ...Object.values(grads)]);
        step++;
      }
      checkEpochLoss(e, lossSum / parts.train.length);
      const v = macroRocAuc(yVal, scores(backbone, head, images, parts.val, 64));
      const t = macroRocAuc(yTest, scores(backbone, head, images, parts.test, 64));
      epochs.push({ epoch: e, trainLoss: lossSum / parts.train.length, valAuc: v.macro, testAuc: t.macro });
      perLabel.push(t.perLabel);
      opts.log?.(
        `  epoch ${e}/${opts.epochs}: loss ${(lossSum / parts.train.length).toFixed(4)}, val AUC ${v.macro.toFixed(4)}, test AUC ${t.macro.toFixed(4)}`,
      );
    }
  } finally {
    opt.dispose();
    head.dispose();
  }
  return selectEpoch(epochs, perLabel);
}

/** Each image flipped left-right with p = 0.5 (one coin per image, in order). */
function flipEach(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const coins = Array.from({ length: x.shape[0] }, () => rng.next() < 0.5);
  return tf.tidy(
    () =>
      tf.concat(
        coins.map((c, i) => {
          const one = x.slice([i, 0, 0, 0], [1, -1, -1, -1]);
          return c ? tf.reverse(one, 2) : one;
        }),
      ) as tf.Tensor4D,
  );
}

/** One classifier trained and scored. */
export interface LinearEvalRun extends ProbeResult {
  init: EvalInit;
  mode: 'frozen' | 'endToEnd';
  /**
   * `ours`: trained on the training part after the validation carve-out, reported at the epoch chosen
   * on validation (`testAuc`). `authors`: trained on the whole training part, reported at its best test
   * epoch (`bestTestAuc`), as evaluate.py does.
   */
  protocol: 'ours' | 'authors';
  /** {@link subsetFingerprint} of the training images: equal across backbones at a seed. */
  subset: string;
  fraction: number;
  /** The fraction actually used (raised to `minImages` on small sets). */
  usedFraction: number;
  trainImages: number;
  seed: number;
}

/**
 * Where one finished classifier is kept: keyed by the backbones' key (NIH content included), the
 * protocol's settings, and the training subset ({@link subsetFingerprint}).
 */
export function linearEvalRunPath(
  config: Config,
  init: EvalInit,
  mode: 'frozen' | 'endToEnd',
  protocol: 'ours' | 'authors',
  fraction: number,
  seed: number,
  subset: string,
): string {
  const fp = createHash('sha256')
    .update(
      JSON.stringify({ pre: pretrainFingerprint(config), le: config.linearEval, seed: config.seed, subset }),
    )
    .digest('hex')
    .slice(0, 10);
  return join(
    config.paths.results,
    '05_linear_evaluation',
    'runs',
    `${init}_${mode}_${protocol}_${fraction}_seed${seed}-${fp}.json`,
  );
}

/**
 * Every setting of the protocol: for each backbone, seed and label fraction, a linear probe on
 * cached frozen features and (when `modes` includes it) an end-to-end fine-tuning. The backbone
 * `none_bn` is the control: `none`'s random weights (the same generator) with BatchNorm statistics
 * re-estimated on the NIH-format images of `pretrain.imageSet` ({@link reestimateBatchNorm}). Each finished
 * classifier is saved at once and read back on a rerun with the same settings and data, so an
 * interrupted notebook resumes at the first unfinished one. A diverged classifier (non-finite loss
 * or loss above `DIVERGED_BCE`) stops the run, naming backbone, fraction, mode, seed and epoch.
 *
 * @example
 * // Notebook 05's call, frozen backbones only (notebook 03 must have written them).
 * const config = makeConfig({ notebook: '05_linear_evaluation' });
 * const nb = await startNotebook(config);
 * const result = await runLinearEvaluation(config, await openNih(config), { inits: ['none', 'bt'], modes: ['frozen'], rng: nb.rng });
 * for (const r of result.runs) console.log(`${r.init} ${r.fraction * 100}% seed ${r.seed}: test AUC ${r.testAuc.toFixed(3)}`);
 */
export async function runLinearEvaluation(
  config: Config,
  nih: NihDataset,
  opts: { inits: EvalInit[]; modes: ('frozen' | 'endToEnd')[]; rng: Rng; log?: (line: string) => void },
): Promise<{ split: { train: number; val: number; test: number }; runs: LinearEvalRun[] }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const le = config.linearEval;
  const split = linearEvalSplit(nih, le, opts.rng.fork('split'));
  const images = await openEvalImages(split, config.backbone.inputSize, {
    cacheDir: config.paths.cache,
    inMemoryBytes: config.data.inMemoryBytes,
    // By content: the SHA-1s openNih's image check made.
    fingerprint: folderFingerprint(nih.dir, split.paths, nih.hashes ?? new DataCache(null)),
  });
  log(
    `evaluation images: ${images.count} at ${config.backbone.inputSize}px, ${images.streamed ? 'streamed from the image cache' : 'held in memory'}`,
  );
  const runs: LinearEvalRun[] = [];
  const guarded = <T>(
    what: { init: EvalInit; mode: string; protocol: 'ours' | 'authors'; fraction: number; seed: number },
    fit: () => T,
  ): T => {
    try {
      return fit();
    } catch (e) {
      if (!(e instanceof DivergedError)) throw e;
      const lr =
        what.mode === 'frozen'
          ? `linearEval.probe.lr (${le.probe.lr})`
          : `linearEval.endToEnd.lr (${le.endToEnd.lr})`;
      throw new Error(
        `linear evaluation diverged: backbone ${what.init}, fraction ${(100 * what.fraction).toFixed(0)}%, mode ${what.mode}${what.protocol === 'authors' ? " (authors' protocol)" : ''}, seed ${what.seed}, ${e.message}; no AUC reported. Lower ${lr} and rerun (finished classifiers are kept)`,
        { cause: e },
      );
    }
  };
  const done = (path: string, label: string): LinearEvalRun | null => {
    if (!existsSync(path)) return null;
    log(`${label}: already done (${path})`);
    return JSON.parse(readFileSync(path, 'utf8')) as LinearEvalRun;
  };
  // The control row's statistics, computed once: the same random weights as `none` (same generator),
  // BatchNorm re-estimated on the images Barlow Twins pretrains on, at the evaluation's input size.
  let calibration: Map<string, RawTensor> | null = null;
  const calibrated = async (): Promise<Map<string, RawTensor>> => {
    if (calibration) return calibration;
    const source = await nihSplitSource(nih, config.pretrain.imageSet, config.backbone.inputSize);
    const model = loadBackbone(config, 'none', opts.rng.fork('init:none'));
    try {
      const r = reestimateBatchNorm(model, source, 64);
      log(
        `no pretraining, BatchNorm re-estimated on ${r.images} NIH-format ${config.pretrain.imageSet} images (${r.stats.size / 2} BatchNorm layers)`,
      );
      return (calibration = r.stats);
    } finally {
      model.dispose();
      source.dispose();
    }
  };
  const backbone = (init: EvalInit): ResNet => {
    if (init !== 'none_bn') return loadBackbone(config, init, opts.rng.fork(`init:${init}`));
    const model = loadBackbone(config, 'none', opts.rng.fork('init:none'));
    applyBatchNormStats(model, calibration!);
    return model;
  };
  try {
    if (opts.inits.includes('none_bn')) await calibrated();
    const subsetsBySeed = new Map(
      config.seeds.map((seed) => [seed, seedSubsets(split, le, seed, opts.rng)] as const),
    );
    for (const init of opts.inits) {
      // The frozen backbone and its features are made only when a classifier still has to be trained.
      let frozen: ResNet | null = null;
      let feats: Float32Array | null = null;
      const frozenBackbone = (): ResNet => (frozen ??= backbone(init));
      const features = (): Float32Array => (feats ??= extractFeatures(frozenBackbone(), images));
      try {
        for (const seed of config.seeds) {
          const rng = opts.rng.fork(`${init}:${seed}`);
          const subsets = subsetsBySeed.get(seed)!;
          for (const protocol of ['ours', 'authors'] as const) {
            for (const sub of subsets[protocol]) {
              const base = {
                init,
                protocol,
                fraction: sub.fraction,
                usedFraction: sub.used,
                trainImages: sub.indices.length,
                seed,
                subset: subsetFingerprint(split, sub.indices),
              };
              const tag = `${init} · ${protocol === 'authors' ? "authors' protocol · " : ''}`;
              const wanted = (mode: 'frozen' | 'endToEnd'): boolean =>
                opts.modes.includes(mode) && (protocol === 'ours' || le.authorsProtocol.includes(mode));
              const report = (r: ProbeResult): string =>
                `test AUC ${(protocol === 'ours' ? r.testAuc : r.bestTestAuc).toFixed(4)} (epoch ${protocol === 'ours' ? r.selectedEpoch : 'best on test'})`;
              if (wanted('frozen')) {
                const path = linearEvalRunPath(
                  config,
                  init,
                  'frozen',
                  protocol,
                  sub.fraction,
                  seed,
                  base.subset,
                );
                const label = `${tag}frozen · ${(100 * sub.fraction).toFixed(0)}% (${sub.indices.length} images) · seed ${seed}`;
                let run = done(path, label);
                if (!run) {
                  const f = features();
                  const dim = frozenBackbone().outChannels;
                  // With augmentation, the frozen backbone (eval mode) sees new crops every epoch.
                  const augRng = rng.fork(`probe-aug:${protocol}:${sub.fraction}`);
                  // In batches, so that a streamed set holds one batch of pixels; the crops are drawn
                  // per image in order, as over the whole subset at once.
                  const epochFeatures = le.probe.augment
                    ? (): Float32Array => {
                        const out = new Float32Array(sub.indices.length * dim);
                        for (let s = 0; s < sub.indices.length; s += 64) {
                          const plain = images.batch(sub.indices.slice(s, s + 64));
                          const x = tf.tidy(() =>
                            randomResizedCropFlip(plain, plain.shape[1], augRng, undefined, le.interpolation),
                          );
                          plain.dispose();
                          try {
                            out.set(extractFeatures(frozenBackbone(), x), s * dim);
                          } finally {
                            x.dispose();
                          }
                        }
                        return out;
                      }
                    : undefined;
                  const r = guarded({ ...base, mode: 'frozen' }, () =>
                    fitLinearProbe(
                      featureSet(f, dim, split.labels, sub.indices),
                      featureSet(f, dim, split.labels, split.val),
                      featureSet(f, dim, split.labels, split.test),
                      {
                        ...le.probe,
                        rng: rng.fork(`probe:${protocol === 'ours' ? '' : 'authors:'}${sub.fraction}`),
                        ...(epochFeatures ? { epochFeatures } : {}),
                      },
                    ),
                  );
                  run = { ...base, mode: 'frozen', ...r };
                  writeJsonAtomic(path, run);
                  log(`${label}: ${report(r)}`);
                }
                runs.push(run);
              }
              if (wanted('endToEnd')) {
                const path = linearEvalRunPath(
                  config,
                  init,
                  'endToEnd',
                  protocol,
                  sub.fraction,
                  seed,
                  base.subset,
                );
                const label = `${tag}end-to-end · ${(100 * sub.fraction).toFixed(0)}% (${sub.indices.length} images) · seed ${seed}`;
                let run = done(path, label);
                if (!run) {
                  const model = backbone(init);
                  try {
                    const r = guarded({ ...base, mode: 'endToEnd' }, () =>
                      fitEndToEnd(
                        model,
                        images,
                        split.labels,
                        { train: sub.indices, val: split.val, test: split.test },
                        {
                          ...le.endToEnd,
                          interpolation: le.interpolation,
                          rng: rng.fork(`e2e:${protocol === 'ours' ? '' : 'authors:'}${sub.fraction}`),
                        },
                      ),
                    );
                    run = { ...base, mode: 'endToEnd', ...r };
                    writeJsonAtomic(path, run);
                    log(`${label}: ${report(r)}`);
                  } finally {
                    model.dispose();
                  }
                }
                runs.push(run);
              }
            }
          }
        }
      } finally {
        (frozen as ResNet | null)?.dispose();
      }
    }
  } finally {
    images.dispose();
  }
  return { split: { train: split.train.length, val: split.val.length, test: split.test.length }, runs };
}
