/**
 * Comparisons between two settings run with the same seeds (e.g. Barlow Twins vs ImageNet
 * initialisation): the per-seed paired difference with its Student-t interval, and a sentence saying
 * whether the demo's sign agrees with the paper's and whether the interval resolves it. The notebooks
 * print these so that their text follows the numbers of the run, whatever they are.
 */
import { studentTCi } from './ci.js';

/** One setting's per-seed results. */
export interface SeededResult {
  name: string;
  /** seed → value (e.g. test mAP50). */
  bySeed: Map<number, number>;
}

export interface PairedDifference {
  a: string;
  b: string;
  /** Seeds both settings ran with. */
  seeds: number[];
  /** Mean over seeds of a − b, and its Student-t 95 % interval (NaN bounds with one seed). */
  mean: number;
  low: number;
  high: number;
}

/** a − b over the seeds both ran, paired by seed. Throws when they share no seed. */
export function pairedDifference(a: SeededResult, b: SeededResult): PairedDifference {
  const seeds = [...a.bySeed.keys()].filter((s) => b.bySeed.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) throw new Error(`pairedDifference: ${a.name} and ${b.name} share no seed`);
  const ci = studentTCi(seeds.map((s) => a.bySeed.get(s)! - b.bySeed.get(s)!));
  return { a: a.name, b: b.name, seeds, mean: ci.mean, low: ci.low, high: ci.high };
}

const signed = (x: number, digits: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/**
 * "A − B: +0.012 (95 % CI −0.004 to +0.028, 3 seeds); paper +0.029: same sign, not resolved by 3 seeds".
 * `paper` is the paper's a − b (omit when the paper has no such pair).
 */
export function differenceSentence(d: PairedDifference, paper?: number, digits = 3): string {
  const ci = Number.isFinite(d.low) ? `95 % CI ${signed(d.low, digits)} to ${signed(d.high, digits)}, ` : '';
  const head = `${d.a} − ${d.b}: ${signed(d.mean, digits)} (${ci}${d.seeds.length} seed${d.seeds.length === 1 ? '' : 's'})`;
  const resolved = Number.isFinite(d.low) && (d.low > 0 || d.high < 0);
  const verdict = resolved
    ? `${d.mean > 0 ? d.a : d.b} is ahead beyond the seed-to-seed spread`
    : 'not resolved by these seeds';
  if (paper === undefined) return `${head}: ${verdict}`;
  const sign =
    d.mean === 0 ? 'no difference' : Math.sign(d.mean) === Math.sign(paper) ? 'same sign' : 'opposite sign';
  return `${head}; paper ${signed(paper, digits)}: ${sign}, ${verdict}`;
}
