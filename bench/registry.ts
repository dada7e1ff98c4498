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
  /**
   * Each round's pair where ours and the peer were measured alternately (`alternate`): `value` and
   * `peerValue` above are the medians over these.
   */
  rounds?: { value: number; peerValue: number | null }[];
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

/**
 * How many times the peer-compared rows measure ours and the peer alternately: `--rounds N` on the
 * command line, else the environment's BENCH_ROUNDS, else 3.
 */
export function benchRounds(): number {
  const i = process.argv.indexOf('--rounds');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.BENCH_ROUNDS;
  if (raw === undefined) return 3;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--rounds / BENCH_ROUNDS: a whole number >= 1, got ${raw}`);
  return n;
}

/**
 * Ours, then the peer, then ours again ... `rounds` times; the row's figures are the medians over the
 * rounds. This machine's speed drifts by tens of per cent over minutes (the same work took 205–382 ms
 * of CPU time within one 30-call sequence, native/README.md), so two blocks measured one after the other
 * can differ by more than the difference under test; alternating puts the drift on both sides, and the
 * median drops a round that a burst of load hit. Each round's pair is kept in the row (`rounds`).
 */
export function alternate(
  rounds: number,
  ours: (round: number) => number,
  peer: (round: number) => { name: string | null; value: number | null },
): {
  value: number;
  peer: string | null;
  peerValue: number | null;
  rounds: { value: number; peerValue: number | null }[];
} {
  const pairs: { value: number; peerValue: number | null }[] = [];
  let name: string | null = null;
  for (let r = 0; r < rounds; r++) {
    const value = ours(r);
    const p = peer(r);
    name = p.value == null && name ? name : p.name;
    pairs.push({ value, peerValue: p.value });
    if (rounds > 1)
      console.log(
        `    round ${r + 1}/${rounds}: ours ${value.toPrecision(4)}, peer ${p.value?.toPrecision(4) ?? '-'}`,
      );
  }
  const peers = pairs.map((p) => p.peerValue).filter((v): v is number => v != null);
  return {
    value: median(pairs.map((p) => p.value)),
    peer: name,
    peerValue: peers.length > 0 ? median(peers) : null,
    rounds: pairs,
  };
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
