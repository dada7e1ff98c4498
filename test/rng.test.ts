import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRng, tfSeed } from '../src/rng.js';

test('same seed gives the same stream; different seeds differ', () => {
  const a = makeRng(42);
  const b = makeRng(42);
  const c = makeRng(43);
  const xs = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(
    Array.from({ length: 100 }, () => b.next()),
    xs,
  );
  assert.notDeepEqual(
    Array.from({ length: 100 }, () => c.next()),
    xs,
  );
});

test('seed 0 is a valid seed and differs from seed 1', () => {
  assert.notEqual(makeRng(0).next(), makeRng(1).next());
});

test('next() is uniform in [0,1): mean and variance of 20k draws', () => {
  const r = makeRng(7);
  const n = 20000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    s += x;
    s2 += x * x;
  }
  const mean = s / n;
  // Uniform: mean 1/2 (sd of the mean 0.29/sqrt(n) = 0.002), variance 1/12.
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(s2 / n - mean * mean - 1 / 12) < 0.005);
});

test('normal() has mean 0 and variance 1', () => {
  const r = makeRng(9);
  const xs = Array.from({ length: 20000 }, () => r.normal());
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(v - 1) < 0.05, `variance ${v}`);
});

test('int(n) covers 0..n-1 and rejects n <= 0', () => {
  const r = makeRng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(r.int(6));
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5]);
  assert.throws(() => r.int(0));
});

test('shuffle is a permutation and deterministic', () => {
  const a = makeRng(5).shuffle([...Array(50).keys()]);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    [...Array(50).keys()],
  );
  assert.deepEqual(makeRng(5).shuffle([...Array(50).keys()]), a);
});

test('fork gives independent, reproducible streams and does not advance the parent', () => {
  const p = makeRng(11);
  const f1 = p.fork('a').next();
  const f2 = p.fork('b').next();
  assert.notEqual(f1, f2);
  assert.equal(makeRng(11).fork('a').next(), f1);
  assert.equal(p.next(), makeRng(11).next());
});

test('tfSeed never returns 0 (tfjs treats 0 as unseeded)', () => {
  const r = makeRng(1);
  for (let i = 0; i < 10000; i++) {
    const s = tfSeed(r);
    assert.ok(Number.isInteger(s) && s >= 1 && s < 2 ** 31);
  }
});
