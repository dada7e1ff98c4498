/**
 * `Reverse` (horizontal flips of image batches): tfjs's CPU kernel indexes every element through a
 * generic buffer and took a third of a ResNet training step that flips its batch; this one copies
 * whole rows (or reverses the last axis in one pass) over the typed arrays. Pure TypeScript.
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
  if (rank === 0 || values.length === 0) {
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

export const reverseKernels: Record<string, NativeKernel> = { Reverse: reverse };
