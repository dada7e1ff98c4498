/**
 * Barlow Twins pretraining as a `TrainTask`: epoch-shuffled batches, the two augmented views, the loss,
 * LARS with main.py's two learning-rate groups and schedule.
 */
import * as tf from '@tensorflow/tfjs';
import { barlowTwinsViews } from '../data/augment.js';
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
  const perm = makeRng(seed).fork(`epoch:${epoch}`).shuffle(Array.from({ length: count }, (_, i) => i));
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
}

const OPT_PREFIX = 'optimizer.mu.';

/** Barlow Twins + LARS over an image source. */
export class PretrainTask implements TrainTask {
  readonly optimizer: Lars;
  private readonly byTfName = new Map<string, string>();

  constructor(readonly model: BarlowTwins, readonly data: ImageSource, readonly opts: PretrainTaskOptions) {
    this.optimizer = new Lars({ weightDecay: opts.weightDecay });
    for (const [name, v] of model.namedVariables()) this.byTfName.set(v.name, name);
  }

  stateTensors(): Map<string, tf.Tensor> {
    const m = new Map<string, tf.Tensor>(this.model.namedVariables());
    for (const [name, mu] of this.optimizer.state()) m.set(OPT_PREFIX + name, mu);
    return m;
  }

  loadStateTensors(tensors: Map<string, RawTensor>): void {
    const vars = this.model.namedVariables();
    const mu = new Map<string, tf.Tensor>();
    for (const [name, t] of tensors) {
      if (name.startsWith(OPT_PREFIX)) mu.set(name.slice(OPT_PREFIX.length), tf.tensor(t.data, t.shape));
    }
    for (const [name, v] of vars) {
      const t = tensors.get(name);
      if (!t) throw new Error(`checkpoint lacks ${name}`);
      v.assign(tf.tensor(t.data, t.shape));
    }
    this.optimizer.loadState(mu);
    tf.dispose([...mu.values()]);
  }

  trainStep(step: number, rng: Rng): number {
    const o = this.opts;
    const { lrWeights, lrBiases } = btLearningRate(step, {
      batchSize: o.batchSize, epochs: o.epochs, loaderLen: o.stepsPerEpoch,
      lrWeights: o.lrWeights, lrBiases: o.lrBiases, warmupEpochs: o.warmupEpochs,
    });
    const idx = batchIndices(this.data.count, o.batchSize, step, o.seed);
    const images = this.data.batch(idx);
    const [v1, v2] = barlowTwinsViews(images, o.inputSize, rng);
    images.dispose();
    const trainable = this.model.trainable();
    const { loss, named } = this.gradients(trainable, v1, v2);
    this.optimizer.applyGradients(trainable, named, lrWeights, lrBiases);
    tf.dispose([v1, v2, ...Object.values(named)]);
    return loss;
  }

  private gradients(trainable: Map<string, tf.Variable>, v1: tf.Tensor4D, v2: tf.Tensor4D): { loss: number; named: Record<string, tf.Tensor> } {
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
  }
}
