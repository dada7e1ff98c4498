/**
 * The float64 LARS oracle of the tests: main.py's LARS step written out on plain arrays, against
 * which test/models/lars.test.ts checks the tensor optimizer `Lars` (src/models/lars.ts).
 */
import { isBiasLike, type LarsOptions } from '../../src/models/lars.js';

/**
 * One LARS step on float64 arrays, in place (the reference semantics; the tensor optimizer `Lars` does
 * the same in float32). p, g, mu: same length; `rank` is the parameter's number of dimensions.
 */
export function larsStepF64(
  p: Float64Array,
  g: ArrayLike<number>,
  mu: Float64Array,
  rank: number,
  lr: number,
  opts: LarsOptions = {},
): void {
  const wd = opts.weightDecay ?? 1e-6;
  const momentum = opts.momentum ?? 0.9;
  const eta = opts.eta ?? 0.001;
  const n = p.length;
  const dp = new Float64Array(n);
  const adapt = !isBiasLike(rank === 0 ? [] : new Array<number>(rank).fill(1));
  for (let i = 0; i < n; i++) dp[i] = adapt ? g[i]! + wd * p[i]! : g[i]!;
  if (adapt) {
    let pn = 0;
    let un = 0;
    for (let i = 0; i < n; i++) {
      pn += p[i]! * p[i]!;
      un += dp[i]! * dp[i]!;
    }
    pn = Math.sqrt(pn);
    un = Math.sqrt(un);
    const q = pn > 0 && un > 0 ? (eta * pn) / un : 1;
    for (let i = 0; i < n; i++) dp[i] = dp[i]! * q;
  }
  for (let i = 0; i < n; i++) {
    mu[i] = momentum * mu[i]! + dp[i]!;
    p[i] = p[i]! - lr * mu[i]!;
  }
}
