/** Conv2D, its two gradients and FusedConv2D (bias + relu), NHWC, as im2col + sgemm. */
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

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function channelsLast(dataFormat: unknown): boolean {
  return dataFormat == null || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: tf.NamedAttrMap,
  dilations: unknown,
): ConvInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    dilations as [number, number] | number,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

/** The convolution of a Conv2D call into a fresh output, or null where the native code does not cover it. */
export function forward(
  { inputs, backend, attrs }: KernelArgs,
  addon: NativeAddon,
  /** Computes y from x's and the filter's values (default: the convolution); false declines. */
  run: (xv: Float32Array, wv: Float32Array, y: Float32Array, g: Int32Array) => boolean = (xv, wv, y, g) => {
    addon.conv2d(xv, wv, y, g);
    return true;
  },
): { info: ConvInfo; y: Float32Array } | null {
  const { x, filter } = inputs;
  if (!channelsLast(attrs.dataFormat)) return null;
  const xv = f32(backend, x);
  const wv = f32(backend, filter);
  if (!xv || !wv || x.shape.length !== 4 || filter.shape[2] !== x.shape[3]) return null;
  const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations ?? 1);
  const y = uninitialized(sizeOf(info.outShape));
  if (y.length === 0 || !run(xv, wv, y, geom(info))) return null;
  return { info, y };
}

const conv2d: NativeKernel = (args, addon) => {
  const r = forward(args, addon);
  return r && output(args.backend, r.info.outShape, r.y);
};

const fusedConv2d: NativeKernel = (args, addon) => {
  const { bias, preluActivationWeights } = args.inputs;
  const activation = (args.attrs.activation as string | undefined) ?? 'linear';
  if (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu')) return null;
  const outChannels = args.inputs.filter.shape[3];
  let biasValues: Float32Array | null = null;
  if (bias != null) {
    biasValues = f32(args.backend, bias);
    // Only a bias that broadcasts along channels; others go to the reference kernel.
    const trailingOnly = bias.shape.slice(0, -1).every((d) => d === 1);
    if (!biasValues || !trailingOnly || (biasValues.length !== outChannels && biasValues.length !== 1))
      return null;
  }
  const r = forward(args, addon);
  if (!r) return null;
  addon.biasAct(
    r.y,
    biasValues,
    r.y.length / outChannels,
    outChannels,
    biasValues?.length ?? 1,
    activation === 'relu' ? 1 : 0,
  );
  return output(args.backend, r.info.outShape, r.y);
};

const conv2dBackpropInput: NativeKernel = ({ inputs, backend, attrs }, addon) => {
  const { dy, filter } = inputs;
  if (!channelsLast(attrs.dataFormat)) return null;
  const dyv = f32(backend, dy);
  const wv = f32(backend, filter);
  const inputShape = attrs.inputShape as number[];
  if (!dyv || !wv || inputShape.length !== 4 || filter.shape[2] !== inputShape[3]) return null;
  const info = convInfo(inputShape, filter.shape, attrs, 1);
  if (!tf.util.arraysEqual(info.outShape, dy.shape)) return null;
  const dx = uninitialized(sizeOf(inputShape));
  addon.conv2dBackpropInput(dyv, wv, dx, geom(info));
  return output(backend, inputShape, dx);
};

const conv2dBackpropFilter: NativeKernel = ({ inputs, backend, attrs }, addon) => {
  const { x, dy } = inputs;
  if (!channelsLast(attrs.dataFormat)) return null;
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  const filterShape = attrs.filterShape as number[];
  if (!xv || !dyv || x.shape.length !== 4 || filterShape[2] !== x.shape[3]) return null;
  const info = convInfo(x.shape, filterShape, attrs, 1);
  if (!tf.util.arraysEqual(info.outShape, dy.shape)) return null;
  const dw = uninitialized(sizeOf(filterShape));
  addon.conv2dBackpropFilter(xv, dyv, dw, geom(info));
  return output(backend, filterShape, dw);
};

export const convKernels: Record<string, NativeKernel> = {
  Conv2D: conv2d,
  FusedConv2D: fusedConv2d,
  Conv2DBackpropInput: conv2dBackpropInput,
  Conv2DBackpropFilter: conv2dBackpropFilter,
};
