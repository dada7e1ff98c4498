/** BatchMatMul and _FusedMatMul (bias + relu) as SGEMM calls (native/src/gemm.h). */
import * as tf from '@tensorflow/tfjs';
import { f32, output, sizeOf, type KernelArgs, type NativeKernel, uninitialized } from './kernelUtil.js';
import type { NativeAddon } from './native.js';

function matmul(
  { inputs, backend, attrs }: KernelArgs,
  addon: NativeAddon,
): { shape: number[]; c: Float32Array } | null {
  const { a, b } = inputs;
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
  const ta = Boolean(attrs.transposeA);
  const tb = Boolean(attrs.transposeB);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null;
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  // Batches broadcast natively only when equal or one side is a single matrix.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...outer, m, n];
  const c = uninitialized(sizeOf(shape));
  if (c.length === 0) return null;
  addon.matmul(av, bv, c, batchA, batchB, m, n, k, ta ? 1 : 0, tb ? 1 : 0);
  return { shape, c };
}

const batchMatMul: NativeKernel = (args, addon) => {
  const r = matmul(args, addon);
  return r && output(args.backend, r.shape, r.c);
};

const fusedMatMul: NativeKernel = (args, addon) => {
  const { bias, preluActivationWeights } = args.inputs;
  const activation = (args.attrs.activation as string | undefined) ?? 'linear';
  if (preluActivationWeights != null || (activation !== 'linear' && activation !== 'relu')) return null;
  const r = matmul(args, addon);
  if (!r) return null;
  const n = r.shape[r.shape.length - 1];
  let biasValues: Float32Array | null = null;
  if (bias != null) {
    biasValues = f32(args.backend, bias);
    const trailingOnly = bias.shape.slice(0, -1).every((d) => d === 1) && bias.shape.length <= r.shape.length;
    if (!biasValues || !trailingOnly || (biasValues.length !== n && biasValues.length !== 1)) return null;
  }
  addon.biasAct(r.c, biasValues, r.c.length / n, n, biasValues?.length ?? 1, activation === 'relu' ? 1 : 0);
  return output(args.backend, r.shape, r.c);
};

export const matmulKernels: Record<string, NativeKernel> = {
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
};
