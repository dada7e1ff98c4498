import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bootstrapCi,
  incompleteBeta,
  normalCdf,
  studentTCdf,
  studentTCi,
  studentTQuantile,
} from '../../src/metrics/ci.js';
import { rocAuc } from '../../src/metrics/auc.js';
import { makeRng } from '../../src/rng.js';
import { assertClose } from '../helpers/reference.js';

test('studentTCdf equals the closed forms for df = 1 (Cauchy) and df = 2', () => {
  for (const t of [-30, -3, -1, -0.2, 0, 0.5, 1, 2.5, 10, 100]) {
    assertClose(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-14, `df 1, t ${t}`);
    assertClose(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-14, `df 2, t ${t}`);
  }
});

test('studentTQuantile: textbook table values and its own CDF', () => {
  // Two-sided 95% critical values from any t table.
  const table: [number, number][] = [
    [1, 12.706],
    [2, 4.303],
    [4, 2.776],
    [9, 2.262],
    [30, 2.042],
    [120, 1.98],
  ];
  for (const [df, t] of table) assertClose(studentTQuantile(0.975, df), t, 5e-4, `t(0.975, ${df})`);
  assertClose(studentTQuantile(0.995, 10), 3.169, 5e-4, 't(0.995, 10)');
  // df 1: tan(pi (p - 1/2)) exactly
  assertClose(studentTQuantile(0.975, 1), Math.tan(Math.PI * 0.475), 1e-10, 'cauchy quantile');
  // large df tends to the normal quantile 1.959964
  assertClose(studentTQuantile(0.975, 1e6), 1.959964, 1e-5, 'df 1e6');
  assertClose(studentTQuantile(0.975, Infinity), 1.959964, 1e-6, 'df inf');
  for (const df of [1.5, 3, 7, 25, 300]) {
    for (const p of [0.6, 0.9, 0.975, 0.999]) {
      assertClose(studentTCdf(studentTQuantile(p, df), df), p, 1e-12, `round trip df ${df} p ${p}`);
      assertClose(studentTQuantile(1 - p, df), -studentTQuantile(p, df), 1e-12, 'symmetry');
    }
  }
  assert.throws(() => studentTQuantile(1, 3), /p must be in \(0, 1\)/);
  assert.throws(() => studentTQuantile(0.5, 0), /df must be > 0/);
});

test('incompleteBeta and normalCdf hand values', () => {
  // I_x(1, 1) = x; I_x(a, 1) = x^a
  assertClose(incompleteBeta(0.3, 1, 1), 0.3, 1e-15, 'uniform');
  assertClose(incompleteBeta(0.3, 3, 1), 0.027, 1e-15, 'x^3');
  assertClose(normalCdf(0), 0.5, 1e-16, 'phi(0)');
  assertClose(normalCdf(1.959963984540054), 0.975, 1e-12, 'phi(1.96)');
  assertClose(normalCdf(-3) + normalCdf(3), 1, 1e-15, 'symmetry');
});

test('studentTCi: mean ± t * sd / sqrt(n) over seeds', () => {
  // values 1..5: mean 3, sd sqrt(2.5), df 4
  const ci = studentTCi([1, 2, 3, 4, 5]);
  assert.equal(ci.mean, 3);
  assert.equal(ci.df, 4);
  assertClose(ci.sd, Math.sqrt(2.5), 1e-15, 'sd');
  assertClose(
    ci.halfWidth,
    (studentTQuantile(0.975, 4) * Math.sqrt(2.5)) / Math.sqrt(5),
    1e-14,
    'half width',
  );
  assertClose(ci.high - ci.low, 2 * ci.halfWidth, 1e-14, 'symmetric');
  assertClose(ci.halfWidth, 1.963, 1e-3, 'table value 2.776 * 1.5811 / 2.2361');
  const c90 = studentTCi([1, 2, 3, 4, 5], { level: 0.9 });
  assert.ok(c90.halfWidth < ci.halfWidth);
  const one = studentTCi([0.42]);
  assert.equal(one.mean, 0.42);
  assert.ok(Number.isNaN(one.low) && Number.isNaN(one.high));
  assert.throws(() => studentTCi([]), /no values/);
  assert.throws(() => studentTCi([1, Number.NaN]), /not finite/);
});

test('bootstrapCi of a mean: seeded, brackets the estimate, width close to 2 * 1.96 * sd / sqrt(n)', () => {
  const data = Array.from({ length: 400 }, (_, i) => makeRng(100).fork(i).normal());
  const a = bootstrapCi(data, { rng: makeRng(1), iterations: 2000 });
  const b = bootstrapCi(data, { rng: makeRng(1), iterations: 2000 });
  assert.deepEqual(a, b);
  const c = bootstrapCi(data, { rng: makeRng(2), iterations: 2000 });
  assert.notDeepEqual(a, c);
  const mean = data.reduce((s, v) => s + v, 0) / data.length;
  const sd = Math.sqrt(data.reduce((s, v) => s + (v - mean) ** 2, 0) / (data.length - 1));
  assertClose(a.estimate, mean, 1e-15, 'estimate');
  assert.ok(a.low < mean && mean < a.high);
  const expected = (2 * 1.96 * sd) / Math.sqrt(data.length);
  assert.ok(Math.abs(a.high - a.low - expected) < 0.1 * expected, `width ${a.high - a.low} vs ${expected}`);
  // constant data: no spread
  const k = bootstrapCi([2, 2, 2], { rng: makeRng(3), iterations: 50 });
  assert.deepEqual([k.low, k.high, k.estimate], [2, 2, 2]);
});

test('bootstrapCi with a statistic over indices skips resamples where it is undefined', () => {
  const y = [0, 0, 0, 0, 0, 0, 0, 1, 1, 0];
  const s = [0.1, 0.2, 0.3, 0.2, 0.4, 0.1, 0.6, 0.9, 0.3, 0.5];
  const r = bootstrapCi(
    (idx) =>
      rocAuc(
        idx.map((i) => y[i]!),
        idx.map((i) => s[i]!),
      ),
    { n: y.length, rng: makeRng(4), iterations: 500 },
  );
  assertClose(r.estimate, rocAuc(y, s), 0, 'estimate on all items');
  // with 2 positives in 10 items, about 0.8^10 = 11% of resamples have none
  assert.ok(r.skipped > 20 && r.skipped < 100, `skipped ${r.skipped}`);
  assert.equal(r.iterations + r.skipped, 500);
  assert.ok(r.low <= r.estimate && r.estimate <= r.high && r.high <= 1);
  assert.throws(() => bootstrapCi((idx) => idx.length, { rng: makeRng(1) } as never), /opts.n/);
  assert.throws(() => bootstrapCi([1, 2], { rng: makeRng(1), alpha: 1 }), /alpha/);
});
