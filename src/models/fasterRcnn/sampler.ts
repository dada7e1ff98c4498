/**
 * Balanced positive / negative sampling of matched predictions (MMDetection `RandomSampler`,
 * torchvision `BalancedPositiveNegativeSampler`): at most `num * positiveFraction` positives, the
 * rest negatives, each drawn uniformly without replacement from a seeded stream.
 */
import type { Rng } from '../../rng.js';

/** Sampler settings: RPN 256 at 0.5, box head 512 at 0.25. */
export interface SamplerOptions {
  num: number;
  positiveFraction: number;
}

/** Up to `k` distinct items of `pool`, in random order (partial Fisher–Yates). */
function choose(pool: number[], k: number, rng: Rng): number[] {
  if (pool.length <= k) return pool;
  const a = pool.slice();
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(a.length - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, k);
}

/**
 * Picks training samples from matcher output.
 * @param matches per prediction: ground-truth index (>= 0, positive), -1 (negative) or -2 (ignored).
 * @returns indices of the sampled positives and negatives (never more than `num` together).
 */
export function samplePositiveNegative(
  matches: ArrayLike<number>,
  opts: SamplerOptions,
  rng: Rng,
): { pos: number[]; neg: number[] } {
  const posPool: number[] = [];
  const negPool: number[] = [];
  for (let i = 0; i < matches.length; i++) {
    if (matches[i]! >= 0) posPool.push(i);
    else if (matches[i] === -1) negPool.push(i);
  }
  const pos = choose(posPool, Math.floor(opts.num * opts.positiveFraction), rng);
  const neg = choose(negPool, opts.num - pos.length, rng);
  return { pos, neg };
}
