/**
 * Phase one of the paper as notebook 03 runs it: the ImageNet(-proxy) initialisation, then Barlow
 * Twins on the NIH training images from scratch and from that initialisation. Each run resumes from
 * its checkpoint and writes the backbone file later notebooks load.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot, type Config } from '../config.js';
import { barlowTwinsViews, type ViewStrength } from '../data/augment.js';
import { DataCache, folderFingerprint } from '../data/dataCache.js';
import { ImageCache, IN_MEMORY_BYTES } from '../data/imageCache.js';
import { imageBatches } from '../data/images.js';
import { IssueLog } from '../data/issues.js';
import { naturalImages } from '../data/naturalImages.js';
import type { NihDataset } from '../data/nih.js';
import {
  backbonePath,
  btStartPath,
  imagenetFingerprint,
  loadBackboneFile,
  loadBackbone,
  makeBackbone,
  pretrainFingerprint,
  saveBackbone,
  type BackboneInit,
} from '../models/backbones.js';
import { BarlowTwins, crossCorrelation } from '../models/barlowTwins.js';
import { ProxyPretrainTask } from '../models/proxyPretrain.js';
import {
  loadKerasResNetWeights,
  loadTorchResNetWeights,
  saveCheckpoint,
  type ImportReport,
} from '../models/weights.js';
import { writeStandInImagenetFile } from '../models/standInWeights.js';
import { knnAccuracy, pooledFeatures } from './knn.js';
import type { Rng } from '../rng.js';
import { trainLoop, type LossPoint } from './loop.js';
import { PretrainTask, type ImageSource } from './pretrain.js';
import { btStepMemory, describeBtMemory, measureActivationBytes } from '../models/memoryPlan.js';
import { tensorRows } from '../data/tensorRows.js';

export interface ProxyResult {
  losses: LossPoint[];
  /** Top-1 accuracy on held-out proxy images (chance = 1 / classes). */
  heldOutAccuracy: number;
  classes: number;
  path: string;
}

/**
 * The ImageNet stand-in of smoke/demo: supervised classification of procedurally generated natural
 * images (shapes, textures; greyscale), then the backbone saved as `imagenet`.
 */
export async function pretrainProxy(config: Config, rng: Rng): Promise<ProxyResult> {
  const p = config.proxy;
  const size = config.backbone.inputSize;
  const data = naturalImages(p.images, size, p.classes, rng.fork('proxy-images'));
  const held = naturalImages(
    Math.max(p.classes * 10, Math.round(p.images / 5)),
    size,
    p.classes,
    rng.fork('proxy-heldout'),
  );
  const images = tf.tensor4d(data.pixels, [p.images, size, size, 1]);
  const heldImages = tf.tensor4d(held.pixels, [held.labels.length, size, size, 1]);
  const model = makeBackbone(config, rng.fork('proxy-init'), { numClasses: p.classes });
  const stepsPerEpoch = Math.floor(p.images / p.batchSize);
  const task = new ProxyPretrainTask(model, images, data.labels, {
    batchSize: p.batchSize,
    lr: p.lr,
    seed: config.seed,
    weightDecay: p.weightDecay,
    ...(p.schedule === 'cosine' ? { totalSteps: p.epochs * stepsPerEpoch, warmupSteps: p.warmupSteps } : {}),
  });
  try {
    const fp = imagenetFingerprint(config);
    const r = await trainLoop(task, {
      seed: config.seed,
      epochs: p.epochs,
      stepsPerEpoch,
      batchSize: p.batchSize,
      checkpointPath: join(config.paths.checkpoints, `proxy-${fp}.ckpt`),
      logEverySeconds: config.pretrain.logEverySeconds,
      label: 'ImageNet-proxy',
    });
    const path = backbonePath(config, 'imagenet');
    saveBackbone(model, path, { kind: 'imagenet-proxy', classes: p.classes });
    return {
      losses: r.losses,
      heldOutAccuracy: task.accuracy(heldImages, held.labels),
      classes: p.classes,
      path,
    };
  } finally {
    task.dispose();
    model.dispose();
    tf.dispose([images, heldImages]);
  }
}

/** One imported ImageNet file: where it came from, what the importer did, where the backbone was saved. */
export interface ImportedImagenet {
  file: string;
  report: ImportReport;
  path: string;
}

/**
 * What the `imagenet` initialisation came from: the user's file (`paper`) or the proxy (smoke/demo);
 * `btStart`: the separate file Barlow Twins from ImageNet starts from, when one is given.
 */
export type ImagenetInitResult =
  ({ kind: 'file'; btStart: ImportedImagenet | null } & ImportedImagenet) | ({ kind: 'proxy' } & ProxyResult);

