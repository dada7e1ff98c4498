/** Sum and Mean over a contiguous block of axes, Transpose, and inference-mode FusedBatchNorm. */
import * as tf from '@tensorflow/tfjs';
import { f32, output, sizeOf, type KernelArgs, type NativeKernel, uninitialized } from './kernelUtil.js';
import type { NativeAddon } from './native.js';

function sum(
  { inputs, backend, attrs }: KernelArgs,
  addon: NativeAddon,
): { shape: number[]; out: Float32Array; r: number } | null {
  const { x } = inputs;
  const xv = f32(backend, x);
  if (!xv) return null;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
  if (axes.length === 0) return null;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  const outer = sizeOf(x.shape.slice(0, first));
  const r = sizeOf(x.shape.slice(first, last + 1));
  const inner = sizeOf(x.shape.slice(last + 1));
  let shape = tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[0];
  if (attrs.keepDims) shape = tf.backend_util.expandShapeToKeepDim(shape, axes);
  const out = new Float32Array(outer * inner);
  addon.reduceSum(xv, out, outer, r, inner);
  return { shape, out, r };
}

const sumKernel: NativeKernel = (args, addon) => {
  const s = sum(args, addon);
  return s && output(args.backend, s.shape, s.out);
};

// The reference divides each element by the count before summing; dividing the sum once
// is equal within float32 rounding and one pass cheaper.
const meanKernel: NativeKernel = (args, addon) => {
  const s = sum(args, addon);
  if (!s) return null;
  const count = Math.fround(s.r);
  for (let i = 0; i < s.out.length; i++) s.out[i] = s.out[i] / count;
  return output(args.backend, s.shape, s.out);
};

const transposeKernel: NativeKernel = ({ inputs, backend, attrs }, addon) => {
  const { x } = inputs;
  const xv = f32(backend, x);
  const perm = attrs.perm as number[];
  if (!xv || x.shape.length === 0 || x.shape.length > 8) return null;
  const shape = perm.map((p) => x.shape[p]);
  const out = new Float32Array(xv.length);
  addon.transpose(xv, out, x.shape, perm);
  return output(backend, shape, out);
};

/** Inference-mode batch norm (tf.batchNorm): parameters of length 1 or channels. */
const fusedBatchNorm: NativeKernel = ({ inputs, backend, attrs }, addon) => {
  const { x, mean, variance, scale, offset } = inputs;
  const xv = f32(backend, x);
  const mv = f32(backend, mean);
  const vv = f32(backend, variance);
  const sv = scale ? f32(backend, scale) : null;
  const ov = offset ? f32(backend, offset) : null;
  if (!xv || !mv || !vv || (scale && !sv) || (offset && !ov) || x.shape.length === 0) return null;
  const c = x.shape[x.shape.length - 1];
  for (const t of [mean, variance, scale, offset]) {
    if (t == null) continue;
    const n = sizeOf(t.shape);
    if (n !== 1 && n !== c) return null;
    if (n === c && t.shape[t.shape.length - 1] !== c) return null;
  }
  // bn_inference writes every element, so the output may come from the buffer pool.
  const y = uninitialized(xv.length);
  addon.bnInference(xv, mv, vv, sv, ov, y, c, (attrs.varianceEpsilon as number | undefined) ?? 0.001);
  return output(backend, x.shape, y);
};

export const reduceKernels: Record<string, NativeKernel> = {
  Sum: sumKernel,
  Mean: meanKernel,
  Transpose: transposeKernel,
  FusedBatchNorm: fusedBatchNorm,
};
