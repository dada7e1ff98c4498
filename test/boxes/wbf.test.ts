import { test } from 'node:test';
import assert from 'node:assert/strict';
import { weightedBoxesFusion, type ConfType } from '../../src/boxes/wbf.js';
import { makeRng } from '../../src/rng.js';
import { assertAllClose, assertClose, loadReference } from '../helpers/reference.js';

const CONF_TYPES: ConfType[] = ['avg', 'max', 'box_and_model_avg', 'absent_model_aware_avg'];
// wbf.json notes: the peer accumulates fused boxes in float32, "compare with abs tol ~1e-6".
const TOL = 1e-6;

type Out = { boxes: number[][]; scores: number[]; labels: number[] };
const rows = (o: Out) => o.scores.map((s, i) => [s, o.labels[i]!, ...o.boxes[i]!]);
const canonical = (o: Out) => rows(o).sort((a, b) => a.reduce((acc, _, k) => acc || a[k]! - b[k]!, 0));

test('weightedBoxesFusion reproduces ensemble_boxes 1.0.9 on every reference case (all four confTypes)', () => {
  const ref = loadReference('wbf');
  const seen = new Set<string>();
  for (const c of ref.cases) {
    const i = c.input;
    seen.add(i.conf_type);
    const got = weightedBoxesFusion(i.boxes_list, i.scores_list, i.labels_list, {
      weights: i.weights ?? undefined,
      iouThr: i.iou_thr,
      skipBoxThr: i.skip_box_thr,
      confType: i.conf_type,
      allowsOverflow: i.allows_overflow,
    });
    const name = `${c.name} (${i.conf_type})`;
    if (c.output_score_ties) {
      // order among equal scores is implementation-defined (notes): compare as multisets
      assertAllClose(canonical(got), canonical(c.expected), TOL, name);
    } else {
      assert.deepEqual(got.labels, c.expected.labels, `${name} labels`);
      assertAllClose(got.boxes, c.expected.boxes, TOL, `${name} boxes`);
      assertAllClose(got.scores, c.expected.scores, TOL, `${name} scores`);
    }
  }
  assert.deepEqual([...seen].sort(), [...CONF_TYPES].sort());
});

test('WBF hand case: two overlapping boxes fuse to their score-weighted mean', () => {
  // IoU = 0.16 / 0.20 = 0.8 > 0.55. Fused y2 = (0.8 * 0.5 + 0.4 * 0.6) / 1.2; avg score = mean(0.8, 0.4)
  // times min(2 models, 2 boxes) / 2 models = 0.6.
  const got = weightedBoxesFusion(
    [[[0.1, 0.1, 0.5, 0.5]], [[0.1, 0.1, 0.5, 0.6]]],
    [[0.8], [0.4]],
    [[2], [2]],
  );
  assert.deepEqual(got.labels, [2]);
  assertAllClose(got.boxes, [[0.1, 0.1, 0.5, (0.8 * 0.5 + 0.4 * 0.6) / 1.2]], TOL, 'box');
  assertClose(got.scores[0]!, 0.6, TOL, 'score');
  // 'max' keeps the best member's score; absent-model-aware with a third silent model divides by 3 weights
  assertClose(
    weightedBoxesFusion([[[0.1, 0.1, 0.5, 0.5]], [[0.1, 0.1, 0.5, 0.6]]], [[0.8], [0.4]], [[2], [2]], {
      confType: 'max',
    }).scores[0]!,
    0.8,
    TOL,
    'max',
  );
  const absent = weightedBoxesFusion(
    [[[0.1, 0.1, 0.5, 0.5]], [[0.1, 0.1, 0.5, 0.6]], []],
    [[0.8], [0.4], []],
    [[2], [2], []],
    { confType: 'absent_model_aware_avg' },
  );
  assertClose(absent.scores[0]!, (0.6 * 2) / 3, TOL, 'absent_model_aware_avg');
});

test('WBF: IoU exactly at the threshold does NOT join (strict >)', () => {
  // [0,0,.5,.5] vs [0,0,.5,1]: IoU = 0.25 / 0.5 = 0.5 exactly
  const got = weightedBoxesFusion([[[0, 0, 0.5, 0.5]], [[0, 0, 0.5, 1]]], [[0.9], [0.8]], [[0], [0]], {
    iouThr: 0.5,
  });
  assert.equal(got.boxes.length, 2);
  const joined = weightedBoxesFusion([[[0, 0, 0.5, 0.5]], [[0, 0, 0.5, 1]]], [[0.9], [0.8]], [[0], [0]], {
    iouThr: 0.4999,
  });
  assert.equal(joined.boxes.length, 1);
});

test('WBF property: one box fuses to itself, for every confType', () => {
  const rng = makeRng(3);
  for (const confType of CONF_TYPES) {
    for (let k = 0; k < 50; k++) {
      const x = rng.uniform(0, 0.8),
        y = rng.uniform(0, 0.8);
      const box = [x, y, x + rng.uniform(0.01, 0.2), y + rng.uniform(0.01, 0.2)];
      const score = rng.uniform(0.01, 1),
        label = rng.int(14);
      const got = weightedBoxesFusion([[box]], [[score]], [[label]], { confType });
      assert.deepEqual(got, { boxes: [box], scores: [score], labels: [label] });
    }
  }
});