/** Imports a torchvision/timm safetensors or Keras HDF5 ResNet file into a backbone of the config and saves it. */
async function importImagenetFile(
  config: Config,
  file: string,
  path: string,
  rng: Rng,
): Promise<ImportedImagenet> {
  if (!existsSync(file))
    throw new Error(`${file}: no such file (CXR_IMAGENET_WEIGHTS / CXR_IMAGENET_WEIGHTS_BT)`);
  const model = makeBackbone(config, rng);
  try {
    // A Keras file makes config.backbone.variant 'v1' (config.ts), the architecture its weights are for.
    const report = /\.h5$|\.hdf5$/i.test(file)
      ? await loadKerasResNetWeights(model, file)
      : loadTorchResNetWeights(model, file);
    saveBackbone(model, path, { kind: 'imagenet-file', file });
    return { file, report, path };
  } finally {
    model.dispose();
  }
}

/**
 * The `imagenet` backbone notebooks 03–06 start from: the user's ImageNet weight file when
 * `config.data.imagenetWeights` is set (CXR_IMAGENET_WEIGHTS: torchvision/timm safetensors, e.g.
 * torchvision's `IMAGENET1K_V1` as the authors' ImageNet baseline, or `IMAGENET1K_V2`, same names and
 * shapes; or Keras's HDF5, which makes every backbone ResNet v1 with Keras's caffe-style input folded in),
 * conv1 summed over RGB for the 1-channel input and the file's input normalisation folded into conv1/bn1,
 * so that it takes raw [0, 1] grey pixels as every model here does; else the proxy. `paper` requires the
 * file: a proxy there would be silently wrong. With `imagenetWeightsBt` (CXR_IMAGENET_WEIGHTS_BT: the
 * authors started Barlow Twins from `IMAGENET1K_V2`) that file is imported too, as `bt_imagenet`'s start.
 */
export async function imagenetInit(config: Config, rng: Rng): Promise<ImagenetInitResult> {
  const file = config.data.imagenetWeights;
  if (!file) {
    if (config.profile === 'paper') {
      throw new Error(
        "the paper profile starts from real ImageNet weights: set CXR_IMAGENET_WEIGHTS to a torchvision/timm ResNet-50 .safetensors (IMAGENET1K_V1 for the ImageNet baseline; optionally CXR_IMAGENET_WEIGHTS_BT to IMAGENET1K_V2 for Barlow Twins' start) or a Keras resnet50 ... notop .h5 file (see REPRODUCTION.md)",
      );
    }
    return { kind: 'proxy', ...(await pretrainProxy(config, rng)) };
  }
  if (config.dryRun && !existsSync(file)) {
    writeStandInImagenetFile(file, config.backbone, config.seed);
    console.log(
      `dry run: wrote ${file}, random weights in torchvision's ResNet layout (RGB, 1000 classes), standing in for the ImageNet file`,
    );
  }
  if (!existsSync(file)) throw new Error(`CXR_IMAGENET_WEIGHTS=${file}: no such file`);
  const main = await importImagenetFile(
    config,
    file,
    backbonePath(config, 'imagenet'),
    rng.fork('imagenet-init'),
  );
  const btPath = btStartPath(config);
  const btStart = btPath
    ? await importImagenetFile(config, config.data.imagenetWeightsBt, btPath, rng.fork('imagenet-bt-init'))
    : null;
  return { kind: 'file', ...main, btStart };
}

/** Above this many bytes of float32 pixels, `nihTrainSource` streams from the on-disk cache. */
export const IN_MEMORY_SOURCE_BYTES = IN_MEMORY_BYTES;

/** Which NIH images a source holds: the official lists, or every image (the authors' log: all 112,120, test list included). */
export type NihImageSet = 'train_val' | 'test' | 'all';

/**
 * The NIH images of `set` at `size` px as an `ImageSource` (bad files reported to `log`): held in memory when
 * they fit in `inMemoryBytes` (default `IN_MEMORY_SOURCE_BYTES`, 2 GiB; notebook 03 passes `config.data.inMemoryBytes`)
 * (then with `tensor` and the image indices `ids`), otherwise decoded once into the on-disk cache
 * (`data/imageCache.ts`, under `.cache/images/`, keyed by the files' content fingerprint, `folderFingerprint`,
 * as the run keys are) and read batch by batch.
 */
