/**
 * Barlow Twins (Zbontar et al. 2021) as facebookresearch/barlowtwins main.py has it: a backbone, a
 * projector (Linear without bias → BatchNorm1d → ReLU, repeated, then a final Linear without bias), and
 * the loss on the cross-correlation matrix of the two views' normalised embeddings.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import { tfSeed } from '../rng.js';
import { ParamStore, addBatchNorm, batchNorm, linearUniform } from './params.js';
import type { ResNet } from './resnet.js';

export { Lars, btLearningRate, isBiasLike } from './lars.js';
export type { BtScheduleOptions, LarsOptions } from './lars.js';

/** main.py's default weight of the redundancy-reduction term (the authors' code keeps it; the paper does not state it). */
export const BT_LAMBDA = 0.0051;
const BN_EPS = 1e-5;

// BatchNorm1d(affine=False) in training mode: per-feature batch mean, biased variance, eps inside sqrt.
function standardise(z: tf.Tensor2D): tf.Tensor2D {
  const { mean, variance } = tf.moments(z, 0);
  return tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, BN_EPS)));
}

/**
 * The Barlow Twins loss. z1, z2: `[B, D]` embeddings of the two views (B ≥ 2).
 * c = bn(z1)ᵀ bn(z2) / B; loss = Σ_i (1 − c_ii)² + λ Σ_{i≠j} c_ij².
 * Differentiable; returns a scalar the caller owns.
 */
export function barlowTwinsLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, lambda: number = BT_LAMBDA): tf.Scalar {
  if (z1.rank !== 2 || z2.rank !== 2 || z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) {
    throw new Error(`barlowTwinsLoss: z1 and z2 must both be [B, D], got [${z1.shape}] and [${z2.shape}]`);
  }
  const b = z1.shape[0];
  if (b < 2) throw new Error(`barlowTwinsLoss: batch of ${b}; batch statistics need at least 2`);
  return tf.tidy(() => {
    const n1 = standardise(z1);
    const n2 = standardise(z2);
    // empirical cross-correlation matrix
    const c = tf.div(tf.matMul(n1, n2, true, false), b);
    // Its diagonal straight from the features: no D×D identity mask (D is 8192 in main.py's default projector).
    const diag = tf.div(tf.sum(tf.mul(n1, n2), 0), b);
    const onDiag = tf.sum(tf.square(tf.sub(diag, 1)));
    const offDiag = tf.sub(tf.sum(tf.square(c)), tf.sum(tf.square(diag)));
    return tf.add(onDiag, tf.mul(offDiag, lambda)) as tf.Scalar;
  });
}

/** The cross-correlation matrix itself (`[D, D]`), for the notebook's picture. */
export function crossCorrelation(z1: tf.Tensor2D, z2: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(tf.matMul(standardise(z1), standardise(z2), true, false), z1.shape[0]));
}

/**
 * The projector of main.py: sizes `[inFeatures, ...projector]`; Linear(no bias) → BN → ReLU for every
 * layer but the last, which is a plain Linear(no bias). Names as in main.py's nn.Sequential
 * (`projector.0.weight`, `projector.1.running_mean`, …, `projector.6.weight` for 8192-8192-8192).
 */
export class Projector {
  readonly store: ParamStore;
  readonly sizes: number[];

  constructor(inFeatures: number, projector: number[], rng: Rng, store: ParamStore = new ParamStore()) {
    if (projector.length < 1) throw new Error('Projector: needs at least one layer size');
    this.store = store;
    this.sizes = [inFeatures, ...projector];
    let idx = 0;
    for (let i = 0; i < this.sizes.length - 1; i++) {
      const [fin, fout] = [this.sizes[i]!, this.sizes[i + 1]!];
      store.add(`projector.${idx}.weight`, linearUniform([fin, fout], fin, tfSeed(rng)), 'weight');
      if (i < this.sizes.length - 2) {
        addBatchNorm(store, `projector.${idx + 1}`, fout);
        idx += 3;
      }
    }
  }

  /** h: `[B, inFeatures]` → `[B, projector.at(-1)]`. `updateStats` false: batch statistics without moving the running ones. */
  forward(h: tf.Tensor2D, training: boolean, updateStats = true): tf.Tensor2D {
    return tf.tidy(() => {
      let x: tf.Tensor = h;
      let idx = 0;
      for (let i = 0; i < this.sizes.length - 1; i++) {
        x = tf.matMul(x as tf.Tensor2D, this.store.get(`projector.${idx}.weight`) as tf.Tensor2D);
        if (i < this.sizes.length - 2) {
          x = tf.relu(batchNorm(this.store, `projector.${idx + 1}`, x, training, updateStats));
          idx += 3;
        }
      }
      return x as tf.Tensor2D;
    });
  }
}

/** Backbone + projector + loss. The backbone's parameters keep their names; the projector's start with `projector.`. */
export class BarlowTwins {
  readonly projector: Projector;

  constructor(
    readonly backbone: ResNet,
    projectorSizes: number[],
    rng: Rng,
    readonly lambda: number = BT_LAMBDA,
  ) {
    this.projector = new Projector(backbone.outChannels, projectorSizes, rng);
  }

  /** y1, y2: the two views `[B,H,W,C]`. Training-mode loss (BatchNorm statistics updated). */
  loss(y1: tf.Tensor4D, y2: tf.Tensor4D): tf.Scalar {
    return tf.tidy(() => {
      const z1 = this.projector.forward(this.backbone.forward(y1, { training: true }).pooled, true);
      const z2 = this.projector.forward(this.backbone.forward(y2, { training: true }).pooled, true);
      return barlowTwinsLoss(z1, z2, this.lambda);
    });
  }

  /** Every named variable (backbone then projector), parameters and running statistics. */
  namedVariables(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>();
    for (const p of this.backbone.store.all()) m.set(p.name, p.variable);
    for (const p of this.projector.store.all()) m.set(p.name, p.variable);
    return m;
  }

  /** Trainable variables by name, for the optimizer. */
  trainable(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>();
    for (const p of [...this.backbone.store.trainable(), ...this.projector.store.trainable()])
      m.set(p.name, p.variable);
    return m;
  }

  dispose(): void {
    this.backbone.dispose();
    this.projector.store.dispose();
  }
}
