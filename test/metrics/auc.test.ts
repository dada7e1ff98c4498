import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macroRocAuc, rocAuc } from '../../src/metrics/auc.js';
import { assertClose, loadReference } from '../helpers/reference.js';

// Rank statistic vs sklearn's trapezoid: same rational number, different rounding paths.
const TOL = 1e-12;
const ref = loadReference('auc');
const transpose = (m: number[][]) => (m.length ? m[0]!.map((_, j) => m.map((r) => r[j]!)) : []);

test('rocAuc matches scikit-learn 1.2.1 on every binary reference case, and raises where it raises', () => {
  const cases = ref.cases.filter((c) => c.kind === 'binary');
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    if (c.expected_error) {
      assert.throws(() => rocAuc(c.input.y_true, c.input.y_score), /only one class present/, c.name);
    } else {
      assertClose(rocAuc(c.input.y_true, c.input.y_score), c.expected, TOL, c.name);
    }
  }
});

test('macroRocAuc matches scikit-learn macro and per-label AUCs', () => {
  const cases = ref.cases.filter((c) => c.kind === 'multilabel' && !c.expected_error);
  assert.ok(cases.length >= 4);
  for (const c of cases) {
    const got = macroRocAuc(c.input.y_true, c.input.y_score);
    assertClose(got.macro, c.expected, TOL, `${c.name} macro`);
    assert.equal(got.perLabel.length, c.expected_per_label.length);
    c.expected_per_label.forEach((e: number, l: number) =>
      assertClose(got.perLabel[l]!, e, TOL, `${c.name} label ${l}`),
    );
  }
});

test('macroRocAuc skips one-class labels with null where scikit-learn raises', () => {
  const c = ref.cases.find((x) => x.name === 'column_all_negative_raises')!;
  assert.ok(c.expected_error, 'the peer raises on this case');
  const got = macroRocAuc(c.input.y_true, c.input.y_score);
  const cols = transpose(c.input.y_true),
    scoreCols = transpose(c.input.y_score);
  const degenerate = cols.map((col) => col.every((v) => v === col[0]));
  assert.ok(degenerate.some(Boolean) && !degenerate.every(Boolean));
  let sum = 0,
    n = 0;
  cols.forEach((col, l) => {
    if (degenerate[l]) {
      assert.equal(got.perLabel[l], null);
      assert.throws(() => rocAuc(col, scoreCols[l]!), /only one class present/);
    } else {
      assertClose(got.perLabel[l]!, rocAuc(col, scoreCols[l]!), 0, `label ${l}`);
      sum += got.perLabel[l]!;
      n++;
    }
  });
  assertClose(got.macro, sum / n, 1e-15, 'macro over the defined labels');
});

test('rocAuc hand cases: perfect, inverted, ties count one half', () => {
  assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
  assert.equal(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]), 0);
  // every positive-negative pair tied: 1/2
  assert.equal(rocAuc([0, 1, 0, 1], [3, 3, 3, 3]), 0.5);
  // pairs (pos 0.5 vs neg 0.5) tie = 1/2, (pos 0.5 vs neg 0.1) win = 1: (1 + 0.5) / 2
  assert.equal(rocAuc([1, 0, 0], [0.5, 0.5, 0.1]), 0.75);
  // invariant to a monotone transform of the scores
  assert.equal(rocAuc([1, 0, 1, 0, 1], [0.3, 0.2, 0.9, 0.4, 0.1]), rocAuc([1, 0, 1, 0, 1], [3, 2, 9, 4, 1]));
});

test('rocAuc / macroRocAuc reject bad input clearly', () => {
  assert.throws(() => rocAuc([0, 1], [0.5]), /2 entries but yScore has 1/);
  assert.throws(() => rocAuc([0, 2], [0.5, 0.1]), /labels must be 0 or 1/);
  assert.throws(() => rocAuc([0, 1], [0.5, Number.NaN]), /not finite/);
  assert.throws(() => rocAuc([], []), /only one class/);
  assert.throws(() => macroRocAuc([[0], [0]], [[0.1], [0.2]]), /every label has only one class/);
  assert.throws(
    () =>
      macroRocAuc(
        [[0, 1], [1]],
        [
          [0.1, 0.2],
          [0.3, 0.4],
        ],
      ),
    /row 1/,
  );
});
