import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iterativeStratification, nestedStratifiedSubsets, stratifiedSubset } from '../../src/data/split.js';
import { makeRng } from '../../src/rng.js';
import { loadReference } from '../helpers/reference.js';

const ref = loadReference('iterstrat');
const parse = (rows: string[]) => rows.map((s) => [...s].map(Number));

/** Per-label |prevalence in the test part - prevalence overall|. */
function deviations(Y: number[][], test: number[]): number[] {
  return Y[0]!.map((_, l) => {
    const all = Y.reduce((s, r) => s + r[l]!, 0) / Y.length;
    return Math.abs(test.reduce((s, i) => s + Y[i]![l]!, 0) / test.length - all);
  });
}

test('80/20 split meets the trent-b/iterative-stratification quality bar on every reference matrix', () => {
  // iterstrat.json notes: mean_abs_dev no worse than the peer's mean over 20 seeds, max_abs_dev no
  // worse than the peer's worst seed; and clearly better than a random split.
  assert.ok(ref.cases.length >= 10);
  for (const c of ref.cases) {
    const Y = parse(c.input.labels);
    const seeds: number[] = c.expected.peer_seeds;
    let meanDev = 0, worst = 0;
    for (const seed of seeds) {
      const [, test] = iterativeStratification(Y, [1 - c.input.test_size, c.input.test_size], makeRng(seed));
      const d = deviations(Y, test!);
      meanDev += d.reduce((a, b) => a + b, 0) / d.length / seeds.length;
      worst = Math.max(worst, ...d);
    }
    const e = c.expected;
    assert.ok(meanDev <= e.peer_mean_abs_dev.mean + 1e-12, `${c.name}: mean dev ${meanDev} > peer ${e.peer_mean_abs_dev.mean}`);
    assert.ok(worst <= e.peer_max_abs_dev.max + 1e-12, `${c.name}: worst dev ${worst} > peer ${e.peer_max_abs_dev.max}`);
    assert.ok(meanDev <= 0.6 * e.random_split_mean_abs_dev.mean, `${c.name}: mean dev ${meanDev} not clearly below random ${e.random_split_mean_abs_dev.mean}`);
  }
});

test('the plain Sechidis pass (refine: false) is also far better than a random split', () => {
  for (const c of ref.cases) {
    const Y = parse(c.input.labels);
    let meanDev = 0;
    for (let seed = 0; seed < 20; seed++) {
      const [, test] = iterativeStratification(Y, [0.8, 0.2], makeRng(seed), { refine: false });
      const d = deviations(Y, test!);
      meanDev += d.reduce((a, b) => a + b, 0) / d.length / 20;
    }
    assert.ok(meanDev <= 0.6 * c.expected.random_split_mean_abs_dev.mean, c.name);
  }
});

test('invariants: folds partition the indices, sorted, sizes are the rounded fractions, seeded', () => {
  const Y = parse(ref.cases[3]!.input.labels); // 150 rows, 14 labels
  const fractions = [0.5, 0.3, 0.2];
  const folds = iterativeStratification(Y, fractions, makeRng(9));
  const all = folds.flat().sort((a, b) => a - b);
  assert.deepEqual(all, Y.map((_, i) => i));
  for (const f of folds) assert.deepEqual(f, [...f].sort((a, b) => a - b));
  // 150 * [0.5, 0.3, 0.2] = [75, 45, 30] exactly
  assert.deepEqual(folds.map((f) => f.length), [75, 45, 30]);
  assert.deepEqual(iterativeStratification(Y, fractions, makeRng(9)), folds);
  let differ = 0;
  for (let s = 10; s < 20; s++) if (JSON.stringify(iterativeStratification(Y, fractions, makeRng(s))) !== JSON.stringify(folds)) differ++;
  assert.ok(differ >= 9, `only ${differ} of 10 other seeds changed the split`);
  // 7 rows into thirds: 7/3 = 2.33 each, largest remainder gives the extra row to fold 0
  const seven = Array.from({ length: 7 }, (_, i) => [i % 2]);
  assert.deepEqual(iterativeStratification(seven, [1 / 3, 1 / 3, 1 / 3], makeRng(1)).map((f) => f.length), [3, 2, 2]);
});

