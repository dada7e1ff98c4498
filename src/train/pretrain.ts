/**
 * Barlow Twins pretraining as a `TrainTask`: epoch-shuffled batches, the two augmented views, the loss,
 * LARS with main.py's two learning-rate groups and schedule.
 */
import * as tf from '@tensorflow/tfjs';
import { barlowTwinsViews, type ViewStrength } from '../data/augment.js';
import type { Rng } from '../rng.js';
import { makeRng } from '../rng.js';
import type { BarlowTwins } from '../models/barlowTwins.js';
import { Lars, btLearningRate } from '../models/lars.js';
import { barlowTwinsGradients } from '../models/microBatchBt.js';
import type { RawTensor } from '../models/weights.js';
import type { TrainTask } from './loop.js';

/** Images by index: `batch` returns `[n, H, W, 1]` float32 in [0, 1] that the caller frees. */
export interface ImageSource {
  count: number;
  batch(indices: number[]): tf.Tensor4D;
}

/** Indices of the batch at global `step`: each epoch is a fresh permutation from `seed` (last partial batch dropped). */
export function batchIndices(count: number, batchSize: number, step: number, seed: number): number[] {
  const perEpoch = Math.floor(count / batchSize);
  if (perEpoch < 1) throw new Error(`batchIndices: ${count} images cannot fill one batch of ${batchSize}`);
  const epoch = Math.floor(step / perEpoch);
  const perm = makeRng(seed)
    .fork(`epoch:${epoch}`)
    .shuffle(Array.from({ length: count }, (_, i) => i));
  const k = step % perEpoch;
  return perm.slice(k * batchSize, (k + 1) * batchSize);
}

export interface PretrainTaskOptions {
  batchSize: number;
  /** Side of the views fed to the backbone. */
  inputSize: number;
  epochs: number;
  stepsPerEpoch: number;
  lrWeights: number;
  lrBiases: number;
  weightDecay: number;
  warmupEpochs: number;
  /** Seed of the data order (the loop's seed is fine). */
  seed: number;
  /** Images per backbone pass of each view (0 or ≥ batchSize: one pass); see `models/microBatchBt.ts`. */
  microBatch?: number;
  /** Augmentation strength of the two views (main.py's when absent). */
  views?: ViewStrength;
  /** Keep a copy of the lowest-loss epoch's backbone (`transfer: 'lowest-loss'`). */
  keepBest?: boolean;
}

const OPT_PREFIX = 'optimizer.mu.';
const BEST_PREFIX = 'best.';
const BEST_LOSS = 'best.epoch_loss';

/** Barlow Twins + LARS over an image source. */
export class PretrainTask implements TrainTask {
  readonly optimizer: Lars;
  private readonly byTfName = new Map<string, string>();

  constructor(
    readonly model: BarlowTwins,
    readonly data: ImageSource,
    readonly opts: PretrainTaskOptions,
  ) {
    this.optimizer = new Lars({ weightDecay: opts.weightDecay });
    for (const [name, v] of model.namedVariables()) this.byTfName.set(v.name, name);
  }

  /** The backbone of the epoch with the lowest mean loss so far (see `noteEpoch`), by parameter name. */
  private best: Map<string, tf.Tensor> | null = null;
  private bestLoss = Infinity;
  private bestLossT: tf.Tensor | null = null;

  stateTensors(): Map<string, tf.Tensor> {
    const m = new Map<string, tf.Tensor>(this.model.namedVariables());
    for (const [name, mu] of this.optimizer.state()) m.set(OPT_PREFIX + name, mu);
    if (this.best) {
      for (const [name, t] of this.best) m.set(BEST_PREFIX + name, t);
      m.set(BEST_LOSS, this.bestLossT!);
    }
    return m;
  }

  /**
   * Called at the end of each epoch with its mean loss: keeps a copy of the backbone when the loss is
   * the lowest so far (for `transfer: 'lowest-loss'`; kept in the checkpoint, so a resume keeps it).
   */
  noteEpoch(meanLoss: number): void {
    if (!this.opts.keepBest || !(meanLoss < this.bestLoss)) return;
    this.bestLoss = meanLoss;
    this.bestLossT?.dispose();
    this.bestLossT = tf.scalar(meanLoss);
    if (this.best) tf.dispose([...this.best.values()]);
    this.best = new Map(
      this.model.backbone.store.all().map((p) => [p.name, p.variable.clone()] as [string, tf.Tensor]),
    );
  }