export async function nihSplitSource(
  nih: NihDataset,
  set: NihImageSet,
  size: number,
  log: IssueLog = new IssueLog(),
  opts: { stream?: boolean; cacheDir?: string; inMemoryBytes?: number } = {},
): Promise<ImageSource & { tensor?: tf.Tensor4D; ids?: string[]; dispose(): void }> {
  const inSet = (id: string): boolean =>
    set === 'all' || (set === 'train_val' ? nih.trainVal.has(id) : nih.test.has(id));
  const wanted = nih.records.map((r) => r.imageIndex).filter((id) => inSet(id) && nih.imagePaths.has(id));
  const paths = wanted.map((id) => nih.imagePaths.get(id)!);
  if (paths.length === 0) {
    const listed =
      set === 'all'
        ? `${nih.records.length} image(s) in the CSV`
        : `${(set === 'train_val' ? nih.trainVal : nih.test).size} image(s) in ${nih.dir}/${set === 'train_val' ? 'train_val_list' : 'test_list'}.txt`;
    throw new Error(
      `NIH: no pretraining images: ${listed}, none with a readable PNG among the ${nih.imagePaths.size} usable (put the PNGs under images/ and check the list, or point CXR_NIH_DIR at the right folder)`,
    );
  }
  if (opts.stream ?? paths.length * size * size * 4 > (opts.inMemoryBytes ?? IN_MEMORY_SOURCE_BYTES)) {
    const cache = await ImageCache.open(paths, {
      dir: opts.cacheDir ?? join(repoRoot(), '.cache', 'images'),
      size,
      // By content (SHA-1 per file, reused from openNih's image check when it made them).
      fingerprint: folderFingerprint(nih.dir, paths, nih.hashes ?? new DataCache(null)),
      log,
      label: `NIH ${set} images`,
    });
    return { count: cache.count, batch: (indices) => cache.batch(indices), dispose: () => cache.close() };
  }
  const parts: tf.Tensor4D[] = [];
  const ids: string[] = [];
  for await (const b of imageBatches(paths, { size, batchSize: 256, log })) {
    parts.push(b.images);
    ids.push(...b.indices.map((i) => wanted[i]!));
  }
  if (parts.length === 0)
    throw new Error(
      `nihSplitSource: none of the ${paths.length} NIH ${set} images could be read (see the rejected-input report)`,
    );
  const tensor = tf.concat(parts) as tf.Tensor4D;
  tf.dispose(parts);
  return {
    tensor,
    ids,
    count: tensor.shape[0],
    batch: (indices) => tensorRows(tensor, indices),
    dispose: () => tensor.dispose(),
  };
}

/** The NIH train_val images (see `nihSplitSource`). */
export async function nihTrainSource(
  nih: NihDataset,
  size: number,
  log: IssueLog = new IssueLog(),
  opts: { stream?: boolean; cacheDir?: string } = {},
): Promise<ImageSource & { tensor?: tf.Tensor4D; ids?: string[]; dispose(): void }> {
  return nihSplitSource(nih, 'train_val', size, log, opts);
}

export interface CorrelationSummary {
  /** The top-left `k × k` block of the cross-correlation matrix C (for the picture). */
  block: number[][];
  /** Mean of C's diagonal (the invariance term pushes it to 1). */
  meanDiagonal: number;
  /** Mean |C_ij|, i ≠ j, over the whole matrix (the redundancy term pushes it to 0). */
  meanAbsOffDiagonal: number;
}

/**
 * C between the embeddings of two augmented views of a fixed probe batch, as the loss sees it: BatchNorm
 * on batch statistics (running statistics left untouched), so the picture is not blurred by running
 * averages that lag a fast-moving short run.
 */
export function correlationSummary(
  model: BarlowTwins,
  images: tf.Tensor4D,
  inputSize: number,
  rng: Rng,
  k = 32,
  strength: ViewStrength = {},
): CorrelationSummary {
  return tf.tidy(() => {
    const views = barlowTwinsViews(images, inputSize, rng, strength);
    const z = views.map((v) =>
      model.projector.forward(
        model.backbone.forward(v, { training: true, updateStats: false }).pooled,
        true,
        false,
      ),
    );
    const c = crossCorrelation(z[0]!, z[1]!);
    const d = c.shape[0];
    const m = c.arraySync();
    let diag = 0;
    let off = 0;
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++)
        if (i === j) diag += m[i]![j]!;
        else off += Math.abs(m[i]![j]!);
    const kk = Math.min(k, d);
    return {
      block: m.slice(0, kk).map((r) => r.slice(0, kk)),
      meanDiagonal: diag / d,
      meanAbsOffDiagonal: off / (d * d - d),
    };
  });
}

