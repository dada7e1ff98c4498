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
 * Large buffers come from the recycling pool below when one of the same length is free.
 */
export function uninitialized(n: number): Float32Array {
  if (n * 4 > 8192) {
    const reused = takePooled(n);
    if (reused) return reused;
    const b = Buffer.allocUnsafe(n * 4);
    if (b.byteOffset === 0 && b.buffer.byteLength === n * 4) {
      const a = new Float32Array(b.buffer, 0, n);
      owned.add(b.buffer);
      return a;
    }
  }
  return new Float32Array(n);
}

/*
 * Recycling of output buffers. Every fresh ArrayBuffer counts as V8 external memory, and each
 * 64 MB of it starts a major garbage collection; a training step of the demo's network allocates
 * several hundred MB of activations and gradients, so V8 ran a mark-compact every 50-100 ms and the
 * kernel zeroed every new page on first touch (page faults and GC were ~20% of the step's CPU).
 * Buffers of disposed tensors are kept here instead, by length, and handed to the next output
 * of the same length (a training step asks for the same shapes every time).
 *
 * Only a buffer nobody else can see may be reused, so a buffer is recycled only if
 *  - this module allocated it (`owned`: never an array a caller passed to tf.tensor),
 *  - it never left tfjs's reference counting (`escaped`): dataSync()/data()/bufferSync() hand
 *    the storage itself to the caller, and a kernel whose output shares the input's storage
 *    under another data id (tfjs's Slice returns a subarray view) makes two owners;
 *  - its tensor data was freed while no reference kernel was running (`inReference`): a tfjs
 *    kernel may dispose intermediate views of its inputs, which must not reach the pool;
 *  - it is not in the pool already.
 */
const owned = new WeakSet<ArrayBufferLike>();
const escaped = new WeakSet<ArrayBufferLike>();
const inPool = new WeakSet<Float32Array>();
const free = new Map<number, Float32Array[]>();
let pooledBytes = 0;
let inReference = 0;
let poolEnabled = true;
/** Most bytes the pool holds; past it the pool is emptied (its buffers go to the GC) and refilled. */
let poolLimit = 1024 * 2 ** 20;
/**
 * The limit follows the working set: it is at least poolFloor and grows to the largest number of
 * tensor bytes live at once, at most poolCeiling (the registration sets it to a quarter of the
 * machine's memory; this module stays free of Node built-ins for the web bundle). A training step frees and
 * allocates its whole working set again every step; a pool smaller than that emptied itself every
 * step, and each fresh buffer was zeroed page by page by the kernel: ResNet-50 at 224 px, batch 8
 * (~2.5 GB live), took 2.5 s per step instead of 2.0 s, and a profile run of 4 steps 1.24 M page
 * faults instead of 0.75 M.
 */
let poolAdaptive = true;
let poolFloor = poolLimit;
let poolCeiling = poolLimit;

/** The most the pool's limit may grow to, in bytes (never below its floor). */
export function setBufferPoolCeiling(bytes: number): void {
  poolCeiling = Math.max(poolFloor, Math.floor(bytes));
}

function takePooled(n: number): Float32Array | null {
  if (!poolEnabled) return null;
  const list = free.get(n);
  const a = list?.pop();
  if (!a) return null;
  inPool.delete(a);
  pooledBytes -= a.byteLength;
  return a;
}

/** Called when the backend frees a tensor's storage (its last reference is gone). */
export function recycle(values: unknown): void {
  if (!poolEnabled || inReference > 0 || !(values instanceof Float32Array)) return;
  const buf = values.buffer;
  if (!owned.has(buf) || escaped.has(buf) || inPool.has(values)) return;
  if (values.byteOffset !== 0 || values.byteLength !== buf.byteLength) return;
  if (poolAdaptive) {
    const live = tf.engine().state.numBytes;
    if (live > poolLimit) poolLimit = Math.min(poolCeiling, Math.max(poolFloor, live));
  }
  if (pooledBytes + values.byteLength > poolLimit) {
    free.clear();
    pooledBytes = 0;
    if (values.byteLength > poolLimit) return;
  }
  let list = free.get(values.length);
  if (!list) free.set(values.length, (list = []));
  list.push(values);
  inPool.add(values);
  pooledBytes += values.byteLength;
}

/** The storage is visible outside the backend (read out, or shared by another tensor): never reuse it. */
export function markEscaped(values: unknown): void {
  if (ArrayBuffer.isView(values)) escaped.add(values.buffer);
}

/** Whether the storage was read out or shared (markEscaped): then nothing may write into it in place. */
export function isEscaped(values: ArrayBufferView): boolean {
  return escaped.has(values.buffer);
}

/** Runs a tfjs reference kernel: nothing it frees is recycled. */
export function asReference<T>(f: () => T): T {
  inReference++;
  try {
    return f();
  } finally {
    inReference--;
  }
}

/**
 * After a kernel: an output whose storage is an input's storage under another data id has two
 * owners that tfjs counts separately; such storage is never recycled.
 */
export function markAliases(
  backend: CpuBackend,
  inputs: Record<string, tf.TensorInfo | undefined | null>,
  out: tf.TensorInfo | tf.TensorInfo[],
): void {
  for (const o of Array.isArray(out) ? out : [out]) {
    if (o == null || !backend.data.has(o.dataId)) continue;
    const v = backend.data.get(o.dataId).values;
    if (!ArrayBuffer.isView(v) || !owned.has(v.buffer)) continue;
    for (const i of Object.values(inputs)) {
      if (i == null || i.dataId === o.dataId || !backend.data.has(i.dataId)) continue;
      const iv = backend.data.get(i.dataId).values;
      if (ArrayBuffer.isView(iv) && iv.buffer === v.buffer) escaped.add(v.buffer);
    }
  }
}

/**
 * Turns buffer recycling on or off (on by default; `CXR_BUFFER_POOL=0` turns it off at start);
 * turning it off empties the pool. `limit` sets the pool's limit: a number of MiB fixes it, and
 * `{ minMiB }` lets it grow from that floor with the live tensor bytes (the default, from 1 GiB).
 * Returns the previous on/off setting.
 */
export function setBufferPool(on: boolean, limit?: number | { minMiB: number }): boolean {
  const was = poolEnabled;
  poolEnabled = on;
  if (typeof limit === 'number') {
    poolAdaptive = false;
    poolLimit = limit * 2 ** 20;
  } else if (limit != null) {
    poolAdaptive = true;
    poolFloor = poolLimit = limit.minMiB * 2 ** 20;
  }
  if (!on) {
    free.clear();
    pooledBytes = 0;
  }
  return was;
}

/** Bytes now held by the pool (tests, profiles). */
export function pooledBufferBytes(): number {
  return pooledBytes;
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
