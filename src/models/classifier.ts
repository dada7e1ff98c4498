/**
 * The linear-evaluation classifier: a linear head on pooled backbone features with one sigmoid
 * output per label (14 NIH findings + No Finding), trained with binary cross-entropy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import { tfSeed } from '../rng.js';

/** A linear layer `logits = features · W + b`, W ~ N(0, 0.01²), b = 0 (the protocol's init). */
export class LinearHead {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  /**
   * @param inDim feature size (2048 for ResNet-50's pooled features).
   * @param outDim number of labels.
   */
  constructor(
    readonly inDim: number,
    readonly outDim: number,
    rng: Rng,
    readonly name = 'fc',
  ) {
    // Inside tidy so the initial-value tensors are released once the variables hold their data.
    this.weight = tf.tidy(() =>
      tf.variable(tf.randomNormal([inDim, outDim], 0, 0.01, 'float32', tfSeed(rng)), true, `${name}.weight`),
    );
    this.bias = tf.tidy(() => tf.variable(tf.zeros([outDim]), true, `${name}.bias`));
  }

  /** `[N, inDim]` features → `[N, outDim]` logits. */
  apply(features: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => features.matMul(this.weight).add(this.bias));
  }

  variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/**
 * Mean binary cross-entropy over all entries, from logits (numerically stable form
 * `max(x,0) − x·z + log(1 + e^{−|x|})`).
 * @param logits `[N, L]`; @param targets `[N, L]` of 0/1.
 */
export function bceWithLogits(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(
    () => logits.relu().sub(logits.mul(targets)).add(logits.abs().neg().exp().log1p()).mean() as tf.Scalar,
  );
}
