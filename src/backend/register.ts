/**
 * The accelerated CPU backend: tfjs's own CPU backend class, with the kernels that training
 * spends its time in replaced by N-API ones (their GEMM: OpenBLAS when installed, else bundled) and every other kernel borrowed from
 * the 'cpu' backend unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { addReluKernels, registerAddReluGradient, setAddReluBackend } from './addRelu.js';
import { batchNormKernels, registerBatchNormGradient, setBatchNormBackend } from './batchNorm.js';
import { registerBatchNormEvalGradient } from './batchNormEvalGrad.js';
import { convBatchNormKernels, setConvBatchNormBackend } from './convBatchNorm.js';
import { convKernels } from './convKernels.js';
import { elementwiseKernels } from './elementwiseKernels.js';
import type { CpuBackend, KernelArgs, NativeKernel } from './kernelUtil.js';
import {
  asReference,
  markAliases,
  markEscaped,
  recycle,
  setBufferPool,
  setBufferPoolCeiling,
} from './kernelUtil.js';
import { matmulKernels } from './matmulKernels.js';
import { setMomentumBackend } from './momentum.js';
import { loadNative, systemMemoryBytes } from './native.js';
import { poolKernels } from './poolKernels.js';
import { reduceKernels } from './reduceKernels.js';
import { copyKernels } from './copyKernels.js';
import { registerReluGradient, reluGradKernels } from './reluGrad.js';

/** Name of the accelerated backend in tfjs's registry. */
export const ACCELERATED_BACKEND = 'cxr-cpu';

/** Every kernel with a native implementation, by tfjs kernel name. */
export const NATIVE_KERNELS: Readonly<Record<string, NativeKernel>> = {
  ...convKernels,
  ...poolKernels,
  ...matmulKernels,
  ...elementwiseKernels,
  ...reduceKernels,
  ...copyKernels,
};

/**
 * How many calls of each kernel ran natively and how many fell back to the reference
 * kernel; tests use it to prove the native code ran, profiles to spot fallbacks.
 */
export const kernelCalls: { native: Record<string, number>; fallback: Record<string, number> } = {
  native: {},
  fallback: {},
};

function count(table: Record<string, number>, name: string): void {
  table[name] = (table[name] ?? 0) + 1;
}

/** Milliseconds spent in each kernel while profiling is on (see setKernelProfiling). */
export const kernelTimes: Record<string, number> = {};
let profiling = false;

/** Turns per-kernel timing of the accelerated backend on or off (off by default). */
export function setKernelProfiling(on: boolean): void {
  profiling = on;
}

function timed(name: string, f: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    if (!profiling) return f(args);
    const t0 = performance.now();
    const out = f(args);
    kernelTimes[name] = (kernelTimes[name] ?? 0) + performance.now() - t0;
    return out;
  };
}

/**
 * Hooks the buffer pool (kernelUtil.ts) into the backend: storage freed with its last reference
 * goes back to the pool, and storage handed to a caller by readSync (dataSync, data, bufferSync,
 * arraySync all go through it) is never reused.
 */
function poolBuffers(backend: CpuBackend): void {
  const dispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean): boolean => {
    const values = backend.data.has(dataId) ? backend.data.get(dataId).values : undefined;
    const released = dispose(dataId, force);
    if (values !== undefined && !backend.data.has(dataId)) recycle(values);
    return released;
  };
  const readSync = backend.readSync.bind(backend);
  backend.readSync = ((dataId: object) => {
    const values = readSync(dataId);
    markEscaped(values);
    return values;
  }) as typeof backend.readSync;
}

/** A kernel with the pool's bookkeeping: reference kernels free nothing into it; aliased outputs never enter it. */
function pooled(reference: boolean, f: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const out = reference ? asReference(() => f(args)) : f(args);
    markAliases(args.backend as CpuBackend, args.inputs, out as tf.TensorInfo | tf.TensorInfo[]);
    return out;
  };
}

let result: { ok: boolean; reason: string } | undefined;

/**
 * Registers the 'cxr-cpu' backend once (later calls return the first call's result).
 * ok is false, with the reason, when the native addon is not built or does not load; the
 * project then runs on plain tfjs. Does not make the backend active: call
 * tf.setBackend(ACCELERATED_BACKEND).
 */
export function registerAcceleratedBackend(): { ok: boolean; reason: string } {
  if (result) return result;
  const { addon, reason } = loadNative();
  if (!addon) {
    result = { ok: false, reason };
    return result;
  }
  const cpuKernels = tf.getKernelsForBackend('cpu');
  if (cpuKernels.length === 0) {
    result = { ok: false, reason: "tfjs 'cpu' kernels are not registered (is @tensorflow/tfjs imported?)" };
    return result;
  }
  if (process.env.CXR_BUFFER_POOL === '0') setBufferPool(false);
  setBufferPoolCeiling(systemMemoryBytes() / 4);
  if (tf.findBackendFactory(ACCELERATED_BACKEND) == null) {
    // Priority 0: registering must not change which backend tfjs picks by itself.
    tf.registerBackend(
      ACCELERATED_BACKEND,
      () => {
        const backend = new tf.MathBackendCPU();
        // Silences the CPU backend's "install tfjs-node to speed things up" notice, which
        // would be wrong here: this backend is that speed-up.
        (backend as unknown as { firstUse: boolean }).firstUse = false;
        poolBuffers(backend);
        return backend;
      },
      0,
    );
  }
  for (const k of cpuKernels) {
    if (tf.getKernel(k.kernelName, ACCELERATED_BACKEND) != null) continue;
    const native = NATIVE_KERNELS[k.kernelName];
    const reference = k.kernelFunc;
    tf.registerKernel({
      ...k,
      backendName: ACCELERATED_BACKEND,
      kernelFunc: timed(
        k.kernelName,
        native == null
          ? pooled(true, reference)
          : pooled(false, (args) => {
              const out = native(args as unknown as KernelArgs, addon);
              if (out != null) {
                count(kernelCalls.native, k.kernelName);
                return out;
              }
              count(kernelCalls.fallback, k.kernelName);
              return asReference(() => reference(args));
            }),
      ),
    });
  }
  for (const [kernelName, native] of Object.entries({
    ...batchNormKernels,
    ...reluGradKernels,
    ...addReluKernels,
    // An addon built before bnInferenceAct existed keeps the separate ops.
    ...(addon.bnInferenceAct != null ? convBatchNormKernels : {}),
  })) {
    if (tf.getKernel(kernelName, ACCELERATED_BACKEND) != null) continue;
    tf.registerKernel({
      kernelName,
      backendName: ACCELERATED_BACKEND,
      kernelFunc: timed(
        kernelName,
        pooled(false, (args) => {
          const out = native(args as unknown as KernelArgs, addon);
          if (out == null) throw new Error(`${kernelName}: unsupported inputs`);
          count(kernelCalls.native, kernelName);
          return out;
        }),
      ),
    });
  }
  registerBatchNormGradient();
  registerReluGradient(ACCELERATED_BACKEND);
  registerBatchNormEvalGradient(ACCELERATED_BACKEND);
  registerAddReluGradient();
  setBatchNormBackend(ACCELERATED_BACKEND);
  setAddReluBackend(ACCELERATED_BACKEND);
  setConvBatchNormBackend(ACCELERATED_BACKEND);
  setMomentumBackend(ACCELERATED_BACKEND);
  result = { ok: true, reason };
  return result;
}
