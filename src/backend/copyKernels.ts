/**
 * Data-movement kernels in plain TypeScript: `Reverse`, `GatherV2`, `Tile`, `SplitV`. tfjs's CPU
 * versions index every element through a generic buffer; in the detector's training step they took
 * more time than all convolutions together. These copy whole contiguous blocks over the typed arrays
 * instead. Float32 only (anything else falls back to the reference kernel).
 */
import type { KernelArgs, NativeKernel } from './kernelUtil.js';
import { f32, output, sizeOf } from './kernelUtil.js';

function reverse({ inputs, backend, attrs }: KernelArgs): ReturnType<NativeKernel> {
  const x = inputs.x;
  const values = f32(backend, x);
  if (!x || !values) return null;
  const shape = x.shape;
  const rank = shape.length;
  const raw = attrs.dims as number | number[];
  const dims = new Set((Array.isArray(raw) ? raw : [raw]).map((d) => (d < 0 ? d + rank : d)));
  const out = new Float32Array(values.length);
  if (rank === 0 || dims.size === 0) {
    out.set(values);
    return output(backend, [...shape], out);
  }
  // Axes after the last reversed one are copied as contiguous blocks.
  const last = Math.max(...dims);
  const block = sizeOf(shape.slice(last + 1));
  const outer = shape.slice(0, last + 1);
  const strides = outer.map((_, i) => sizeOf(outer.slice(i + 1)));
  const n = sizeOf(outer);
  for (let r = 0; r < n; r++) {
    let src = 0;
    let rem = r;
    for (let a = 0; a < outer.length; a++) {
      const c = Math.floor(rem / strides[a]!);
      rem -= c * strides[a]!;
      src += (dims.has(a) ? outer[a]! - 1 - c : c) * strides[a]!;
    }
    if (block === 1) out[r] = values[src]!;
    else out.set(values.subarray(src * block, (src + 1) * block), r * block);
  }
  return output(backend, [...shape], out);
}

function gather({ inputs, backend, attrs }: KernelArgs): ReturnType<NativeKernel> {
  const { x, indices } = inputs;
  const values = f32(backend, x);
  if (!x || !indices || !values || indices.dtype !== 'int32' || ((attrs.batchDims as number) ?? 0) !== 0)
    return null;
  const idx = backend.data.get(indices.dataId).values as Int32Array;
  const rank = x.shape.length;
  const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + rank : (attrs.axis as number);
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis]!;
  const inner = sizeOf(x.shape.slice(axis + 1));
  for (let j = 0; j < idx.length; j++) {
    if (idx[j]! < 0 || idx[j]! >= n)
      throw new Error(`GatherV2: the index value ${idx[j]} is not in [0, ${n - 1}]`);
  }
  const out = new Float32Array(outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    const src = o * n * inner;
    const dst = o * idx.length * inner;
    if (inner === 1) for (let j = 0; j < idx.length; j++) out[dst + j] = values[src + idx[j]!]!;
    else
      for (let j = 0; j < idx.length; j++)
        out.set(values.subarray(src + idx[j]! * inner, src + (idx[j]! + 1) * inner), dst + j * inner);
  }
  return output(backend, [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], out);
}

function tile({ inputs, backend, attrs }: KernelArgs): ReturnType<NativeKernel> {
  const x = inputs.x;
  const values = f32(backend, x);
  if (!x || !values) return null;
  const reps = attrs.reps as number[];
  const shape = [...x.shape];
  let data: Float32Array = values;
  // Repeat one axis at a time, innermost first: each repetition is a block copy.
  for (let a = shape.length - 1; a >= 0; a--) {
    const r = reps[a]!;
    if (r === 1) continue;
    const outer = sizeOf(shape.slice(0, a));
    const blk = sizeOf(shape.slice(a));
    const next = new Float32Array(outer * blk * r);
    for (let o = 0; o < outer; o++) {
      const src = data.subarray(o * blk, (o + 1) * blk);
      for (let k = 0; k < r; k++) next.set(src, (o * r + k) * blk);
    }
    data = next;
    shape[a] = shape[a]! * r;
  }
  return output(backend, shape, data === values ? Float32Array.from(values) : data);
}

function splitV({ inputs, backend, attrs }: KernelArgs): ReturnType<NativeKernel> {
  const x = inputs.x;
  const values = f32(backend, x);
  if (!x || !values) return null;
  const rank = x.shape.length;
  const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + rank : (attrs.axis as number);
  const dim = x.shape[axis]!;
  const raw = attrs.numOrSizeSplits as number | number[];
  let sizes: number[];
  if (Array.isArray(raw)) {
    const known = raw.filter((s) => s !== -1).reduce((s, v) => s + v, 0);
    sizes = raw.map((s) => (s === -1 ? dim - known : s));
  } else {
    if (dim % raw !== 0) return null;
    sizes = new Array<number>(raw).fill(dim / raw);
  }
  if (sizes.reduce((s, v) => s + v, 0) !== dim) return null;
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outs = [];
  let start = 0;
  for (const s of sizes) {
    const out = new Float32Array(outer * s * inner);
    for (let o = 0; o < outer; o++)
      out.set(values.subarray((o * dim + start) * inner, (o * dim + start + s) * inner), o * s * inner);
    const shape = [...x.shape];
    shape[axis] = s;
    outs.push(output(backend, shape, out));
    start += s;
  }
  return outs;
}

export const copyKernels: Record<string, NativeKernel> = {
  Reverse: reverse,
  GatherV2: gather,
  Tile: tile,
  SplitV: splitV,
};