test('WBF property: identical boxes from every model fuse to that box', () => {
  const box = [0.2, 0.3, 0.6, 0.7];
  const got = weightedBoxesFusion([[box], [box], [box]], [[0.7], [0.7], [0.7]], [[5], [5], [5]]);
  assert.equal(got.boxes.length, 1);
  assertAllClose(got.boxes[0], box, TOL, 'box');
  assertClose(got.scores[0]!, 0.7, TOL, 'score');
});

test('WBF properties on random ensembles: labels only from the input, scores descending, boxes inside [0, 1]', () => {
  const rng = makeRng(5);
  for (let trial = 0; trial < 200; trial++) {
    const models = 1 + rng.int(4);
    const boxesList: number[][][] = [],
      scoresList: number[][] = [],
      labelsList: number[][] = [];
    const given = new Set<number>();
    for (let m = 0; m < models; m++) {
      const n = rng.int(8);
      boxesList.push([]);
      scoresList.push([]);
      labelsList.push([]);
      for (let j = 0; j < n; j++) {
        const x = rng.uniform(0, 0.6),
          y = rng.uniform(0, 0.6);
        boxesList[m]!.push([x, y, x + rng.uniform(0.05, 0.4), y + rng.uniform(0.05, 0.4)]);
        scoresList[m]!.push(rng.next());
        const l = 3 * rng.int(4); // sparse label ids
        labelsList[m]!.push(l);
        given.add(l);
      }
    }
    const confType = CONF_TYPES[rng.int(4)]!;
    const got = weightedBoxesFusion(boxesList, scoresList, labelsList, {
      confType,
      iouThr: rng.uniform(0.2, 0.8),
    });
    for (const l of got.labels) assert.ok(given.has(l), `label ${l} was never given`);
    for (let i = 1; i < got.scores.length; i++)
      assert.ok(got.scores[i - 1]! >= got.scores[i]!, 'scores not descending');
    for (const b of got.boxes) for (const v of b) assert.ok(v >= 0 && v <= 1);
    const total = boxesList.reduce((s, b) => s + b.length, 0);
    assert.ok(got.boxes.length <= total);
  }
});

test('WBF repairs swapped and out-of-range corners with warnings and drops zero-area boxes', () => {
  const warnings: string[] = [];
  const got = weightedBoxesFusion(
    [
      [
        [0.5, 0.6, 0.1, 0.2],
        [-0.2, 0.1, 0.3, 1.4],
        [0.3, 0.3, 0.3, 0.9],
      ],
    ],
    [[0.9, 0.8, 0.7]],
    [[0, 1, 0]],
    { onWarning: (m) => warnings.push(m) },
  );
  assert.deepEqual(got.boxes, [
    [0.1, 0.2, 0.5, 0.6],
    [0, 0.1, 0.3, 1],
  ]);
  assert.deepEqual(got.labels, [0, 1]);
  assert.ok(warnings.some((w) => /model 0 box 0: x2 < x1, swapped/.test(w)));
  assert.ok(warnings.some((w) => /model 0 box 0: y2 < y1, swapped/.test(w)));
  assert.ok(warnings.some((w) => /model 0 box 1: x1 < 0/.test(w)));
  assert.ok(warnings.some((w) => /model 0 box 1: y2 > 1/.test(w)));
  assert.ok(warnings.some((w) => /model 0 box 2: zero-area box skipped/.test(w)));
  assert.equal(warnings.length, 5);
});

test('WBF: empty input gives empty output; skipBoxThr drops low scores', () => {
  assert.deepEqual(weightedBoxesFusion([], [], []), { boxes: [], scores: [], labels: [] });
  assert.deepEqual(weightedBoxesFusion([[], []], [[], []], [[], []]), { boxes: [], scores: [], labels: [] });
  const got = weightedBoxesFusion(
    [
      [
        [0.1, 0.1, 0.2, 0.2],
        [0.5, 0.5, 0.7, 0.7],
      ],
    ],
    [[0.05, 0.5]],
    [[0, 0]],
    { skipBoxThr: 0.1 },
  );
  assert.deepEqual(got.scores, [0.5]);
});

test('WBF: bad options throw clearly', () => {
  const b = [[[0.1, 0.1, 0.2, 0.2]]],
    s = [[1]],
    l = [[0]];
  assert.throws(() => weightedBoxesFusion(b, s, l, { iouThr: 1.2 }), /iouThr must be a number in \[0, 1\]/);
  assert.throws(
    () => weightedBoxesFusion(b, s, l, { confType: 'mean' as ConfType }),
    /unknown confType 'mean'/,
  );
  assert.throws(() => weightedBoxesFusion(b, s, l, { weights: [1, 1] }), /2 weights for 1 models/);
  assert.throws(() => weightedBoxesFusion(b, [[1, 2]], l), /model 0 has 1 boxes, 2 scores/);
  assert.throws(() => weightedBoxesFusion(b, s, l, { weights: [0] }), /weights must be finite and > 0/);
  assert.throws(() => weightedBoxesFusion([[[0.1, Number.NaN, 0.2, 0.2]]], s, l), /not 4 finite numbers/);
});
