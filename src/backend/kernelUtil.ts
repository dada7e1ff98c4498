/**
 * Shared plumbing for the native kernels: reading a tensor's Float32Array out of the CPU
 * backend's storage without copying, wrapping a fresh Float32Array as an output, and
 * packing tfjs's conv/pool geometry for the addon.
 */
import { Buffer } from 'node:buffer';
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './native.js';

export type CpuBackend = InstanceType<typeof tf.MathBackendCPU>;

export interface KernelArgs {
  /** Optional inputs (bias, scale, ...) may be absent at run time despite this type. */
  inputs: Record<string, tf.TensorInfo>;
  backend: CpuBackend;
  attrs: tf.NamedAttrMap;
}

/**
 * A native kernel: returns its outputs, or null to hand the call to the reference CPU
 * kernel (other dtypes, layouts or broadcasts than the native code covers).
 */
export type NativeKernel = (args: KernelArgs, addon: NativeAddon) => tf.TensorInfo | tf.TensorInfo[] | null;

/** The tensor's float32 storage, or null when it is not a non-empty float32 tensor. */
export function f32(backend: CpuBackend, t: tf.TensorInfo | undefined | null): Float32Array | null {
  if (t == null || t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array && values.length > 0 ? values : null;
}

/**
 * A Float32Array of n floats for an output the native code overwrites entirely. new
 * Float32Array(n) zero-fills it first, one more write pass over every activation and
 * gradient (memory-bound kernels are a quarter of a training step); Buffer.allocUnsafe skips
 * that. Above Buffer.poolSize / 2 (4 KiB) node gives the buffer its own ArrayBuffer, so tfjs
 * sees an ordinary Float32Array of offset 0; anything else is allocated zeroed as before.
 */
export function uninitialized(n: number): Float32Array {
  if (n * 4 > 8192) {
    const b = Buffer.allocUnsafe(n * 4);
    if (b.byteOffset === 0 && b.buffer.byteLength === n * 4) return new Float32Array(b.buffer, 0, n);
  }
  return new Float32Array(n);
}

export function output(backend: CpuBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

export function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/** Packs the geometry in `ConvGeom` order (native/src/kernels.h). */
export function geom(info: ConvInfo): Int32Array {
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

/** Unary and binary op codes, matching the enums in native/src/kernels.h. */
export const BINARY = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
  ReluGrad: 7,
  AddRelu: 8,
} as const;
export const UNARY = {
  Relu: 0,
  Neg: 1,
  Square: 2,
  Sqrt: 3,
  Rsqrt: 4,
  Exp: 5,
  Log: 6,
  Step: 7,
  Abs: 8,
  Sigmoid: 9,
  Relu6: 10,
} as const;
