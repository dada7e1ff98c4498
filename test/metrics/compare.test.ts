import assert from 'node:assert/strict';
import { test } from 'node:test';
import { differenceSentence, pairedDifference } from '../../src/metrics/compare.js';

const r = (name: string, pairs: [number, number][]) => ({ name, bySeed: new Map(pairs) });

test('pairedDifference pairs by seed and gives the Student-t interval of the differences', () => {
  // differences 0.1, 0.2, 0.3 on the shared seeds 1..3 (seed 4 only in a): mean 0.2, sd 0.1,
  // t(0.975, 2) = 4.302653, half-width 4.302653 * 0.1 / sqrt(3) = 0.248414.
  const d = pairedDifference(
    r('A', [
      [1, 0.5],
      [2, 0.7],
      [3, 0.9],
      [4, 9],
    ]),
    r('B', [
      [3, 0.6],
      [1, 0.4],
      [2, 0.5],
    ]),
  );
  assert.deepEqual(d.seeds, [1, 2, 3]);
  assert.ok(Math.abs(d.mean - 0.2) < 1e-12);
  assert.ok(Math.abs(d.low - (0.2 - 0.248414)) < 1e-5, `${d.low}`);
  assert.ok(Math.abs(d.high - (0.2 + 0.248414)) < 1e-5, `${d.high}`);
  assert.throws(() => pairedDifference(r('A', [[1, 0]]), r('B', [[2, 0]])), /share no seed/);
});

test('differenceSentence says whether the sign agrees with the paper and whether the seeds resolve it', () => {
  const unresolved = pairedDifference(
    r('BT', [
      [1, 0.5],
      [2, 0.7],
      [3, 0.9],
    ]),
    r('IN', [
      [1, 0.4],
      [2, 0.5],
      [3, 0.6],
    ]),
  );
  assert.equal(
    differenceSentence(unresolved, 0.029),
    'BT − IN: +0.200 (95 % CI −0.048 to +0.448, 3 seeds); paper +0.029: same sign, not resolved by these seeds',
  );
  const resolved = pairedDifference(
    r('BT', [
      [1, 0.1],
      [2, 0.1],
      [3, 0.1],
    ]),
    r('IN', [
      [1, 0.2],
      [2, 0.21],
      [3, 0.19],
    ]),
  );
  assert.equal(
    differenceSentence(resolved, 0.029),
    'BT − IN: −0.100 (95 % CI −0.125 to −0.075, 3 seeds); paper +0.029: opposite sign, IN is ahead beyond the seed-to-seed spread',
  );
  const one = pairedDifference(r('A', [[1, 0.3]]), r('B', [[1, 0.1]]));
  assert.equal(differenceSentence(one), 'A − B: +0.200 (1 seed): not resolved by these seeds');
  const tie = pairedDifference(
    r('A', [
      [1, 0],
      [2, 0],
    ]),
    r('B', [
      [1, 0],
      [2, 0],
    ]),
  );
  assert.match(differenceSentence(tie, 0.1), /paper \+0\.100: no difference, not resolved by these seeds$/);
});

test('detectionComparisons: Table 1 pairs at one size, paired by seed, with the paper difference at 224 px', async () => {
  const { detectionComparisons } = await import('../../src/plots/detection.js');
  const run = (init: 'none' | 'imagenet' | 'bt' | 'bt_imagenet', seed: number, testMap: number) => ({
    init,
    seed,
    inputSize: 96,
    testMap,
    testMapAll: 0,
    testMapLast: 0,
    bestEpoch: 1,
    epochs: [],
    valMap: 0,
    testPerClass: [],
    testBootstrap: { low: 0, high: 0, iterations: 0 },
    seconds: 0,
  });
  const runs = [
    run('imagenet', 1, 0.1),
    run('imagenet', 2, 0.2),
    run('bt_imagenet', 1, 0.15),
    run('bt_imagenet', 2, 0.2),
    run('imagenet', 1, 0.9),
  ].slice(0, 4);
  const lines = detectionComparisons(runs, 96, 224, 'demo');
  assert.equal(lines.length, 1, 'only the pair that ran');
  // differences 0.05 and 0 → mean 0.025; paper 0.2502 − 0.2210 = 0.0292
  assert.match(
    lines[0]!,
    /^Barlow Twins from ImageNet-proxy − ImageNet-proxy: \+0\.0250 \(95 % CI .* 2 seeds\); paper \+0\.0292: same sign, not resolved by these seeds$/,
  );
});
