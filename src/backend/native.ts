/**
 * Loads the native kernels addon (`native/build/Release/cxr_native.node`), if it was built. Its
 * GEMM is OpenBLAS's (Accelerate's on macOS), opened at run time, or else its own bundled one;
 * `CXR_GEMM` chooses (see native/README.md).
 * The compiled form of this file lives at `build/src/backend/native.js`, so the repository
 * root is three levels above it.
 */
import { totalmem } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { repoRoot } from '../config.js';

/** Conv/pool geometry, 15 int32 fields: see `ConvGeom` in native/src/kernels.h. */
export type Geom = Int32Array;

/** The addon's functions. Outputs are caller-allocated and fully overwritten. */
export interface NativeAddon {
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, g: Geom): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: Geom): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: Geom): void;
  /** type 0 = max, 1 = avg */
  pool2d(x: Float32Array, y: Float32Array, g: Geom, type: number): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, g: Geom): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, g: Geom): void;
  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
  ): void;
  biasAct(
    y: Float32Array,
    bias: Float32Array | null,
    rows: number,
    cols: number,
    biasLen: number,
    act: number,
  ): void;
  /** relu: 1 applies max(0, .) to y. */
  bnForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    m: number,
    c: number,
    eps: number,
    relu: number,
  ): void;
  /** y: the forward output, read only with relu = 1 (to mask dy). */
  bnBackward(
    dy: Float32Array,
    x: Float32Array,
    y: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dmean: Float32Array,
    dvariance: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    m: number,
    c: number,
    eps: number,
    relu: number,
  ): void;
  bnInference(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    y: Float32Array,
    c: number,
    eps: number,
  ): void;
  /**
   * bnInference, then y + residual (when given) and relu (when relu is 1) in the same pass, with the
   * arithmetic of the separate kernels; x and y may be one array. Absent from addons built before it.
   */
  bnInferenceAct?(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    y: Float32Array,
    c: number,
    eps: number,
    residual: Float32Array | null,
    relu: number,
  ): void;
  /**
   * conv2d then bnInferenceAct on its output in one call (eval-mode conv + batch norm (+ residual)
   * (+ relu)); the same bits. Absent from addons built before it.
   */
  conv2dBnAct?(
    x: Float32Array,
    filter: Float32Array,
    y: Float32Array,
    geometry: Int32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    eps: number,
    residual: Float32Array | null,
    relu: number,
  ): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, mode: number, inner: number): void;
  binaryStrided(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    shape: number[],
    aStrides: number[],
    bStrides: number[],
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduceSum(x: Float32Array, out: Float32Array, outer: number, r: number, inner: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  /** RoIAlign's gather over a sampling plan (see src/models/fasterRcnn/roiAlign.ts); out is [cells, channels]. */
  roiGather(
    start: Int32Array,
    pos: Int32Array,
    weight: Float32Array,
    x: Float32Array,
    out: Float32Array,
    cells: number,
    channels: number,
  ): void;
  /** Its transpose: scatter-add into dx (the feature gradient, overwritten). */
  roiScatter(
    start: Int32Array,
    pos: Int32Array,
    weight: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    cells: number,
    channels: number,
  ): void;
  /**
   * The Barlow Twins views of `renderView` (src/data/augment.ts), bit for bit, on the thread pool:
   * geom = [n, h, w, outSize, filter (0 tfjs bilinear, 1 Pillow bicubic, 2 Pillow bilinear), blur
   * radius]; per image 8 ints (crop top, left, height, width, flip, contrast first, blurred,
   * solarised) and 6 floats (normalised box y1, x1, y2, x2, brightness, contrast); kernels: n rows
   * of 2·radius + 1 taps, or null when nothing is blurred.
   */
  renderViews(
    data: Float32Array,
    out: Float32Array,
    geom: Int32Array,
    ints: Int32Array,
    reals: Float32Array,
    kernels: Float32Array | null,
  ): void;
  /** One SGD-momentum step; outValue/outAcc may be value/acc themselves (in place). */
  momentumUpdate(
    value: Float32Array,
    acc: Float32Array,
    grad: Float32Array,
    outValue: Float32Array,
    outAcc: Float32Array,
    lr: number,
    momentum: number,
  ): void;
  /** The float32 value of `tf.sum(tf.square(x))` on the accelerated backend (absent from addons built before it). */
  sumSquares?(x: Float32Array): number;
  /**
   * {@link momentumUpdate} on `grad * scale (when scaled) + value * weightDecay`, each op rounded to
   * float32 as the tensor ops round (absent from addons built before it).
   */
  momentumUpdateDecay?(
    value: Float32Array,
    acc: Float32Array,
    grad: Float32Array,
    outValue: Float32Array,
    outAcc: Float32Array,
    lr: number,
    momentum: number,
    scale: number,
    weightDecay: number,
    scaled: number,
  ): void;
  larsUpdate(
    value: Float32Array,
    mu: Float32Array,
    grad: Float32Array,
    outValue: Float32Array,
    outMu: Float32Array,
    lr: number,
    weightDecay: number,
    eta: number,
    momentum: number,
    biasLike: number,
  ): void;
  setNumThreads(n: number): void;
  /**
   * Whether the convolutions may run their direct kernels (native/src/conv_direct.cc): 0 never, 1 where
   * they apply and measured faster than the system BLAS (the default), 2 wherever they apply (tests);
   * returns the previous mode. Absent from addons built before it.
   */
  setConvDirect?(mode: number): number;
  info(): NativeInfo;
  /**
   * One row-major GEMM, c = alpha * op(a) * op(b) + beta * c, by a named implementation: 'auto'
   * (the one the kernels use), 'system' (the loaded BLAS), 'bundled' (the bundled GEMM as it runs
   * without a BLAS, micro-kernel chosen per shape), or one bundled micro-kernel ('avx512', 'avx2',
   * 'generic'). False when that one is not available here. For tests and the bench.
   */
  sgemm(
    which: string,
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): boolean;
}

/** What the addon reports about itself. */
export interface NativeInfo {
  /** The GEMM in use, in words: the BLAS build and library, or the bundled kernel and why. */
  blas: string;
  /** Which GEMM runs: 'openblas', 'accelerate' or 'bundled'. */
  gemm: 'openblas' | 'accelerate' | 'bundled';
  /** The bundled micro-kernels this CPU runs, best first, comma-separated. */
  bundledKernels: string;
  /** The system BLAS's threads (0 without one). */
  blasThreads: number;
  threads: number;
  /** Vector width of the direct convolution kernel: 16 (AVX-512F), 8 (AVX2 + FMA), 0 (none). */
  directConvLanes?: number;
}

/** The machine's memory in bytes (the buffer pool may grow to a quarter of it; kernelUtil.ts). */
export function systemMemoryBytes(): number {
  return totalmem();
}

/** Where the addon is expected, relative to the repository root. */
export const ADDON_PATH = 'native/build/Release/cxr_native.node';
/** The same addon compiled for AVX2 CPUs (x86-64 only; loaded instead where the CPU has AVX2). */
export const ADDON_AVX2_PATH = 'native/build/Release/cxr_native_avx2.node';

let cached: { addon: NativeAddon | null; reason: string } | undefined;

/**
 * OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its SSE3
 * "Prescott" kernels, about 5x slower than its AVX-512 ones on the same machine. It reads
 * OPENBLAS_CORETYPE once, when the library loads, so the choice is made before loading the
 * addon, from the instruction sets the kernel reports. A value the user set wins.
 */
function chooseOpenBlasCore(flags: Set<string> | null): void {
  if (process.env.OPENBLAS_CORETYPE || process.platform !== 'linux' || flags == null) return;
  if (['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => flags.has(f))) {
    process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  } else if (flags.has('avx2') && flags.has('fma')) {
    process.env.OPENBLAS_CORETYPE = 'Haswell';
  }
}

/** The CPU's instruction-set flags from /proc/cpuinfo (Linux), or null where it cannot be read. */
export function cpuFlags(): Set<string> | null {
  if (process.platform !== 'linux') return null;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    return new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return null;
  }
}

/**
 * Which build of the addon to load: `npm ci` builds a baseline x86-64 one and, on x86-64, one for
 * AVX2 CPUs (scripts/build-native.mjs: the same arithmetic, the memory-bound loops 8 floats wide).
 * CXR_NATIVE_ISA=baseline forces the first (tests compare the two); =avx2 fails where it cannot load.
 */
function chooseBuild(flags: Set<string> | null): { file: string; label: string } | { error: string } {
  const want = process.env.CXR_NATIVE_ISA ?? 'auto';
  const avx2 = path.join(repoRoot(), ADDON_AVX2_PATH);
  const base = {
    file: path.join(repoRoot(), ADDON_PATH),
    label: process.arch === 'x64' ? 'baseline x86-64 build' : 'native build',
  };
  if (want === 'baseline') return base;
  if (want !== 'auto' && want !== 'avx2')
    return { error: `CXR_NATIVE_ISA=${want}: use auto, baseline or avx2` };
  const usable = existsSync(avx2) && flags?.has('avx2') === true;
  if (want === 'avx2' && !usable)
    return {
      error: `CXR_NATIVE_ISA=avx2 but ${existsSync(avx2) ? 'this CPU has no AVX2' : `${ADDON_AVX2_PATH} is missing`}`,
    };
  return usable ? { file: avx2, label: 'AVX2 build' } : base;
}

/**
 * OpenBLAS's idle threads spin (sched_yield) for 2^28 cycles, ~0.1 s, after every call, while the
 * addon's own pool runs the memory-bound kernels between GEMMs on the same cores: a ResNet-50 step
 * at 224 px spent ~0.65 CPU-s of system time per step in that spinning. 2^4 cycles lets them sleep
 * at once; `node build/bench/profile.js 224 8 4` went from ~2.04 to ~1.86 s per step. A value the
 * user set wins.
 */
function shortenOpenBlasSpin(): void {
  if (process.env.OPENBLAS_THREAD_TIMEOUT === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = '4';
}

/**
 * Loads the addon once. `addon` is null when it is absent or fails to load, and `reason`
 * says why in one line; otherwise `reason` names the BLAS build and thread count.
 */
export function loadNative(): { addon: NativeAddon | null; reason: string } {
  if (cached) return cached;
  const file = path.join(repoRoot(), ADDON_PATH);
  if (!existsSync(file)) {
    cached = { addon: null, reason: `native addon not built (${ADDON_PATH} missing; see native/README.md)` };
    return cached;
  }
  const flags = cpuFlags();
  chooseOpenBlasCore(flags);
  shortenOpenBlasSpin();
  const build = chooseBuild(flags);
  if ('error' in build) {
    cached = { addon: null, reason: `native addon not loaded: ${build.error}` };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(build.file) as NativeAddon;
    const info = addon.info();
    cached = {
      addon,
      reason: `GEMM ${info.gemm}: ${info.blas.trim()}, ${info.threads} threads, ${build.label}`,
    };
  } catch (err) {
    cached = { addon: null, reason: `native addon failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
  return cached;
}
