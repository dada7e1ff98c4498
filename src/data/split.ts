/**
 * Multi-label stratified splits (Sechidis, Tsoumakas & Vlahavas 2011, "On the stratification of
 * multi-label data"), used to re-split NIH ChestX-ray14 80/20 and to draw the 1% / 10% label
 * fractions of the linear-evaluation protocol.
 */
import type { Rng } from '../rng.js';

function checkLabels(labels: number[][], where: string): number {
  const L = labels.length ? labels[0]!.length : 0;
  labels.forEach((row, i) => {
    if (row.length !== L) throw new RangeError(`${where}: row ${i} has ${row.length} labels, row 0 has ${L}`);
    for (let l = 0; l < L; l++) if (row[l] !== 0 && row[l] !== 1) throw new RangeError(`${where}: labels[${i}][${l}] = ${row[l]}; must be 0 or 1`);
  });
  return L;
}

/** Picks uniformly among the indices `cands` (length >= 1) with the rng; no draw for a single one. */
function pick(cands: number[], rng: Rng): number {
  return cands.length === 1 ? cands[0]! : cands[rng.int(cands.length)]!;
}

/** Options of {@link iterativeStratification}. */
export interface StratificationOptions {
  /**
   * After Sechidis' greedy pass, bring fold sizes to the exact rounded targets and improve the
   * label balance by seeded pairwise swaps (default true). The greedy pass alone can overshoot a
   * common label in a small fold when rarer co-occurring labels were placed first; false gives the
   * plain algorithm of the paper (and of trent-b/iterative-stratification).
   */
  refine?: boolean;
}

/**
 * Iterative stratification of a multi-label data set into folds of given sizes.
 *
 * Each fold j wants `fractions[j] * n` examples and `fractions[j] * n_l` positives of every label l.
 * Repeatedly the label with the fewest unassigned positives (ties: seeded choice) is taken, and
 * each of its unassigned examples (in a seeded random order) goes to the fold that still wants that
 * label most; ties go to the fold that wants the most examples overall, then to a seeded choice.
 * Examples with no positive label are dealt last, each to the fold wanting the most examples.
 * Rare labels are therefore placed first, while every fold still has room for them. Then (unless
 * `opts.refine` is false) fold sizes are set to the largest-remainder rounding of `fractions * n`
 * and seeded swaps between folds are kept whenever they reduce the squared deviation of the
 * per-fold label counts from their targets.
 *
 * @param labels `[n samples][L labels]` of 0/1.
 * @param fractions `[k folds]` positive, summing to 1 (e.g. `[0.8, 0.2]`).
 * @param rng the only source of randomness: the same seed gives the same split.
 * @returns `[k]` lists of sample indices, each sorted ascending; together a partition of 0..n-1.
 */
