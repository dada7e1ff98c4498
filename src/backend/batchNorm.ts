/**
 * Training-mode batch norm as one op with its own gradient. Written as tf.moments followed by
 * tf.batchNorm, tfjs differentiates it through about a dozen broadcasting element-wise ops and
 * reductions, which costs more than the convolution beside it; on the accelerated backend
 * this runs as two fused native passes forward and two backward.
 */
import * as tf from '@tensorflow/tfjs';
import { f32, output, type KernelArgs, type NativeKernel, uninitialized } from './kernelUtil.js';
import type { NativeAddon } from './native.js';

/** Kernel names private to the accelerated backend. */
export const BN_TRAIN = 'CxrBatchNormTrain';
export const BN_TRAIN_GRAD = 'CxrBatchNormTrainGrad';

let activeBackendName = 'cxr-cpu';

/** Set by the registration so that batchNormTrain knows which backend has the kernels. */
export function setBatchNormBackend(name: string): void {
  activeBackendName = name;
}

/** Outputs [y, mean, variance]; x is [..., c], gamma and beta are [c]. */
const bnTrainKernel: NativeKernel = ({ inputs, backend, attrs }: KernelArgs, addon: NativeAddon) => {
  const { x, gamma, beta } = inputs;
  const xv = f32(backend, x);
  const gv = f32(backend, gamma);
  const bv = f32(backend, beta);
  if (!xv || !gv || !bv) throw new Error(`${BN_TRAIN}: x, gamma and beta must be non-empty float32 tensors`);
  const c = x.shape[x.shape.length - 1];
  const y = uninitialized(xv.length);
  const mean = new Float32Array(c);
  const variance = new Float32Array(c);
  addon.bnForward(
    xv,
    gv,
    bv,
    y,
    mean,
    variance,
    xv.length / c,
    c,
    attrs.varianceEpsilon as number,
    attrs.relu ? 1 : 0,
  );
  return [output(backend, x.shape, y), output(backend, [c], mean), output(backend, [c], variance)];
};

/** Outputs [dx, dgamma, dbeta]. */
const bnTrainGradKernel: NativeKernel = ({ inputs, backend, attrs }: KernelArgs, addon: NativeAddon) => {
  const names = ['dy', 'x', 'y', 'gamma', 'mean', 'variance', 'dmean', 'dvariance'] as const;
  const v = names.map((n) => f32(backend, inputs[n]));
  if (v.some((a) => a == null)) throw new Error(`${BN_TRAIN_GRAD}: inputs must be non-empty float32 tensors`);
  const [dy, x, y, gamma, mean, variance, dmean, dvariance] = v as Float32Array[];
  const c = gamma.length;
  const dx = uninitialized(x.length);
  const dgamma = new Float32Array(c);
  const dbeta = new Float32Array(c);
  addon.bnBackward(
    dy,
    x,
    y,
    gamma,
    mean,
    variance,
    dmean,
    dvariance,
    dx,
    dgamma,
    dbeta,
    x.length / c,
    c,
    attrs.varianceEpsilon as number,
    attrs.relu ? 1 : 0,
  );
  return [output(backend, inputs.x.shape, dx), output(backend, [c], dgamma), output(backend, [c], dbeta)];
};

export const batchNormKernels: Record<string, NativeKernel> = {
  [BN_TRAIN]: bnTrainKernel,
  [BN_TRAIN_GRAD]: bnTrainGradKernel,
};

/** Registers the gradient of BN_TRAIN once (gradients are global in tfjs, keyed by kernel name). */
export function registerBatchNormGradient(): void {
  if (tf.getGradient(BN_TRAIN) != null) return;
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'gamma'],
    // y is saved for the relu mask; it is alive anyway as the next layer's input.
    outputsToSave: [true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = dys as tf.Tensor[];
      const [x, gamma, y, mean, variance] = saved;
      // One kernel yields all three gradients; tfjs asks for them one closure at a time.
      const [dx, dgamma, dbeta] = tf
        .engine()
        .runKernel(
          BN_TRAIN_GRAD,
          { dy, x, y, gamma, mean, variance, dmean, dvariance } as unknown as tf.NamedTensorMap,
          attrs,
        ) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}

/**
 * Batch normalisation in training mode over every axis but the last.
 * x: [..., c] (NHWC activations or [batch, c] features); gamma, beta: [c].
 * Returns y (shape of x; relu(y) with `opts.relu`, fused because batch norm is followed by
 * relu in most layers) and the batch statistics mean and variance ([c], biased variance, as
 * tf.moments gives them), all differentiable with respect to x, gamma and beta.
 * Uses the native kernels when the active backend is the accelerated one, else tf.moments +
 * tf.batchNorm (+ tf.relu); both give the same numbers within float32 rounding.
 */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps = 1e-5,
  opts: { relu?: boolean } = {},
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const relu = opts.relu ?? false;
  if (tf.getBackend() === activeBackendName && tf.getKernel(BN_TRAIN, activeBackendName) != null) {
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BN_TRAIN, { x, gamma, beta } as unknown as tf.NamedTensorMap, {
        varianceEpsilon: eps,
        relu,
      }) as tf.Tensor[];
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, beta, gamma, eps);
    return { y: relu ? tf.relu(y) : y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}
