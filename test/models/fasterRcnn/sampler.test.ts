import { test } from 'node:test';
import assert from 'node:assert/strict';
import { samplePositiveNegative } from '../../../src/models/fasterRcnn/sampler.js';
import { makeRng } from '../../../src/rng.js';

test('samplePositiveNegative caps positives at num*fraction, fills with negatives, skips ignored', () => {
  // 10 positives, 100 negatives, 5 ignored; 16 at 0.25 -> 4 positives + 12 negatives
  const matches = [...Array(10).fill(0), ...Array(100).fill(-1), ...Array(5).fill(-2)];
  const s = samplePositiveNegative(matches, { num: 16, positiveFraction: 0.25 }, makeRng(1));
  assert.equal(s.pos.length, 4);
  assert.equal(s.neg.length, 12);
  assert.ok(s.pos.every((i) => i < 10) && s.neg.every((i) => i >= 10 && i < 110));
  assert.equal(new Set([...s.pos, ...s.neg]).size, 16);
  // few positives: all taken, negatives fill up to num
  const few = samplePositiveNegative([0, 1, -1, -1, -1, -1], { num: 4, positiveFraction: 0.5 }, makeRng(1));
  assert.deepEqual(few.pos, [0, 1]);
  assert.equal(few.neg.length, 2);
  // same seed, same sample
  assert.deepEqual(samplePositiveNegative(matches, { num: 16, positiveFraction: 0.25 }, makeRng(1)), s);
});