export function iterativeStratification(labels: number[][], fractions: number[], rng: Rng, opts: StratificationOptions = {}): number[][] {
  const L = checkLabels(labels, 'iterativeStratification');
  const k = fractions.length;
  if (k === 0) throw new RangeError('iterativeStratification: at least one fraction is needed');
  let total = 0;
  for (const f of fractions) {
    if (!(f > 0)) throw new RangeError(`iterativeStratification: fractions must be > 0, got ${f}`);
    total += f;
  }
  if (Math.abs(total - 1) > 1e-9) throw new RangeError(`iterativeStratification: fractions must sum to 1, got ${total}`);
  const n = labels.length;

  const wantAll = fractions.map((f) => f * n);
  const perLabel: number[][] = Array.from({ length: L }, () => []);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const unlabeled: number[] = [];
  for (const i of order) {
    let any = false;
    for (let l = 0; l < L; l++) if (labels[i]![l] === 1) { perLabel[l]!.push(i); any = true; }
    if (!any) unlabeled.push(i);
  }
  const remaining = perLabel.map((list) => list.length);
  const want = fractions.map((f) => remaining.map((c) => f * c)); // want[fold][label]
  const fold = new Int32Array(n).fill(-1);
  const folds: number[][] = Array.from({ length: k }, () => []);
  const assign = (i: number, j: number) => {
    fold[i] = j;
    folds[j]!.push(i);
    wantAll[j]!--;
    const row = labels[i]!;
    for (let l = 0; l < L; l++) if (row[l] === 1) { want[j]![l]!--; remaining[l]!--; }
  };

  for (;;) {
    let fewest = Infinity, cands: number[] = [];
    for (let l = 0; l < L; l++) {
      const r = remaining[l]!;
      if (r === 0) continue;
      if (r < fewest) { fewest = r; cands = [l]; } else if (r === fewest) cands.push(l);
    }
    if (cands.length === 0) break;
    const l = pick(cands, rng);
    for (const i of perLabel[l]!) {
      if (fold[i] !== -1) continue;
      let best: number[] = [], bestWant = -Infinity, bestAll = -Infinity;
      for (let j = 0; j < k; j++) {
        const w = want[j]![l]!, a = wantAll[j]!;
        if (w > bestWant || (w === bestWant && a > bestAll)) { best = [j]; bestWant = w; bestAll = a; }
        else if (w === bestWant && a === bestAll) best.push(j);
      }
      assign(i, pick(best, rng));
    }
  }
  for (const i of unlabeled) {
    let best: number[] = [], bestAll = -Infinity;
    for (let j = 0; j < k; j++) {
      const a = wantAll[j]!;
      if (a > bestAll) { best = [j]; bestAll = a; } else if (a === bestAll) best.push(j);
    }
    assign(i, pick(best, rng));
  }
  if (opts.refine ?? true) refine(labels, fractions, fold, k, L, rng.fork('refine'));
  const out: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) out[fold[i]!]!.push(i);
  return out;
}

/** Largest-remainder rounding of fractions * n (ties to the lower fold index). */
function targetSizes(fractions: number[], n: number): number[] {
  const raw = fractions.map((f) => f * n);
  const t = raw.map(Math.floor);
  let left = n - t.reduce((a, b) => a + b, 0);
  const byRemainder = raw.map((r, j) => j).sort((a, b) => (raw[b]! - t[b]!) - (raw[a]! - t[a]!) || a - b);
  for (const j of byRemainder) { if (left <= 0) break; t[j]!++; left--; }
  return t;
}

/**
 * Local search on J = sum over folds j and labels l of (count[j][l] - size_j * n_l / n)^2: first
 * moves to reach the target sizes (each time the member whose move raises J least), then random
 * pairwise swaps, kept only when J drops, until 4n proposals in a row fail or 40n are spent.
 */