test('hand case: a rare label is spread before common ones', () => {
  // 10 rows; label 1 on rows 0 and 1 only. A 50/50 split must put one of them in each fold, and
  // label 0 (rows 0..5) must split 3/3.
  const Y = Array.from({ length: 10 }, (_, i) => [i < 6 ? 1 : 0, i < 2 ? 1 : 0]);
  for (let seed = 0; seed < 10; seed++) {
    const [a, b] = iterativeStratification(Y, [0.5, 0.5], makeRng(seed));
    assert.equal(a!.filter((i) => i < 2).length, 1);
    assert.equal(a!.filter((i) => i < 6).length, 3);
    assert.equal(a!.length, 5);
    assert.equal(b!.length, 5);
  }
});

test('edge cases and bad input', () => {
  assert.deepEqual(iterativeStratification([], [0.8, 0.2], makeRng(1)), [[], []]);
  assert.deepEqual(iterativeStratification([[1, 0]], [1], makeRng(1)), [[0]]);
  // rows without any label are still dealt out by size
  const empty = Array.from({ length: 10 }, () => [0, 0]);
  assert.deepEqual(iterativeStratification(empty, [0.8, 0.2], makeRng(1)).map((f) => f.length), [8, 2]);
  assert.throws(() => iterativeStratification([[0, 1]], [0.5, 0.4], makeRng(1)), /sum to 1/);
  assert.throws(() => iterativeStratification([[0, 1]], [1.2, -0.2], makeRng(1)), /fractions must be > 0/);
  assert.throws(() => iterativeStratification([[0, 1], [1]], [1], makeRng(1)), /row 1 has 1 labels/);
  assert.throws(() => iterativeStratification([[0, 2]], [1], makeRng(1)), /must be 0 or 1/);
  assert.throws(() => iterativeStratification([[0]], [], makeRng(1)), /at least one fraction/);
});

test('stratifiedSubset and nestedStratifiedSubsets: 1% within 10% within the fold, stratified', () => {
  const rng = makeRng(31);
  const prev = [0.3, 0.1, 0.05];
  const Y = Array.from({ length: 2000 }, () => prev.map((p) => (rng.next() < p ? 1 : 0)));
  const fold = Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 5 !== 0); // 1600 rows
  const [ten, one] = nestedStratifiedSubsets(Y, fold, [0.1, 0.01], makeRng(4));
  assert.equal(ten!.length, 160);
  assert.equal(one!.length, 16);
  const inFold = new Set(fold), inTen = new Set(ten);
  assert.ok(ten!.every((i) => inFold.has(i)));
  assert.ok(one!.every((i) => inTen.has(i)));
  const prevalence = (idx: number[], l: number) => idx.reduce((s, i) => s + Y[i]![l]!, 0) / idx.length;
  for (let l = 0; l < 3; l++) {
    // integer counts allow at most 1 / size of deviation after refinement; allow 1.5 / size
    assert.ok(Math.abs(prevalence(ten!, l) - prevalence(fold, l)) <= 1.5 / 160, `10% label ${l}`);
    assert.ok(Math.abs(prevalence(one!, l) - prevalence(fold, l)) <= 1.5 / 16, `1% label ${l}`);
  }
  assert.deepEqual(nestedStratifiedSubsets(Y, fold, [0.1, 0.01], makeRng(4)), [ten, one]);
  assert.deepEqual(stratifiedSubset(Y, [5, 3, 9], 1, makeRng(1)), [3, 5, 9]);
  assert.throws(() => nestedStratifiedSubsets(Y, fold, [0.01, 0.1], makeRng(1)), /non-increasing/);
  assert.throws(() => stratifiedSubset(Y, [0, 99999], 0.5, makeRng(1)), /outside/);
});
