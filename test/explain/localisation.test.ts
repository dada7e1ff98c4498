import assert from 'node:assert/strict';
import { test } from 'node:test';
import { studentTCi } from '../../src/metrics/ci.js';
import {
  camMassInBoxes,
  compareLocalisation,
  localisationScore,
  pointingChance,
  pointingGameHit,
  type LocalisationScore,
} from '../../src/explain/localisation.js';
import type { CamMap } from '../../src/explain/ablationCam.js';
import { makeRng } from '../../src/rng.js';

const map = (values: number[], width: number): CamMap => ({
  data: Float32Array.from(values),
  width,
  height: values.length / width,
});
const uniform4 = map(new Array(16).fill(1), 4);

test("a uniform map puts exactly the boxes' area fraction inside them (the chance level)", () => {
  const m = camMassInBoxes(uniform4, [[0, 0, 2, 2]]);
  assert.deepEqual(m, { mass: 0.25, area: 0.25, total: 16 });
  // Overlapping boxes count their union once: 2×2 + 2×2 − 1×1 pixels.
  const u = camMassInBoxes(uniform4, [
    [0, 0, 2, 2],
    [1, 1, 3, 3],
  ]);
  assert.equal(u.area, 7 / 16);
  assert.equal(u.mass, 7 / 16);
});

test('pixels count by their centre; boxes past the edge are clipped; an empty map has mass 0', () => {
  // Pixel 0's centre is 0.5 < 0.6, so only column 1 of rows 0–1 is inside.
  assert.equal(camMassInBoxes(uniform4, [[0.6, 0, 2, 2]]).area, 2 / 16);
  assert.equal(camMassInBoxes(uniform4, [[2, 2, 40, 40]]).area, 4 / 16);
  assert.equal(camMassInBoxes(uniform4, [[1.6, 0, 1.9, 4]]).area, 0); // no centre inside
  assert.deepEqual(camMassInBoxes(map(new Array(16).fill(0), 4), [[0, 0, 2, 2]]), {
    mass: 0,
    area: 0.25,
    total: 0,
  });
  // All the mass on pixel (1, 1), which is in the box.
  const peak = map([0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 4);
  assert.equal(camMassInBoxes(peak, [[0, 0, 2, 2]]).mass, 1);
});

test('pointing game: the peak inside a box or within the tolerance', () => {
  const peak = map([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 4); // peak at pixel (3, 3), centre (3.5, 3.5)
  assert.equal(pointingGameHit(peak, [[0, 0, 2, 2]]), false);
  // Distance from (3.5, 3.5) to the corner (2, 2) is 1.5·√2 ≈ 2.12.
  assert.equal(pointingGameHit(peak, [[0, 0, 2, 2]], 2), false);
  assert.equal(pointingGameHit(peak, [[0, 0, 2, 2]], 2.2), true);
  assert.equal(
    pointingGameHit(peak, [
      [0, 0, 2, 2],
      [3, 3, 4, 4],
    ]),
    true,
  );
  assert.equal(pointingGameHit(map(new Array(16).fill(0), 4), [[0, 0, 4, 4]]), false); // no peak, no hit
  assert.deepEqual(localisationScore(peak, [[3, 3, 4, 4]]), { mass: 1, area: 1 / 16, total: 1, hit: true });
});

test('compareLocalisation: means, paired differences with t and bootstrap intervals, chance level', () => {
  const a: LocalisationScore[] = [0.6, 0.7, 0.8, 0.9].map((mass, i) => ({
    mass,
    area: 0.1,
    total: 1,
    hit: i > 0,
  }));
  const b: LocalisationScore[] = [0.5, 0.5, 0.6, 0.7].map((mass, i) => ({
    mass,
    area: 0.1,
    total: 1,
    hit: i > 1,
  }));
  const c = compareLocalisation(a, b, makeRng(1));
  assert.equal(c.n, 4);
  assert.ok(Math.abs(c.chance - 0.1) < 1e-12);
  assert.ok(Math.abs(c.mass.a.mean - 0.75) < 1e-12);
  assert.ok(Math.abs(c.mass.b.mean - 0.575) < 1e-12);
  // Differences 0.1, 0.2, 0.2, 0.2: the paired t interval is the one-sample interval of those.
  assert.ok(Math.abs(c.mass.diff.mean - 0.175) < 1e-12);
  const t = studentTCi([0.1, 0.2, 0.2, 0.2]);
  assert.ok(Math.abs(c.mass.diff.t.low - t.low) < 1e-12 && Math.abs(c.mass.diff.t.high - t.high) < 1e-12);
  assert.ok(c.mass.diff.bootstrap.low >= 0.1 - 1e-12 && c.mass.diff.bootstrap.high <= 0.2 + 1e-12);
  assert.equal(c.hit.a.mean, 0.75);
  assert.equal(c.hit.b.mean, 0.5);
  // Seeded: the same rng seed gives the same intervals.
  assert.deepEqual(compareLocalisation(a, b, makeRng(1)), c);
  assert.throws(() => compareLocalisation(a, b.slice(1), makeRng(1)), /4 images against 3/);
  assert.throws(() => compareLocalisation([], [], makeRng(1)), /no images/);
});

test('pointingChance: the share of pixel centres within the tolerance of the box', () => {
  // 4×4 image, box [0, 0, 2, 2]: 4 centres inside; with tolerance 1 the centres at distance 0.5 join
  // (x = 2 for y < 2, y = 2 for x < 2: 4 more) and (2.5, 2.5) at 0.5·√2 ≈ 0.71: 9 of 16.
  assert.equal(pointingChance(4, 4, [0, 0, 2, 2]), 4 / 16);
  assert.equal(pointingChance(4, 4, [0, 0, 2, 2], 1), 9 / 16);
  assert.equal(pointingChance(4, 4, [0, 0, 4, 4]), 1);
});