function refine(labels: number[][], fractions: number[], fold: Int32Array, k: number, L: number, rng: Rng): void {
  const n = fold.length;
  if (n === 0 || k < 2) return;
  const target = targetSizes(fractions, n);
  const nl = new Float64Array(L);
  for (const row of labels) for (let l = 0; l < L; l++) nl[l]! += row[l]!;
  const dev: Float64Array[] = []; // count[j][l] - target[j] * n_l / n
  const members: number[][] = Array.from({ length: k }, () => []);
  const where = new Int32Array(n); // position of i in members[fold[i]]
  for (let j = 0; j < k; j++) dev.push(Float64Array.from(nl, (c) => (-target[j]! * c) / n));
  for (let i = 0; i < n; i++) {
    const j = fold[i]!;
    where[i] = members[j]!.length;
    members[j]!.push(i);
    for (let l = 0; l < L; l++) if (labels[i]![l] === 1) dev[j]![l]!++;
  }
  // Change of J when example i leaves fold a for fold b (each of its labels: -1 in a, +1 in b).
  const moveCost = (i: number, a: number, b: number, skip?: number): number => {
    let d = 0;
    const row = labels[i]!, other = skip === undefined ? undefined : labels[skip]!;
    for (let l = 0; l < L; l++) {
      const y = row[l]! - (other ? other[l]! : 0);
      if (y === 0) continue;
      // y = +1: i's label moves a -> b; y = -1: the swapped partner's label moves b -> a
      const da = dev[a]![l]!, db = dev[b]![l]!;
      d += y > 0 ? 2 - 2 * da + 2 * db : 2 + 2 * da - 2 * db;
    }
    return d;
  };
  const relocate = (i: number, b: number) => {
    const a = fold[i]!, list = members[a]!, p = where[i]!, last = list[list.length - 1]!;
    list[p] = last; where[last] = p; list.pop();
    where[i] = members[b]!.length; members[b]!.push(i); fold[i] = b;
    for (let l = 0; l < L; l++) if (labels[i]![l] === 1) { dev[a]![l]!--; dev[b]![l]!++; }
  };
  for (;;) {
    let over = -1, under = -1;
    for (let j = 0; j < k; j++) {
      const s = members[j]!.length - target[j]!;
      if (s > 0 && (over < 0 || s > members[over]!.length - target[over]!)) over = j;
      if (s < 0 && (under < 0 || s < members[under]!.length - target[under]!)) under = j;
    }
    if (over < 0 || under < 0) break;
    let best = -1, bestCost = Infinity;
    for (const i of members[over]!) {
      const c = moveCost(i, over, under);
      if (c < bestCost) { bestCost = c; best = i; }
    }
    relocate(best, under);
  }
  const budget = 40 * n, patience = 4 * n;
  for (let it = 0, fails = 0; it < budget && fails < patience; it++) {
    const i = rng.int(n), a = fold[i]!;
    let b = rng.int(k - 1);
    if (b >= a) b++;
    if (members[b]!.length === 0) { fails++; continue; }
    const m = members[b]![rng.int(members[b]!.length)]!;
    if (moveCost(i, a, b, m) < -1e-9) {
      relocate(i, b);
      relocate(m, a);
      fails = 0;
    } else fails++;
  }
}

/**
 * A stratified subset holding `fraction` of `indices` (e.g. the 10% label fraction of a training
 * fold), drawn by iterative stratification of those indices into `[fraction, 1 - fraction]`.
 *
 * @param labels `[n samples][L labels]` of 0/1 for the WHOLE data set.
 * @param indices the rows to draw from.
 * @param fraction in (0, 1]; 1 returns all of `indices`.
 * @returns the chosen rows (a subset of `indices`), sorted ascending.
 */
export function stratifiedSubset(labels: number[][], indices: number[], fraction: number, rng: Rng): number[] {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`stratifiedSubset: fraction must be in (0, 1], got ${fraction}`);
  if (fraction === 1) return indices.slice().sort((a, b) => a - b);
  const sub = indices.map((i) => {
    const row = labels[i];
    if (!row) throw new RangeError(`stratifiedSubset: index ${i} is outside the ${labels.length} rows`);
    return row;
  });
  const [chosen] = iterativeStratification(sub, [fraction, 1 - fraction], rng);
  return chosen!.map((k) => indices[k]!).sort((a, b) => a - b);
}

/**
 * Nested stratified subsets: for `fractions = [0.1, 0.01]`, a 10% subset of `indices` and a 1%
 * subset drawn from inside that 10% (so 1% ⊂ 10% ⊂ all), each stratified, as in the paper's 1% /
 * 10% / 100% label-fraction experiments.
 *
 * @param fractions of the full `indices`, non-increasing, each in (0, 1].
 * @returns one sorted index list per fraction, each contained in the previous one.
 */
export function nestedStratifiedSubsets(labels: number[][], indices: number[], fractions: number[], rng: Rng): number[][] {
  const out: number[][] = [];
  let current = indices, currentFraction = 1;
  fractions.forEach((f, s) => {
    if (!(f > 0 && f <= currentFraction)) throw new RangeError(`nestedStratifiedSubsets: fractions must be non-increasing in (0, 1], got ${fractions.join(', ')}`);
    current = stratifiedSubset(labels, current, f / currentFraction, rng.fork(`subset:${s}`));
    currentFraction = f;
    out.push(current);
  });
  return out;
}
