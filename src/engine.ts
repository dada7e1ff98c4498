/**
 * The TensorFlow.js engine: picks the fastest backend that loads, says which and why in one line,
 * and offers the tensor-count check used by training loops and tests.
 *
 * Order (docs/ARCHITECTURE.md, "Backends"): tfjs-node-gpu, tfjs-node (both register the backend `tensorflow`),
 * then the project's accelerated CPU path (`cxr-cpu`, native kernels, see native/README.md), then
 * plain tfjs `cpu`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendRequest } from './config.js';

/** One attempt at loading a backend. */
export interface BackendAttempt {
  name: string;
  ok: boolean;
  reason: string;
}

/** What `initEngine` chose and why. */
export interface EngineInfo {
  /** What was asked for (`auto` or a named backend). */
  request: BackendRequest;
  /** The active tfjs backend name (`tensorflow`, `cxr-cpu` or `cpu`). */
  backend: string;
  /** Human-readable description of the path, e.g. "tfjs-node-gpu (CUDA)". */
  path: string;
  /** Why this path runs: what was requested and what failed before it. */
  reason: string;
  attempts: BackendAttempt[];
  tfjsVersion: string;
}

type Loader = () => Promise<{ ok: boolean; reason: string; path: string }>;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0] ?? msg;
  if (/Cannot find (package|module)/.test(first)) return 'not installed';
  return first.length > 160 ? `${first.slice(0, 157)}...` : first;
}

async function loadTfjsNode(pkg: string): Promise<{ ok: boolean; reason: string; path: string }> {
  try {
    await import(pkg);
    return { ok: tf.findBackend('tensorflow') !== null, reason: 'loaded', path: pkg };
  } catch (e) {
    return { ok: false, reason: errorText(e), path: pkg };
  }
}

// The accelerated path lives in src/backend/ (native kernels). It is imported by a computed name so
// that a checkout without it (or without its built addon) still compiles and runs on plain tfjs.
const ACCELERATED_MODULE = './backend/index.js';
interface AcceleratedModule {
  registerAcceleratedBackend(): { ok: boolean; reason: string };
}

async function loadAccelerated(): Promise<{ ok: boolean; reason: string; path: string }> {
  const path = 'cxr-cpu (native kernels)';
  try {
    const mod = (await import(ACCELERATED_MODULE)) as AcceleratedModule;
    const r = mod.registerAcceleratedBackend();
    return { ok: r.ok, reason: r.reason, path };
  } catch (e) {
    return { ok: false, reason: errorText(e), path };
  }
}

const LOADERS: Record<Exclude<BackendRequest, 'auto'>, Loader[]> = {
  tensorflow: [() => loadTfjsNode('@tensorflow/tfjs-node-gpu'), () => loadTfjsNode('@tensorflow/tfjs-node')],
  'cxr-cpu': [loadAccelerated],
  cpu: [async () => ({ ok: true, reason: 'plain TensorFlow.js', path: 'tfjs cpu (pure JavaScript)' })],
};
const BACKEND_OF: Record<Exclude<BackendRequest, 'auto'>, string> = {
  tensorflow: 'tensorflow',
  'cxr-cpu': 'cxr-cpu',
  cpu: 'cpu',
};

let current: EngineInfo | null = null;

/**
 * Chooses and activates the backend. With `request` `auto`, tries tfjs-node-gpu, tfjs-node, cxr-cpu,
 * cpu in turn; with a named request, tries only that one and throws if it does not load (an explicit
 * `CXR_BACKEND` that silently fell back would make timings and numbers lie about their origin).
 * Idempotent for the same request.
 */
export async function initEngine(request: BackendRequest = 'auto'): Promise<EngineInfo> {
  if (current && current.request === request && tf.getBackend() === current.backend) return current;
  const order: Exclude<BackendRequest, 'auto'>[] =
    request === 'auto' ? ['tensorflow', 'cxr-cpu', 'cpu'] : [request];
  const attempts: BackendAttempt[] = [];
  for (const kind of order) {
    for (const load of LOADERS[kind]) {
      const r = await load();
      attempts.push({ name: r.path, ok: r.ok, reason: r.reason });
      if (!r.ok) continue;
      const ok = await tf.setBackend(BACKEND_OF[kind]);
      if (!ok) {
        attempts[attempts.length - 1] = { name: r.path, ok: false, reason: 'tf.setBackend failed' };
        continue;
      }
      await tf.ready();
      const failed = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
      const why =
        request === 'auto'
          ? failed.length
            ? `fastest that loads (${failed.join('; ')})`
            : 'fastest available'
          : `requested by CXR_BACKEND=${request}`;
      current = {
        request,
        backend: BACKEND_OF[kind],
        path: r.path,
        reason: why,
        attempts,
        tfjsVersion: tf.version.tfjs,
      };
      return current;
    }
  }
  const detail = attempts.map((a) => `${a.name}: ${a.reason}`).join('; ');
  throw new Error(`engine: backend '${request}' could not be loaded (${detail})`);
}

/** The engine chosen so far, or null before `initEngine`. */
export function engineInfo(): EngineInfo | null {
  return current;
}

/** The one line every notebook prints: which path runs and why. */
export function backendLine(info: EngineInfo): string {
  return `backend: ${info.backend} — ${info.path}; ${info.reason}; tfjs ${info.tfjsVersion}`;
}

/** Number of live tensors (for leak checks). */
export function tensorCount(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn` and throws if it leaves more live tensors behind than it started with (minus `allowed`,
 * e.g. tensors it returns on purpose).
 */
export async function withoutLeaks<T>(label: string, fn: () => T | Promise<T>, allowed = 0): Promise<T> {
  const before = tensorCount();
  const out = await fn();
  const grew = tensorCount() - before - allowed;
  if (grew > 0) throw new Error(`${label}: ${grew} tensor(s) leaked (count ${before} -> ${tensorCount()})`);
  return out;
}
