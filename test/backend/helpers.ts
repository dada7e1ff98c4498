/**
 * Shared test plumbing: `nativeTest` for tests of the accelerated backend, a seeded PRNG, running
 * one function on the reference 'cpu' backend and on 'cxr-cpu', and the float32 comparison.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCELERATED_BACKEND, kernelCalls, registerAcceleratedBackend } from '../../src/backend/index.js';
import { initEngine } from '../../src/engine.js';

const registration = registerAcceleratedBackend();

/**
 * A test of the accelerated backend. Where the addon loads, it runs `fn`. Where it does not, the
 * test fails, naming the reason — a broken native build must not pass as skipped tests — unless
 * the run opted out of the addon on purpose (`CXR_SKIP_NATIVE=1`, as for `npm ci` on a machine
 * without a C++ compiler). Then it checks the fallback instead: the engine lands on plain tfjs and says why.
 */
export function nativeTest(name: string, fn: () => void | Promise<void>): void {
  test(name, async () => {
    if (registration.ok) return fn();
    if (process.env.CXR_SKIP_NATIVE !== '1') {
      assert.fail(
        `accelerated backend unavailable: ${registration.reason}. Build it with \`npm run build:native\` (it needs a C++ compiler: \`npm run setup:system\` installs g++ on Debian/Ubuntu), or set CXR_SKIP_NATIVE=1 to test the project without it.`,
      );
    }
    const engine = await initEngine('auto');
    assert.equal(engine.backend, 'cpu');
    assert.ok(engine.reason.includes(registration.reason), engine.reason);
  });
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;
export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

/** Standard-normal-ish values (sum of uniforms), so every test input is reproducible. */
export function randomValues(rng: Rng, size: number): Float32Array {
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = rng() + rng() + rng() - 1.5;
  return v;
}

/**
 * Runs fn on `backend` with inputs made there from the same values, returns the outputs'
 * values and shapes, and checks that fn leaked no tensor.
 */
export function runOn(
  backend: string,
  inputs: { shape: number[]; values: Float32Array }[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): { shape: number[]; values: Float32Array }[] {
  tf.setBackend(backend);
  const xs = inputs.map((i) => tf.tensor(i.values, i.shape, 'float32'));
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const r = fn(...xs);
    return Array.isArray(r) ? r : [r];
  });
  const result = out.map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
  tf.dispose(out);
  assert.equal(tf.memory().numTensors, before, `tensors leaked on ${backend}`);
  tf.dispose(xs);
  return result;
}

/**
 * Float32 agreement: max |got - ref| <= tol * (1 + max |ref|). The two backends sum the same
 * products in different orders (blocked GEMM vs naive loops, float vs double accumulators),
 * so they differ by rounding that grows with the magnitude of the result; an indexing or
 * padding mistake gives differences of the order of the values themselves, far above this.
 */
export function assertClose(
  got: { shape: number[]; values: Float32Array },
  ref: { shape: number[]; values: Float32Array },
  what: string,
  tol = 1e-4,
): void {
  assert.deepEqual(got.shape, ref.shape, `${what}: shape`);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.values.length; i++) {
    if (Number.isFinite(ref.values[i])) maxRef = Math.max(maxRef, Math.abs(ref.values[i]));
    // Non-finite values must match exactly (NaN with NaN, +Inf with +Inf).
    if (!Number.isFinite(ref.values[i]) || !Number.isFinite(got.values[i])) {
      if (!Object.is(ref.values[i], got.values[i])) maxDiff = Infinity;
      continue;
    }
    maxDiff = Math.max(maxDiff, Math.abs(got.values[i] - ref.values[i]));
  }
  assert.ok(maxDiff <= tol * (1 + maxRef), `${what}: max |diff| ${maxDiff} > ${tol} * (1 + ${maxRef})`);
}

/** Runs fn on both backends and compares every output. */
export function compareBackends(
  inputs: { shape: number[]; values: Float32Array }[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  what: string,
  tol = 1e-4,
): void {
  const ref = runOn('cpu', inputs, fn);
  const got = runOn(ACCELERATED_BACKEND, inputs, fn);
  assert.equal(got.length, ref.length);
  ref.forEach((r, i) => assertClose(got[i], r, `${what} [output ${i}]`, tol));
}

/** A random input of the given shape. */
export function input(rng: Rng, shape: number[]): { shape: number[]; values: Float32Array } {
  return {
    shape,
    values: randomValues(
      rng,
      shape.reduce((a, b) => a * b, 1),
    ),
  };
}

/**
 * Value and gradients of sum(f(xs) * w) with a fixed random weighting w, so every gradient
 * is checked against a non-uniform upstream dy.
 */
export function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, weightSeed: number) {
  return (...xs: tf.Tensor[]): tf.Tensor[] => {
    const y = f(...xs);
    const w = tf.tensor(randomValues(mulberry32(weightSeed), y.size), y.shape);
    const g = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), w)));
    return [y, ...g(xs)];
  };
}

/** Runs fn and returns how many calls of `kernel` ran natively and how many fell back. */
export function countCalls(kernel: string, fn: () => void): { native: number; fallback: number } {
  const n0 = kernelCalls.native[kernel] ?? 0;
  const f0 = kernelCalls.fallback[kernel] ?? 0;
  fn();
  return {
    native: (kernelCalls.native[kernel] ?? 0) - n0,
    fallback: (kernelCalls.fallback[kernel] ?? 0) - f0,
  };
}
