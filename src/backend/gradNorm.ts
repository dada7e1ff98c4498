/**
 * The global L2 norm of a set of gradients (clip_grad_norm_'s total norm), as the detector's step
 * computed it with tensor ops: `sqrt(addN(sum(square(g)) for each g))`. On the accelerated backend
 * each tensor's float32 sum of squares comes from one native pass (no squares buffer, no two kernel
 * calls per tensor: ~350 per detection step) and the float32 scalars are added in order as tfjs's
 * AddN adds them, so the number is the same bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { f32, type CpuBackend } from './kernelUtil.js';
import { activeMomentumBackend } from './momentum.js';
import { loadNative } from './native.js';

/** The tensor ops' result (the reference, and the path off the accelerated backend). */
export function globalNormOps(tensors: tf.Tensor[]): number {
  return tf.tidy(() => Math.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
}

/** `sqrt` of the sum of squares of every element of `tensors` (at least one), equal to {@link globalNormOps}. */
export function globalNorm(tensors: tf.Tensor[]): number {
  if (tensors.length === 0) throw new Error('globalNorm: no tensors');
  const addon = loadNative().addon;
  if (addon?.sumSquares == null || tf.getBackend() !== activeMomentumBackend()) return globalNormOps(tensors);
  const backend = tf.backend() as CpuBackend;
  const values: Float32Array[] = [];
  for (const t of tensors) {
    const v = t.rank > 0 ? f32(backend, t) : null;
    if (!v) return globalNormOps(tensors);
    values.push(v);
  }
  // AddN: a float32 running sum from 0, in input order
  let total = 0;
  for (const v of values) total = Math.fround(total + addon.sumSquares(v));
  return Math.sqrt(total);
}
