/**
 * Element-wise kernels, float32 only (other dtypes go to the reference kernel). Binary ops
 * have fast loops for the broadcasts training produces (equal shapes, a scalar, a
 * per-channel vector, a per-row statistic) and a strided loop for any other broadcast.
 */
import * as tf from '@tensorflow/tfjs';
import {
  BINARY,
  UNARY,
  f32,
  output,
  sizeOf,
  type KernelArgs,
  type NativeKernel,
  uninitialized,
} from './kernelUtil.js';
import type { NativeAddon } from './native.js';

/** mode: 0 same shape; 1 b[i % inner]; 2 a[i % inner]; 3 b[i / inner]; 4 a[i / inner]. */
export function broadcastMode(
  aShape: number[],
  bShape: number[],
): { mode: number; inner: number; shape: number[] } | null {
  const shape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const size = sizeOf(shape);
  if (size === 0) return null;
  if (tf.util.arraysEqual(aShape, bShape)) return { mode: 0, inner: 1, shape };
  const pad = (s: number[]) => [...new Array<number>(shape.length - s.length).fill(1), ...s];
  const fits = (
    small: number[],
    big: number[],
    smallMode: number,
  ): { mode: number; inner: number; shape: number[] } | null => {
    if (sizeOf(big) !== size) return null;
    const p = pad(small);
    const first = p.findIndex((d) => d !== 1);
    if (first === -1) return { mode: smallMode, inner: 1, shape };
    // Suffix: ones, then exactly the output's trailing dims.
    if (p.slice(first).every((d, i) => d === shape[first + i])) {
      return { mode: smallMode, inner: sizeOf(shape.slice(first)), shape };
    }
    // Prefix: exactly the output's leading dims, then ones.
    let last = p.length - 1;
    while (p[last] === 1) last--;
    if (p.slice(0, last + 1).every((d, i) => d === shape[i])) {
      return { mode: smallMode + 2, inner: sizeOf(shape.slice(last + 1)), shape };
    }
    return null;
  };
  return fits(bShape, aShape, 1) ?? fits(aShape, bShape, 2);
}

/** Strides of `shape` read as `outShape` (leading axes added, 0 where it broadcasts). */
function broadcastStrides(shape: number[], outShape: number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, o = outShape.length - 1; i >= 0; i--, o--) {
    strides[o] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

function binary(op: number): NativeKernel {
  return ({ inputs, backend }: KernelArgs, addon: NativeAddon) => {
    const { a, b } = inputs;
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (!av || !bv) return null;
    const bc = broadcastMode(a.shape, b.shape);
    if (bc) {
      const out = uninitialized(sizeOf(bc.shape));
      addon.binary(op, av, bv, out, bc.mode, bc.inner);
      return output(backend, bc.shape, out);
    }
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (shape.length > 8 || sizeOf(shape) === 0) return null;
    const out = uninitialized(sizeOf(shape));
    addon.binaryStrided(
      op,
      av,
      bv,
      out,
      shape,
      broadcastStrides(a.shape, shape),
      broadcastStrides(b.shape, shape),
    );
    return output(backend, shape, out);
  };
}

function unary(op: number, alphaOf: (attrs: tf.NamedAttrMap) => number = () => 0): NativeKernel {
  return ({ inputs, backend, attrs }: KernelArgs, addon: NativeAddon) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv) return null;
    const out = uninitialized(xv.length);
    addon.unary(op, xv, out, alphaOf(attrs));
    return output(backend, x.shape, out);
  };
}

export const elementwiseKernels: Record<string, NativeKernel> = {
  Add: binary(BINARY.Add),
  Sub: binary(BINARY.Sub),
  Multiply: binary(BINARY.Multiply),
  RealDiv: binary(BINARY.RealDiv),
  Maximum: binary(BINARY.Maximum),
  Minimum: binary(BINARY.Minimum),
  SquaredDifference: binary(BINARY.SquaredDifference),
  Relu: unary(UNARY.Relu),
  Relu6: unary(UNARY.Relu6),
  Neg: unary(UNARY.Neg),
  Square: unary(UNARY.Square),
  Sqrt: unary(UNARY.Sqrt),
  Rsqrt: unary(UNARY.Rsqrt),
  Exp: unary(UNARY.Exp),
  Log: unary(UNARY.Log),
  Abs: unary(UNARY.Abs),
  Sigmoid: unary(UNARY.Sigmoid),
  Step: unary(UNARY.Step, (attrs) => (attrs.alpha as number | undefined) ?? 0),
};
