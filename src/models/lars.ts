/**
 * LARS and the learning-rate schedule exactly as facebookresearch/barlowtwins main.py sets them up:
 * two parameter groups by rank (weights: rank > 1; biases and BatchNorm: rank 1), weight decay and the
 * trust ratio for weights only, momentum 0.9, η 0.001, trust ratio 1 when a norm is 0; linear warm-up
 * over 10 epochs then cosine decay to 0.001 × base, base = batch / 256, weights ×0.2, biases ×0.0048.
 */
import * as tf from '@tensorflow/tfjs';
import { larsUpdate } from '../backend/index.js';

export interface LarsOptions {
  /** main.py default 1e-6. */
  weightDecay?: number;
  momentum?: number;
  eta?: number;
}

/** True when main.py puts a parameter of this shape in the "biases and BatchNorm" group (ndim == 1). */
export function isBiasLike(shape: readonly number[]): boolean {
  return shape.length <= 1;
}

/** LARS over named tf.Variables; momentum buffers are named after their parameters (for checkpoints). */
export class Lars {
  private readonly mu = new Map<string, tf.Variable>();
  readonly weightDecay: number;
  readonly momentum: number;
  readonly eta: number;

  /** One native pass per parameter on the accelerated backend (`larsUpdate`); false: always the tensor ops below. */
  fused = true;

  constructor(opts: LarsOptions = {}) {
    this.weightDecay = opts.weightDecay ?? 1e-6;
    this.momentum = opts.momentum ?? 0.9;
    this.eta = opts.eta ?? 0.001;
  }

  /**
   * Applies one step. `params` and `grads` are keyed by parameter name; a parameter without a gradient
   * is skipped (as torch skips `p.grad is None`). lrWeights for rank > 1, lrBiases for rank ≤ 1.
   * Does not dispose the gradients.
   */
  applyGradients(
    params: Map<string, tf.Variable>,
    grads: Record<string, tf.Tensor>,
    lrWeights: number,
    lrBiases: number,
  ): void {
    for (const [name, p] of params) {
      const g = grads[name];
      if (!g) continue;
      let mu = this.mu.get(name);
      if (!mu) {
        mu = tf.variable(tf.zerosLike(p), false);
        this.mu.set(name, mu);
      }
      const biasLike = isBiasLike(p.shape);
      const step = {
        lr: biasLike ? lrBiases : lrWeights,
        weightDecay: this.weightDecay,
        eta: this.eta,
        momentum: this.momentum,
        biasLike,
      };
      if (this.fused && larsUpdate(p, mu, g, step)) continue;
      tf.tidy(() => {
        let dp: tf.Tensor = g;
        if (!biasLike) {
          if (this.weightDecay !== 0) dp = tf.add(dp, tf.mul(p, this.weightDecay));
          // √Σx² rather than tf.norm, which squares with Pow, a JavaScript kernel ~20× slower than Square
          // (12% of the demo's step); a float32 square is the same number either way.
          const pn = tf.sqrt(tf.sum(tf.square(p)));
          const un = tf.sqrt(tf.sum(tf.square(dp)));
          const ok = tf.logicalAnd(tf.greater(pn, 0), tf.greater(un, 0));
          // Guard the division so 0/0 never appears even in the branch where() discards.
          const q = tf.where(ok, tf.div(tf.mul(pn, this.eta), tf.maximum(un, 1e-30)), tf.onesLike(pn));
          dp = tf.mul(dp, q);
        }
        mu!.assign(tf.add(tf.mul(mu!, this.momentum), dp));
        p.assign(tf.sub(p, tf.mul(mu!, biasLike ? lrBiases : lrWeights)));
      });
    }
  }

  /** Momentum buffers by parameter name (the optimizer's whole state), for checkpoints. */
  state(): Map<string, tf.Variable> {
    return this.mu;
  }

  /** Restores momentum buffers (copies the tensors). */
  loadState(state: Map<string, tf.Tensor>): void {
    this.dispose();
    for (const [name, t] of state) this.mu.set(name, tf.variable(t.clone(), false));
  }

  dispose(): void {
    for (const v of this.mu.values()) v.dispose();
    this.mu.clear();
  }
}

export interface BtScheduleOptions {
  batchSize: number;
  epochs: number;
  /** Batches per epoch (`len(loader)`). */
  loaderLen: number;
  /** main.py: 0.2 and 0.0048. */
  lrWeights: number;
  lrBiases: number;
  /** Warm-up in epochs; main.py hard-codes 10. */
  warmupEpochs?: number;
}

/**
 * main.py's `adjust_learning_rate` at global step `step` (epoch·loaderLen + batch index, from 0):
 * the two group learning rates. Same float operation order as the peer, so values match exactly.
 */
export function btLearningRate(step: number, o: BtScheduleOptions): { lrWeights: number; lrBiases: number } {
  let maxSteps = o.epochs * o.loaderLen;
  const warmupSteps = (o.warmupEpochs ?? 10) * o.loaderLen;
  const baseLr = o.batchSize / 256;
  let lr: number;
  if (step < warmupSteps) {
    lr = (baseLr * step) / warmupSteps;
  } else {
    const s = step - warmupSteps;
    maxSteps -= warmupSteps;
    const q = 0.5 * (1 + Math.cos((Math.PI * s) / maxSteps));
    const endLr = baseLr * 0.001;
    lr = baseLr * q + endLr * (1 - q);
  }
  return { lrWeights: lr * o.lrWeights, lrBiases: lr * o.lrBiases };
}
