import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchedNms, ensembleNms, nms, softNms } from '../../src/boxes/nms.js';
import { makeRng } from '../../src/rng.js';
import { assertAllClose, assertClose, loadReference } from '../helpers/reference.js';

test('nms / batchedNms reproduce torchvision 0.14.1 (reference/nms.json)', () => {
  const ref = loadReference('nms');
  assert.ok(ref.cases.length > 0);
  for (const c of ref.cases) {
    const { boxes, scores, iou_threshold: thr, idxs } = c.input;
    const keep = c.function === 'nms' ? nms(boxes, scores, thr) : batchedNms(boxes, scores, idxs, thr);
    assert.deepEqual(keep, c.expected.keep, c.name);
  }
});

test('batchedNms with a limit equals the full result cut to that length (torchvision cases and random RPN-like sets with ties)', () => {
  const ref = loadReference('nms');
  for (const c of ref.cases.filter((c: { function: string }) => c.function !== 'nms')) {
    const { boxes, scores, iou_threshold: thr, idxs } = c.input;
    for (const limit of [0, 1, 2, 5, 1000])
      assert.deepEqual(
        batchedNms(boxes, scores, idxs, thr, limit),
        c.expected.keep.slice(0, limit),
        `${c.name} limit ${limit}`,
      );
  }
  let seed = 7;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let trial = 0; trial < 40; trial++) {
    const n = 20 + Math.floor(rand() * 400);
    const boxes = Array.from({ length: n }, () => {
      const x = rand() * 90;
      const y = rand() * 90;
      return [x, y, x + 2 + rand() * 30, y + 2 + rand() * 30];
    });
    // coarse scores make ties, which must break by input order in both
    const scores = boxes.map(() => Math.round(rand() * 20) / 20);
    const levels = boxes.map(() => Math.floor(rand() * 5));
    const thr = [0.3, 0.5, 0.7][trial % 3]!;
    const full = batchedNms(boxes, scores, levels, thr);
    for (const limit of [1, 10, 50, 250, n + 1])
      assert.deepEqual(batchedNms(boxes, scores, levels, thr, limit), full.slice(0, limit));
  }
});

test('nms: three clusters keep one box each, best first', () => {
  // Within each cluster the boxes are shifted by 0.1 of their height (IoU ~0.82 > 0.5); the
  // clusters are far apart, so the best of each survives: 3 (0.95), 0 (0.9), 5 (0.3).
  const boxes = [
    [0, 0, 1, 1],
    [0, 0.1, 1, 1.1],
    [0, -0.1, 1, 0.9],
    [0, 10, 1, 11],
    [0, 10.1, 1, 11.1],
    [0, 100, 1, 101],
  ];
  const scores = [0.9, 0.75, 0.6, 0.95, 0.5, 0.3];
  assert.deepEqual(nms(boxes, scores, 0.5), [3, 0, 5]);
  // with a threshold above every IoU nothing is suppressed
  assert.deepEqual(nms(boxes, scores, 0.9), [3, 0, 1, 2, 4, 5]);
});

test('nms: empty input, identical boxes, flipped corners', () => {
  assert.deepEqual(nms([], [], 0.5), []);
  assert.deepEqual(batchedNms([], [], [], 0.5), []);
  // identical boxes: IoU 1 > any threshold < 1, so only the best survives
  assert.deepEqual(
    nms(
      [
        [1, 1, 5, 5],
        [1, 1, 5, 5],
        [1, 1, 5, 5],
      ],
      [0.2, 0.9, 0.5],
      0.99,
    ),
    [1],
  );
  // IoU 1 is not > 1: at threshold 1 nothing is suppressed
  assert.deepEqual(
    nms(
      [
        [1, 1, 5, 5],
        [1, 1, 5, 5],
      ],
      [0.2, 0.9],
      1,
    ),
    [1, 0],
  );
  // swapped corners describe the same rectangle as the ordered box
  assert.deepEqual(
    nms(
      [
        [5, 5, 1, 1],
        [1, 1, 5, 5],
      ],
      [0.9, 0.8],
      0.5,
    ),
    [0],
  );
});

test('nms: bad thresholds and mismatched lengths throw clearly', () => {
  for (const thr of [Number.NaN, -0.1, 1.5]) {
    assert.throws(() => nms([[0, 0, 1, 1]], [1], thr), /iouThr must be a number in \[0, 1\]/);
  }
  assert.throws(() => nms([[0, 0, 1, 1]], [1, 2], 0.5), /1 boxes but 2 scores/);
  assert.throws(() => batchedNms([[0, 0, 1, 1]], [1], [], 0.5), /labels/);
  assert.throws(() => nms([[0, 0, 1]], [1], 0.5), /4 coordinates/);
  assert.throws(() => nms([[0, 0, 1, 1]], [Number.NaN], 0.5), /scores\[0\]/);
});

