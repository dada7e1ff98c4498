/** MaxPool, AvgPool and their gradients, NHWC, with the reference CPU kernels' semantics. */
import * as tf from '@tensorflow/tfjs';
import {
  f32,
  geom,
  output,
  sizeOf,
  type KernelArgs,
  type NativeKernel,
  uninitialized,
} from './kernelUtil.js';
import type { NativeAddon } from './native.js';

function poolInfo(xShape: number[], attrs: tf.NamedAttrMap, withRounding: boolean) {
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    withRounding ? (attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined) : undefined,
  );
}

function pool(type: 0 | 1): NativeKernel {
  return ({ inputs, backend, attrs }: KernelArgs, addon: NativeAddon) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv || x.shape.length !== 4) return null;
    const info = poolInfo(x.shape, attrs, true);
    const y = uninitialized(sizeOf(info.outShape));
    if (y.length === 0) return null;
    addon.pool2d(xv, y, geom(info), type);
    return output(backend, info.outShape, y);
  };
}

const maxPoolGrad: NativeKernel = ({ inputs, backend, attrs }, addon) => {
  const { dy, input } = inputs;
  const dyv = f32(backend, dy);
  const xv = f32(backend, input);
  if (!dyv || !xv || input.shape.length !== 4) return null;
  const info = poolInfo(input.shape, attrs, true);
  if (!tf.util.arraysEqual(info.outShape, dy.shape)) return null;
  const dx = uninitialized(xv.length);
  addon.maxPoolGrad(dyv, xv, dx, geom(info));
  return output(backend, input.shape, dx);
};

const avgPoolGrad: NativeKernel = ({ inputs, backend, attrs }, addon) => {
  const { dy, input } = inputs;
  const dyv = f32(backend, dy);
  if (!dyv || input.shape.length !== 4 || sizeOf(input.shape) === 0) return null;
  // The reference kernel ignores dimRoundingMode here; so must this one.
  const info = poolInfo(input.shape, attrs, false);
  if (!tf.util.arraysEqual(info.outShape, dy.shape)) return null;
  const dx = uninitialized(sizeOf(input.shape));
  addon.avgPoolGrad(dyv, dx, geom(info));
  return output(backend, input.shape, dx);
};

export const poolKernels: Record<string, NativeKernel> = {
  MaxPool: pool(0),
  AvgPool: pool(1),
  MaxPoolGrad: maxPoolGrad,
  AvgPoolGrad: avgPoolGrad,
};