/** Labelled images for the kNN probe (normal = 0, abnormal = 1), at the backbone's input size. */
export interface KnnSets {
  gallery: tf.Tensor4D;
  galleryLabels: number[];
  query: tf.Tensor4D;
  queryLabels: number[];
  /** Where they come from, for the notebook's caption. */
  description: string;
}

/**
 * The kNN probe's images: the training list as the gallery, the test list as the queries, labelled
 * normal ("No Finding") or abnormal. The caller disposes the tensors.
 */
export async function nihKnnSets(nih: NihDataset, size: number): Promise<KnnSets> {
  const label = (id: string): number =>
    nih.records.find((r) => r.imageIndex === id)!.labels.includes('No Finding') ? 0 : 1;
  const g = await nihSplitSource(nih, 'train_val', size, undefined, { stream: false });
  const q = await nihSplitSource(nih, 'test', size, undefined, { stream: false });
  return {
    gallery: g.tensor!,
    galleryLabels: g.ids!.map(label),
    query: q.tensor!,
    queryLabels: q.ids!.map(label),
    description: `${q.count} test-list images classified normal/abnormal by their nearest neighbours among ${g.count} training-list images`,
  };
}

/** The probe batch's C and (when on) the kNN accuracy, before training (step 0) and after each epoch. */
export interface PretrainCurvePoint {
  step: number;
  meanDiagonal: number;
  meanAbsOffDiagonal: number;
  knn: number | null;
}

export interface BarlowTwinsResult {
  init: Extract<BackboneInit, 'bt' | 'bt_imagenet'>;
  losses: LossPoint[];
  before: CorrelationSummary;
  after: CorrelationSummary;
  /** Mean C_ii, mean |C_ij| and kNN accuracy before training (step 0) and after every epoch. */
  curve: PretrainCurvePoint[];
  /** Majority-class accuracy of the kNN queries (the chance line). */
  knnMajority: number | null;
  /** Which weights were saved for notebooks 04–06 and, for `lowest-loss`, the epoch loss they had. */
  transfer: { kind: 'last' | 'lowest-loss'; epochLoss: number | null };
  /** The pretraining images (`imageSet`) and how many. */
  imageSet: { set: 'train_val' | 'all'; images: number };
  path: string;
  resumedFrom: number | null;
}

/**
 * Barlow Twins pretraining on `source` starting from random weights (`bt`, residual BatchNorm γ at 0
 * when `zeroInitResidual`, as main.py) or from the `imagenet` backbone (`bt_imagenet`); LARS with
 * main.py's schedule; checkpoint every epoch; the kNN probe after every epoch when `knn` sets are
 * given; the backbone (`transfer`: last or lowest-loss) is saved for notebooks 04–06.
 *
 * @example
 * // Notebook 03's call (CXR_PROFILE=smoke: about a minute on 2 cores).
 * const config = makeConfig({ notebook: '03_pretraining' });
 * const nb = await startNotebook(config);
 * const source = await nihTrainSource(await openNih(config), config.pretrain.sourceSize);
 * const bt = await pretrainBarlowTwins(config, 'bt', source, nb.rng.fork('bt'));
 * console.log(`loss ${bt.losses[0]!.loss} -> ${bt.losses.at(-1)!.loss}; backbone at ${bt.path}`);
 * source.dispose();
 */
