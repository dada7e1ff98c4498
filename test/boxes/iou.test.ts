import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxArea, iou, normalizeCorners, pairwiseIou } from '../../src/boxes/iou.js';
import { makeRng } from '../../src/rng.js';
import { assertClose, loadReference } from '../helpers/reference.js';

test('boxArea: width*height, pixel convention adds one, flipped boxes have no area', () => {
  assert.equal(boxArea([0, 0, 10, 5]), 50);
  // pixels 0..9 inclusive are 10 wide
  assert.equal(boxArea([0, 0, 9, 4], { pixel: true }), 50);
  assert.equal(boxArea([10, 0, 0, 5]), 0);
  assert.equal(boxArea([3, 3, 3, 9]), 0);
});

test('iou: hand-made cases', () => {
  assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  // half-shifted square: intersection 50, union 150
  assertClose(iou([0, 0, 10, 10], [5, 0, 15, 10]), 1 / 3, 1e-15, 'half shift');
  // touching edges share no area
  assert.equal(iou([0, 0, 10, 10], [10, 0, 20, 10]), 0);
  assert.equal(iou([0, 0, 10, 10], [50, 50, 60, 60]), 0);
  // zero-area box vs itself is 0, not NaN (torchvision would give 0/0)
  assert.equal(iou([5, 5, 5, 15], [5, 5, 5, 15]), 0);
  // contained 6x6 in 10x10: 36 / 100
  assertClose(iou([0, 0, 10, 10], [2, 2, 8, 8]), 0.36, 1e-15, 'contained');
  // pixel convention: [0,0,9,9] and [5,0,14,9] are 10x10 pixel boxes sharing 5 columns
  assertClose(iou([0, 0, 9, 9], [5, 0, 14, 9], { pixel: true }), 50 / 150, 1e-15, 'pixel');
});

test('iou: symmetric and within [0, 1] on random boxes', () => {
  const rng = makeRng(7);
  const rand = () => {
    const x = rng.uniform(0, 100),
      y = rng.uniform(0, 100);
    return [x, y, x + rng.uniform(0, 50), y + rng.uniform(0, 50)];
  };
  for (let k = 0; k < 500; k++) {
    const a = rand(),
      b = rand();
    const v = iou(a, b);
    assert.ok(v >= 0 && v <= 1, `iou ${v} out of range`);
    assert.equal(v, iou(b, a));
  }
});

test('normalizeCorners puts swapped corners in [x1, y1, x2, y2] order', () => {
  assert.deepEqual(normalizeCorners([10, 20, 0, 5]), [0, 5, 10, 20]);
});

test('pairwiseIou matches torchvision box_iou (float64 reference)', () => {
  const ref = loadReference('det_components');
  const cases = ref.cases.filter((c) => c.component === 'torchvision.ops.box_iou');
  assert.ok(cases.length >= 3);
  for (const c of cases) {
    const got = pairwiseIou(c.input.boxes1, c.input.boxes2);
    assert.equal(got.length, c.input.boxes1.length);
    c.expected.float64.forEach((row: (number | null)[], i: number) =>
      row.forEach((e, j) => {
        // torchvision's 0/0 (zero-area box vs itself) is NaN, recorded as null; we define it as 0.
        assertClose(got[i]![j]!, e === null ? 0 : e, 1e-12, `${c.name}[${i}][${j}]`);
      }),
    );
  }
});
