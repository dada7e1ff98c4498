/**
 * BatchNorm's running statistics update in one pass on the accelerated backend. As tensor ops it is
 * seven small kernels per BatchNorm call (`rm·(1−m) + mean·m`, the unbiased variance, `rv·(1−m) + v·m`),
 * each recorded on the gradient tape with its inputs kept for a backward pass that never comes: ~360
 * of the ~2,500 kernel calls of a demo Barlow Twins step. Here the same float32 operations, in the
 * same order (each product and sum rounded to float32, as tfjs's Multiply and Add are), run over the
 * channels in JavaScript, and the variables are assigned the results.
 */
import * as tf from '@tensorflow/tfjs';
import { f32, type CpuBackend } from './kernelUtil.js';
import { activeMomentumBackend } from './momentum.js';

/**
 * `running_mean ← running_mean·(1−momentum) + mean·momentum` and `running_var ← running_var·(1−momentum)
 * + (variance·n/(n−1))·momentum` (PyTorch's update with the unbiased batch variance) where the
 * accelerated backend is active and all four are float32 of one length; returns false, doing nothing,
 * otherwise (the caller then runs the tensor ops).
 */
export function updateRunningStats(
  rm: tf.Variable | tf.Tensor,
  rv: tf.Variable | tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  count: number,
  momentum: number,
): boolean {
  if (
    tf.getBackend() !== activeMomentumBackend() ||
    !(rm instanceof tf.Variable) ||
    !(rv instanceof tf.Variable)
  )
    return false;
  const backend = tf.backend() as CpuBackend;
  const m = f32(backend, rm);
  const v = f32(backend, rv);
  const bm = f32(backend, mean);
  const bv = f32(backend, variance);
  const c = bm?.length ?? 0;
  if (!m || !v || !bm || !bv || m.length !== c || v.length !== c || bv.length !== c) return false;
  const f = Math.fround;
  // The scalars as tfjs makes them: float32 tensors of the double values.
  const keep = f(1 - momentum);
  const take = f(momentum);
  const unbias = f(count > 1 ? count / (count - 1) : 1);
  // Into fresh arrays, never in place: running statistics are often tensors made from arrays that
  // are shared (bnCalibration.ts applies one set of re-estimated statistics to several copies of a
  // model, and tf.tensor keeps the array it is given), which the backend's reference count cannot see.
  const nm = new Float32Array(c);
  const nv = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    nm[i] = f(m[i]! * keep) + f(bm[i]! * take);
    nv[i] = f(v[i]! * keep) + f(f(bv[i]! * unbias) * take);
  }
  tf.tidy(() => {
    rm.assign(tf.tensor(nm, rm.shape, 'float32'));
    rv.assign(tf.tensor(nv, rv.shape, 'float32'));
  });
  return true;
}