export async function pretrainBarlowTwins(
  config: Config,
  init: 'bt' | 'bt_imagenet',
  source: ImageSource,
  rng: Rng,
  knn?: KnnSets,
): Promise<BarlowTwinsResult> {
  const p = config.pretrain;
  const backbone =
    init === 'bt'
      ? makeBackbone(config, rng.fork(`${init}-backbone`), { zeroInitResidual: p.zeroInitResidual })
      : btStartPath(config)
        ? loadBackboneFile(
            config,
            btStartPath(config)!,
            rng.fork(`${init}-backbone`),
            "Barlow Twins' ImageNet start (CXR_IMAGENET_WEIGHTS_BT)",
          )
        : loadBackbone(config, 'imagenet', rng.fork(`${init}-backbone`));
  const model = new BarlowTwins(backbone, p.projector, rng.fork(`${init}-projector`), p.lambda);
  const full = Math.floor(source.count / p.batchSize);
  if (full < 1)
    throw new Error(`pretrainBarlowTwins: ${source.count} images cannot fill a batch of ${p.batchSize}`);
  const stepsPerEpoch = p.maxStepsPerEpoch > 0 ? Math.min(full, p.maxStepsPerEpoch) : full;
  console.log(
    describeBtMemory(
      btStepMemory({
        parameters: [...model.trainable().values()].reduce((s, v) => s + v.size, 0),
        activation: measureActivationBytes(backbone, config.backbone.inputSize),
        batchSize: p.batchSize,
        microBatch: p.microBatch,
        inputSize: config.backbone.inputSize,
        inChannels: backbone.options.inChannels,
        features: backbone.outChannels,
        projector: p.projector,
      }),
      p.batchSize,
      p.microBatch,
    ),
  );
  const views = { scale: p.cropScale, jitter: p.jitter, interpolation: p.interpolation };
  const task = new PretrainTask(model, source, {
    batchSize: p.batchSize,
    inputSize: config.backbone.inputSize,
    epochs: p.epochs,
    stepsPerEpoch,
    lrWeights: p.lrWeights,
    lrBiases: p.lrBiases,
    weightDecay: p.weightDecay,
    warmupEpochs: p.warmupEpochs,
    seed: config.seed,
    microBatch: p.microBatch,
    views,
    keepBest: p.transfer === 'lowest-loss',
  });
  // A large probe batch: with n images an uncorrelated pair still shows |C_ij| ≈ 0.8/√n, the floor
  // below which the off-diagonal cannot visibly fall.
  const probe = source.batch([...Array(Math.min(source.count, p.probeImages)).keys()]);
  const useKnn = knn !== undefined && p.knn > 0;
  const knnNow = (): number => {
    const gf = pooledFeatures(backbone, knn!.gallery);
    const qf = pooledFeatures(backbone, knn!.query);
    try {
      return knnAccuracy(
        gf,
        knn!.galleryLabels,
        qf,
        knn!.queryLabels,
        Math.min(p.knn, knn!.galleryLabels.length),
      ).accuracy;
    } finally {
      tf.dispose([gf, qf]);
    }
  };
  try {
    const summary = (): CorrelationSummary =>
      correlationSummary(model, probe, config.backbone.inputSize, rng.fork('probe'), 32, views);
    const before = summary();
    const knn0 = useKnn ? knnNow() : null;
    const ckpt = join(config.paths.checkpoints, `${init}-${pretrainFingerprint(config)}.ckpt`);
    const r = await trainLoop(task, {
      seed: config.seed,
      epochs: p.epochs,
      stepsPerEpoch,
      batchSize: p.batchSize,
      checkpointPath: ckpt,
      logEverySeconds: p.logEverySeconds,
      label: init === 'bt' ? 'Barlow Twins (scratch)' : 'Barlow Twins (from ImageNet)',
      endOfEpoch: (_epoch, meanLoss) => {
        task.noteEpoch(meanLoss);
        const c = summary();
        return { diag: c.meanDiagonal, off: c.meanAbsOffDiagonal, ...(useKnn ? { knn: knnNow() } : {}) };
      },
    });
    const after = summary();
    const path = backbonePath(config, init);
    const best = p.transfer === 'lowest-loss' ? task.lowestLoss() : null;
    if (best) {
      const tensors = new Map<string, tf.Tensor>([...best.tensors].filter(([n]) => !n.startsWith('fc.')));
      saveCheckpoint(path, tensors, {
        kind: init,
        steps: r.step,
        transfer: 'lowest-loss',
        epochLoss: best.loss,
      });
    } else {
      saveBackbone(backbone, path, { kind: init, steps: r.step, transfer: 'last' });
    }
    const curve: PretrainCurvePoint[] = [
      {
        step: 0,
        meanDiagonal: before.meanDiagonal,
        meanAbsOffDiagonal: before.meanAbsOffDiagonal,
        knn: knn0,
      },
      ...r.epochs.map((e) => ({
        step: e.epoch * stepsPerEpoch,
        meanDiagonal: e.diag ?? NaN,
        meanAbsOffDiagonal: e.off ?? NaN,
        knn: e.knn ?? null,
      })),
    ];
    const majority = useKnn ? majorityRate(knn!.queryLabels) : null;
    return {
      init,
      losses: r.losses,
      before,
      after,
      curve,
      knnMajority: majority,
      transfer: { kind: best ? 'lowest-loss' : 'last', epochLoss: best ? best.loss : null },
      imageSet: { set: p.imageSet, images: source.count },
      path,
      resumedFrom: r.resumedFrom,
    };
  } finally {
    probe.dispose();
    task.dispose();
    model.dispose();
  }
}

function majorityRate(labels: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return Math.max(...counts.values()) / labels.length;
}

/** True when every backbone notebook 03 writes exists for this config. */
export function pretrainedBackbonesExist(config: Config): boolean {
  return (['imagenet', 'bt', 'bt_imagenet'] as const).every((i) => existsSync(backbonePath(config, i)));
}
