import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmupCosine } from '../../src/train/schedule.js';

test('warm-up is linear from 0, then cosine from base to the final fraction', () => {
  const o = { base: 1, totalSteps: 110, warmupSteps: 10, finalFraction: 0.001 };
  assert.equal(warmupCosine(0, o), 0);
  assert.equal(warmupCosine(5, o), 0.5);
  assert.equal(warmupCosine(10, o), 1);
  // Half-way through the decay the cosine is at its mid-point: (1 + 0.001) / 2.
  assert.ok(Math.abs(warmupCosine(60, o) - 0.5005) < 1e-12);
  assert.ok(Math.abs(warmupCosine(110, o) - 0.001) < 1e-12);
  assert.ok(Math.abs(warmupCosine(500, o) - 0.001) < 1e-12);
});

test('monotone decay after warm-up; bad totals are errors', () => {
  let prev = Infinity;
  for (let s = 0; s <= 50; s++) {
    const v = warmupCosine(s, { base: 0.3, totalSteps: 50 });
    assert.ok(v <= prev + 1e-15);
    prev = v;
  }
  assert.throws(() => warmupCosine(0, { base: 1, totalSteps: 0 }));
});