test('ensembleNms reproduces ensemble_boxes 1.0.9 nms (reference/wbf.json nms_cases)', () => {
  const ref = loadReference('wbf');
  const cases = ref.nms_cases.filter((c: any) => c.function === 'nms');
  assert.ok(cases.length > 0);
  for (const c of cases) {
    const { boxes_list, scores_list, labels_list, weights, iou_thr } = c.input;
    const got = ensembleNms(boxes_list, scores_list, labels_list, {
      iouThr: iou_thr,
      weights: weights ?? undefined,
    });
    if (c.expected_error) continue;
    assert.deepEqual(got.labels, c.expected.labels, `${c.name} labels`);
    assertAllClose(got.boxes, c.expected.boxes, 1e-12, `${c.name} boxes`);
    assertAllClose(got.scores, c.expected.scores, 1e-12, `${c.name} scores`);
  }
});

test('ensembleNms agrees with torchvision-style nms for one label, distinct scores, boxes inside [0, 1]', () => {
  const rng = makeRng(11);
  for (let trial = 0; trial < 50; trial++) {
    const n = 1 + rng.int(20);
    const boxes: number[][] = [],
      scores: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = rng.uniform(0, 0.7),
        y = rng.uniform(0, 0.7);
      boxes.push([x, y, x + rng.uniform(0.01, 0.3), y + rng.uniform(0.01, 0.3)]);
      scores.push(rng.next());
    }
    const keep = nms(boxes, scores, 0.4);
    const e = ensembleNms([boxes], [scores], [new Array(n).fill(0)], { iouThr: 0.4 });
    assert.deepEqual(
      e.scores,
      keep.map((i) => scores[i]),
    );
  }
});

test('ensembleNms on all-empty input returns nothing (the peer raises)', () => {
  const got = ensembleNms([[], []], [[], []], [[], []]);
  assert.deepEqual(got, { boxes: [], scores: [], labels: [] });
});

test('softNms: decays instead of removing, re-ranks by decayed score, returns original scores', () => {
  // A and B overlap with IoU exactly 0.5 (B is the top half of A); C is far away (IoU 0).
  const A = [0, 0, 0.5, 0.5],
    B = [0, 0, 0.5, 0.25],
    C = [0.7, 0.7, 0.9, 0.9];
  const inp: [number[][][], number[][], number[][]] = [[[A, B, C]], [[0.9, 0.8, 0.5]], [[0, 0, 0]]];
  // gaussian: B decays by exp(-0.5^2 / 0.5) = exp(-0.5) to 0.485 < 0.5, so C is selected before B
  const g = softNms(...inp, { method: 'gaussian', sigma: 0.5 });
  assert.deepEqual(g.boxes, [A, C, B]);
  assert.deepEqual(g.scores, [0.9, 0.5, 0.8]);
  assertAllClose(g.decayedScores, [0.9, 0.5, 0.8 * Math.exp(-0.5)], 1e-15, 'gaussian decayed');
  // linear with iouThr 0.3: 0.5 > 0.3 so B is multiplied by 1 - 0.5
  const l = softNms(...inp, { method: 'linear', iouThr: 0.3 });
  assertAllClose(l.decayedScores, [0.9, 0.5, 0.4], 1e-15, 'linear decayed');
  // ...and dropped when the keep threshold is above its decayed score
  const t = softNms(...inp, { method: 'linear', iouThr: 0.3, thresh: 0.45 });
  assert.deepEqual(t.scores, [0.9, 0.5]);
  // linear with iouThr 0.6: 0.5 is not above it, no decay, plain score order
  const u = softNms(...inp, { method: 'linear', iouThr: 0.6 });
  assert.deepEqual(u.decayedScores, [0.9, 0.8, 0.5]);
});

test('softNms: labels are independent and output is grouped by ascending label; weights scale scores', () => {
  const box = [0.1, 0.1, 0.4, 0.4];
  const got = softNms([[box], [box]], [[0.6], [0.9]], [[3], [1]], { weights: [1, 3] });
  assert.deepEqual(got.labels, [1, 3]);
  // weighted score = score * w / sum(w)
  assertClose(got.scores[0]!, (0.9 * 3) / 4, 1e-15, 'weighted label 1');
  assertClose(got.scores[1]!, (0.6 * 1) / 4, 1e-15, 'weighted label 3');
  assert.throws(() => softNms([[box]], [[1]], [[0]], { sigma: 0 }), /sigma/);
  assert.throws(() => softNms([[box]], [[1]], [[0]], { weights: [1, 2] }), /weights/);
});
