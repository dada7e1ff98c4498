/**
 * Inference-mode convolution + batch norm (+ residual add) (+ relu) as one kernel, for the frozen
 * backbone's forward passes (the linear evaluation's feature pass, kNN probes, detection inference).
 * As separate ops it is Conv2D, FusedBatchNorm, then Relu or CxrAddRelu: three kernel calls, two
 * more output buffers and two more passes over every activation. Fused, the convolution's output
 * is normalised, added to the residual and rectified in place, with the same float32 arithmetic per
 * element as those kernels (see bn_inference_act in native/src/batchnorm.cc), so the numbers are
 * bit for bit those of the separate ops. It has no gradient: it runs only while no gradient tape
 * records (eval-mode layers inside a training step, e.g. a norm-eval detector backbone, keep the
 * separate ops and their gradients).
 */
import * as tf from '@tensorflow/tfjs';
import { addRelu } from './addRelu.js';
import { forward } from './convKernels.js';
import { f32, output, sizeOf, type KernelArgs, type NativeKernel } from './kernelUtil.js';
import type { NativeAddon } from './native.js';

/** Kernel name private to the accelerated backend. */
export const CONV_BN_EVAL = 'CxrConvBatchNormEval';

let activeBackendName = 'cxr-cpu';
let fusionEnabled = true;

/** Turns the fused kernel on or off (on by default; off runs the separate ops: A/B, tests). Returns the previous setting. */
export function setConvBatchNormFusion(on: boolean): boolean {
  const was = fusionEnabled;
  fusionEnabled = on;
  return was;
}

/** Set by the registration so that convBatchNormEval knows which backend has the kernel. */
export function setConvBatchNormBackend(name: string): void {
  activeBackendName = name;
}

const convBnEvalKernel: NativeKernel = (args: KernelArgs, addon: NativeAddon) => {
  const { inputs, backend, attrs } = args;
  if (addon.bnInferenceAct == null) return null;
  const { x, filter, mean, variance, scale, offset, residual } = inputs;
  const mv = f32(backend, mean);
  const vv = f32(backend, variance);
  const sv = f32(backend, scale);
  const ov = f32(backend, offset);
  const rv = residual ? f32(backend, residual) : null;
  if (!mv || !vv || !sv || !ov || (residual && !rv)) return null;
  const eps = attrs.varianceEpsilon as number;
  const relu = attrs.relu ? 1 : 0;
  const conv = forward(
    {
      inputs: { x, filter },
      backend,
      attrs: { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dilations: [1, 1] },
    },
    addon,
    (xv, wv, y, g) => {
      if (rv && rv.length !== y.length) return false;
      // One call where the addon has it: the direct convolution normalises rows while they are
      // in cache (native/src/conv_direct.cc); the same bits as the two calls below.
      if (addon.conv2dBnAct) {
        addon.conv2dBnAct(xv, wv, y, g, mv, vv, sv, ov, eps, rv, relu);
      } else {
        addon.conv2d(xv, wv, y, g);
        addon.bnInferenceAct!(y, mv, vv, sv, ov, y, filter.shape[3], eps, rv, relu);
      }
      return true;
    },
  );
  return conv && output(backend, conv.info.outShape, conv.y);
};

export const convBatchNormKernels: Record<string, NativeKernel> = { [CONV_BN_EVAL]: convBnEvalKernel };

/** Eval-mode batch-norm parameters (running statistics, gamma as scale, beta as offset). */
export interface BatchNormEvalParams {
  mean: tf.Tensor;
  variance: tf.Tensor;
  scale: tf.Tensor;
  offset: tf.Tensor;
  eps: number;
}

/** Whether a gradient tape records the ops run now (tf.grad, tf.variableGrads, ...). */
export function tapeRecording(): boolean {
  const engine = tf.engine() as unknown as { isTapeOn?: () => boolean };
  return typeof engine.isTapeOn !== 'function' || engine.isTapeOn();
}

/** Non-empty float32 storage on the CPU backend (what the native kernels read). */
function nativeReadable(t: tf.Tensor): boolean {
  if (t.dtype !== 'float32' || t.size === 0) return false;
  const data = (tf.backend() as unknown as KernelArgs['backend']).data;
  if (!data.has(t.dataId)) return false;
  return data.get(t.dataId).values instanceof Float32Array;
}

/**
 * The cases the separate ops run natively and the fused kernel covers: 4-D float32 NHWC input,
 * a filter of matching depth, parameters of length 1 or the output's channels (last axis),
 * a residual of the output's shape.
 */
function fusable(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number,
  pad: 'valid' | number,
  bn: BatchNormEvalParams,
  residual?: tf.Tensor,
): boolean {
  if (x.rank !== 4 || filter.rank !== 4 || filter.shape[2] !== x.shape[3]) return false;
  const c = filter.shape[3];
  const outShape = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, 1, pad).outShape;
  if (outShape.some((d) => !(d > 0))) return false;
  for (const t of [x, filter, bn.mean, bn.variance, bn.scale, bn.offset])
    if (!nativeReadable(t)) return false;
  for (const t of [bn.mean, bn.variance, bn.scale, bn.offset]) {
    const n = sizeOf(t.shape);
    if (n !== 1 && n !== c) return false;
    if (n === c && t.shape[t.shape.length - 1] !== c) return false;
  }
  return residual == null || (nativeReadable(residual) && tf.util.arraysEqual(residual.shape, outShape));
}

/**
 * relu?(batchNorm(conv2d(x, filter, strides, pad)) + residual?) with eval-mode batch norm:
 * the same numbers as
 * `tf.batchNorm(tf.conv2d(x, filter, strides, pad), mean, variance, offset, scale, eps)` followed by
 * `addRelu(y, residual)`, `tf.add(y, residual)` or `tf.relu(y)`, which is what runs on other
 * backends, while a gradient tape records, or outside the native kernels' cases.
 */
export function convBatchNormEval(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number,
  pad: 'valid' | number,
  bn: BatchNormEvalParams,
  opts: { relu?: boolean; residual?: tf.Tensor4D } = {},
): tf.Tensor4D {
  const relu = opts.relu ?? false;
  const residual = opts.residual;
  if (
    fusionEnabled &&
    tf.getBackend() === activeBackendName &&
    tf.getKernel(CONV_BN_EVAL, activeBackendName) != null &&
    !tapeRecording() &&
    fusable(x, filter, strides, pad, bn, residual)
  ) {
    return tf.engine().runKernel(
      CONV_BN_EVAL,
      {
        x,
        filter,
        mean: bn.mean,
        variance: bn.variance,
        scale: bn.scale,
        offset: bn.offset,
        ...(residual ? { residual } : {}),
      } as unknown as tf.NamedTensorMap,
      { strides, pad, relu, varianceEpsilon: bn.eps },
    ) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const y = tf.batchNorm(
      tf.conv2d(x, filter, strides, pad),
      bn.mean,
      bn.variance,
      bn.offset,
      bn.scale,
      bn.eps,
    );
    if (residual) return relu ? addRelu(y, residual) : tf.add(y, residual);
    return relu ? tf.relu(y) : y;
  }) as tf.Tensor4D;
}