  /** The lowest-loss backbone and its epoch loss, or null before the first epoch ends. */
  lowestLoss(): { loss: number; tensors: Map<string, tf.Tensor> } | null {
    return this.best ? { loss: this.bestLoss, tensors: this.best } : null;
  }

  loadStateTensors(tensors: Map<string, RawTensor>): void {
    const vars = this.model.namedVariables();
    const mu = new Map<string, tf.Tensor>();
    const best = new Map<string, tf.Tensor>();
    for (const [name, t] of tensors) {
      if (name.startsWith(OPT_PREFIX)) mu.set(name.slice(OPT_PREFIX.length), tf.tensor(t.data, t.shape));
      else if (name === BEST_LOSS) {
        this.bestLoss = t.data[0]!;
        this.bestLossT?.dispose();
        this.bestLossT = tf.scalar(this.bestLoss);
      } else if (name.startsWith(BEST_PREFIX))
        best.set(name.slice(BEST_PREFIX.length), tf.tensor(t.data, t.shape));
    }
    if (this.best) tf.dispose([...this.best.values()]);
    this.best = best.size > 0 ? best : null;
    for (const [name, v] of vars) {
      const t = tensors.get(name);
      if (!t) throw new Error(`checkpoint lacks ${name}`);
      v.assign(tf.tensor(t.data, t.shape));
    }
    this.optimizer.loadState(mu);
    tf.dispose([...mu.values()]);
  }

  trainStep(step: number, rng: Rng): number {
    const idx = batchIndices(this.data.count, this.opts.batchSize, step, this.opts.seed);
    const images = this.data.batch(idx);
    const [v1, v2] = barlowTwinsViews(images, this.opts.inputSize, rng, this.opts.views);
    images.dispose();
    try {
      return this.stepOnViews(step, v1, v2);
    } finally {
      tf.dispose([v1, v2]);
    }
  }

  /**
   * One Barlow Twins + LARS step at global `step` on given views (the schedule, the loss with
   * train-mode BatchNorm, the gradients and the LARS update); the views stay the caller's. Split out of
   * `trainStep` so that the training-parity test can feed the PyTorch peer's fixed views.
   */
  stepOnViews(step: number, v1: tf.Tensor4D, v2: tf.Tensor4D): number {
    const o = this.opts;
    const { lrWeights, lrBiases } = btLearningRate(step, {
      batchSize: o.batchSize,
      epochs: o.epochs,
      loaderLen: o.stepsPerEpoch,
      lrWeights: o.lrWeights,
      lrBiases: o.lrBiases,
      warmupEpochs: o.warmupEpochs,
    });
    const trainable = this.model.trainable();
    const { loss, named } = this.gradients(trainable, v1, v2);
    this.optimizer.applyGradients(trainable, named, lrWeights, lrBiases);
    tf.dispose(Object.values(named));
    return loss;
  }

  private gradients(
    trainable: Map<string, tf.Variable>,
    v1: tf.Tensor4D,
    v2: tf.Tensor4D,
  ): { loss: number; named: Record<string, tf.Tensor> } {
    const micro = this.opts.microBatch ?? 0;
    if (micro > 0 && micro < this.opts.batchSize) {
      const { loss, grads } = barlowTwinsGradients(this.model, v1, v2, { microBatch: micro });
      return { loss, named: Object.fromEntries(grads) };
    }
    const { value, grads } = tf.variableGrads(() => this.model.loss(v1, v2), [...trainable.values()]);
    const named: Record<string, tf.Tensor> = {};
    for (const [tfName, g] of Object.entries(grads)) named[this.byTfName.get(tfName)!] = g;
    const loss = value.dataSync()[0]!;
    value.dispose();
    return { loss, named };
  }

  dispose(): void {
    this.optimizer.dispose();
    if (this.best) tf.dispose([...this.best.values()]);
    this.best = null;
    this.bestLossT?.dispose();
    this.bestLossT = null;
  }
}
