/**
 * The bench registry. A bench group measures something of ours and, beside it, the same
 * thing on a peer (PyTorch from Debian) in the same invocation, so every figure comes with
 * a comparison taken under the same machine load. Later issues add a group: write
 * bench/<name>.ts exporting a BenchGroup and add it to bench/groups.ts.
 */

/** One line of bench-results.json. ratio > 1 means ours is better than the peer. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The peer measured in the same run, or null where there is none (a message says why). */
  peer: string | null;
  peerValue: number | null;
  ratio: number | null;
  /**
   * The GEMM the native kernels used in this run ('openblas', 'accelerate', 'bundled:avx512'...;
   * 'none' on plain tfjs), added to every row by bench/run.ts.
   */
  gemm?: string;
}

export interface BenchGroup {
  /** Selector for `npm run bench -- --only <id>,...`. */
  id: string;
  description: string;
  run(): Promise<BenchResult[]>;
}

/** A result where higher is better (throughput): ratio = ours / peer. */
export function faster(
  name: string,
  value: number,
  unit: string,
  peer: string | null,
  peerValue: number | null,
): BenchResult {
  return { name, value, unit, peer, peerValue, ratio: peerValue ? value / peerValue : null };
}

/** A result where lower is better (memory, time): ratio = peer / ours. */
export function smaller(
  name: string,
  value: number,
  unit: string,
  peer: string | null,
  peerValue: number | null,
): BenchResult {
  return { name, value, unit, peer, peerValue, ratio: peerValue ? peerValue / value : null };
}

/** Median seconds per call of fn after `warmup` calls; runs at least `minReps` times and ~minSeconds. */
export function timeIt(
  fn: () => void,
  opts: { warmup?: number; minReps?: number; minSeconds?: number } = {},
): number {
  const { warmup = 2, minReps = 3, minSeconds = 0.5 } = opts;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || (performance.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * One warm-up call, then `reps` timed calls: the medians of wall and process CPU seconds (CPU time is
 * what a loaded machine inflates least); `each` also lists every call's CPU seconds.
 */
export function wallAndCpu(fn: () => void, reps: number, each = false): string {
  fn();
  const w: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    w.push((performance.now() - t0) / 1000);
    const d = process.cpuUsage(c0);
    c.push((d.user + d.system) / 1e6);
  }
  const list = each ? ` (${c.map((v) => v.toFixed(3)).join(' ')})` : '';
  return `wall ${median(w).toFixed(3)} s, CPU ${median(c).toFixed(3)} s${list}`;
}
