/**
 * Confidence intervals: Student-t intervals over training seeds (Tables 1–3: mAP50 and AUC with
 * 95 % CI, and the paired-by-seed differences) and seeded percentile bootstrap intervals over test
 * items (one detector run's mAP50 over test images, Ablation-CAM's per-box localisation scores).
 */
import type { Rng } from '../rng.js';

// Lanczos approximation (g = 7, n = 9): ~15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1,
    d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b), for 0 <= x <= 1 and a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // The continued fraction converges fast only below the mean; use the symmetry above it.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Standard normal CDF Φ(z) = erfc(-z / √2) / 2 (the t distribution's df → ∞ limit). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Complementary error function to ~1e-16 absolute: Taylor series below 2, continued fraction above. */
function erfc(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2) {
    // erf by Taylor series, then 1 - erf
    let sum = ax,
      term = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = 1 - (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Lentz continued fraction: erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
    const TINY = 1e-300;
    let f = ax,
      c = ax,
      d = 0;
    for (let n = 1; n < 500; n++) {
      const an = n / 2;
      d = ax + an * d;
      d = Math.abs(d) < TINY ? TINY : d;
      d = 1 / d;
      c = ax + an / c;
      c = Math.abs(c) < TINY ? TINY : c;
      const del = c * d;
      f *= del;
      if (Math.abs(del - 1) < 1e-16) break;
    }
    r = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x >= 0 ? r : 2 - r;
}

/** CDF of Student's t distribution with `df` > 0 degrees of freedom (df = Infinity: normal). */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTCdf: df must be > 0, got ${df}`);
  if (df === Infinity) return normalCdf(t);
  if (t === 0) return 0.5;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/**
 * Quantile (inverse CDF) of Student's t: the `t` with `studentTCdf(t, df) = p`, for 0 < p < 1.
 * Solved by bisection on the CDF to ~1e-13 relative, so any df > 0 works, not just a table.
 * Example: `studentTQuantile(0.975, 4)` ≈ 2.7764.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`studentTQuantile: df must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0,
    hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  for (let i = 0; i < 400 && hi - lo > 1e-14 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** A Student-t interval for a mean. */
export interface TInterval {
  mean: number;
  low: number;
  high: number;
  /** t * sd / sqrt(n); NaN when n = 1 (no spread can be estimated). */
  halfWidth: number;
  /** Sample standard deviation (n - 1 denominator). */
  sd: number;
  n: number;
  df: number;
  /** The t quantile used. */
  t: number;
}

/**
 * Student-t confidence interval of the mean over a few runs (e.g. 5 seeds):
 * mean ± t_{1-(1-level)/2, n-1} · sd / √n. With one value the bounds are NaN.
 *
 * @param values per-run results (e.g. mAP50 of each seed), any unit.
 * @param opts.level coverage, default 0.95.
 */
export function studentTCi(values: ArrayLike<number>, opts: { level?: number } = {}): TInterval {
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`studentTCi: level must be in (0, 1), got ${level}`);
  const n = values.length;
  if (n === 0) throw new RangeError('studentTCi: no values');
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i]))
      throw new RangeError(`studentTCi: values[${i}] = ${values[i]} is not finite`);
    sum += values[i]!;
  }
  const mean = sum / n;
  if (n === 1) return { mean, low: NaN, high: NaN, halfWidth: NaN, sd: NaN, n, df: 0, t: NaN };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const df = n - 1;
  const t = studentTQuantile(1 - (1 - level) / 2, df);
  const halfWidth = (t * sd) / Math.sqrt(n);
  return { mean, low: mean - halfWidth, high: mean + halfWidth, halfWidth, sd, n, df, t };
}

/** Options of {@link bootstrapCi}. */
export interface BootstrapOptions {
  /** Source of the resampling; the same seed gives the same interval. */
  rng: Rng;
  /** Number of bootstrap resamples, default 1000. */
  iterations?: number;
  /** 1 - coverage, default 0.05 (a 95% interval). */
  alpha?: number;
}

/** A percentile bootstrap interval. */
export interface BootstrapInterval {
  /** The statistic on the original (not resampled) items. */
  estimate: number;
  low: number;
  high: number;
  /** Resamples whose statistic was finite and used. */
  iterations: number;
  /** Resamples skipped because the statistic was not finite (e.g. AUC of a one-class resample). */
  skipped: number;
}

/** numpy's default (linear) quantile of sorted values. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Seeded percentile bootstrap over items.
 *
 * - `bootstrapCi(values, opts)`: interval of the MEAN of `values`.
 * - `bootstrapCi(statistic, { ...opts, n })`: `statistic(indices)` receives `n` indices drawn with
 *   replacement from 0..n-1 (the identity 0..n-1 for the estimate) and returns a number, e.g.
 *   `(idx) => rocAuc(idx.map(i => y[i]), idx.map(i => s[i]))`. A statistic that throws or returns a
 *   non-finite value for a resample has that resample skipped and counted in `skipped`.
 *
 * @returns `[low, high]` = the alpha/2 and 1 - alpha/2 quantiles of the resampled statistics.
 */
export function bootstrapCi(values: ArrayLike<number>, opts: BootstrapOptions): BootstrapInterval;
export function bootstrapCi(
  statistic: (indices: number[]) => number,
  opts: BootstrapOptions & { n: number },
): BootstrapInterval;
export function bootstrapCi(
  arg: ArrayLike<number> | ((indices: number[]) => number),
  opts: BootstrapOptions & { n?: number },
): BootstrapInterval {
  const iterations = opts.iterations ?? 1000;
  const alpha = opts.alpha ?? 0.05;
  if (!(Number.isInteger(iterations) && iterations > 0))
    throw new RangeError(`bootstrapCi: iterations must be a positive integer, got ${iterations}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`bootstrapCi: alpha must be in (0, 1), got ${alpha}`);
  if (!opts.rng) throw new TypeError('bootstrapCi: opts.rng is required (randomness is always seeded)');
  let stat: (idx: number[]) => number;
  let n: number;
  if (typeof arg === 'function') {
    if (!(Number.isInteger(opts.n) && opts.n! > 0))
      throw new RangeError(
        'bootstrapCi: with a statistic function, opts.n (number of items) must be a positive integer',
      );
    stat = arg;
    n = opts.n!;
  } else {
    const v = arg;
    n = v.length;
    if (n === 0) throw new RangeError('bootstrapCi: no values');
    stat = (idx) => {
      let s = 0;
      for (const i of idx) s += v[i]!;
      return s / idx.length;
    };
  }
  const identity = Array.from({ length: n }, (_, i) => i);
  const estimate = stat(identity);
  const stats: number[] = [];
  let skipped = 0;
  for (let b = 0; b < iterations; b++) {
    const idx = new Array<number>(n);
    for (let i = 0; i < n; i++) idx[i] = opts.rng.int(n);
    let s: number;
    try {
      s = stat(idx);
    } catch {
      s = NaN;
    }
    if (Number.isFinite(s)) stats.push(s);
    else skipped++;
  }
  if (stats.length === 0)
    throw new Error(`bootstrapCi: the statistic was not finite on any of ${iterations} resamples`);
  const sorted = Float64Array.from(stats).sort();
  return {
    estimate,
    low: quantileSorted(sorted, alpha / 2),
    high: quantileSorted(sorted, 1 - alpha / 2),
    iterations: stats.length,
    skipped,
  };
}
