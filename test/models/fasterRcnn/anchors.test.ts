import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellAnchors, gridAnchors, MMDET_ANCHORS } from '../../../src/models/fasterRcnn/anchors.js';
import { loadReference } from '../../helpers/reference.js';

function rows(a: Float32Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += 4) out.push(Array.from(a.subarray(i, i + 4)));
  return out;
}

test('torchvision convention reproduces AnchorGenerator on every reference image size', () => {
  const cases = loadReference('det_components').cases.filter(
    (c) => c.component === 'torchvision.AnchorGenerator',
  );
  assert.ok(cases.length > 0);
  for (const c of cases) {
    const i = c.input;
    const opts = {
      convention: 'torchvision' as const,
      strides: [4, 8, 16, 32, 64],
      scales: [1],
      ratios: i.aspect_ratios[0],
      sizes: i.sizes,
    };
    const g = gridAnchors(i.feature_map_sizes_hw, opts, i.image_size_hw);
    assert.deepEqual(g.stridesHw, c.expected.strides_hw, `${c.name} strides`);
    i.sizes.forEach((_: unknown, l: number) =>
      assert.deepEqual(cellAnchors(l, opts), c.expected.cell_anchors[l], `${c.name} cell anchors P${l + 2}`),
    );
    assert.deepEqual(
      g.anchors.map((a) => a.length / 4),
      c.expected.num_anchors_per_level,
      c.name,
    );
    // anchors are integers in this convention, so equality is exact
    g.anchors.forEach((a, l) =>
      assert.deepEqual(rows(a), c.expected.anchors_per_level[l], `${c.name} anchors P${l + 2}`),
    );
  }
});

test('mmdet convention: unrounded side stride*8/sqrt(r), nominal strides, same order', () => {
  // P2 (stride 4), ratio 0.5: w = 32 / sqrt(0.5) = 45.254834, h = 32 * sqrt(0.5) = 22.627417;
  // the note in det_components.json quotes [-22.627417, -11.313708, 22.627417, 11.313708].
  const p2 = cellAnchors(0, MMDET_ANCHORS);
  assert.ok(Math.abs(p2[0]![0]! + 22.627417) < 1e-5 && Math.abs(p2[0]![1]! + 11.313708) < 1e-5);
  assert.deepEqual(p2[1], [-16, -16, 16, 16]); // ratio 1: side 32
  // Same widths as torchvision before rounding, so rounding mmdet's gives torchvision's.
  const tv = cellAnchors(0, { ...MMDET_ANCHORS, convention: 'torchvision' });
  assert.deepEqual(
    p2.map((b) => b.map((v) => Math.round(v))),
    tv,
  );
  // 64x96 image: P6 is 1x2 and mmdet keeps stride 64 on both axes (torchvision infers 64 x 48)
  const g = gridAnchors(
    [
      [16, 24],
      [8, 12],
      [4, 6],
      [2, 3],
      [1, 2],
    ],
    MMDET_ANCHORS,
    [64, 96],
  );
  assert.deepEqual(g.stridesHw[4], [64, 64]);
  assert.equal(g.perCell, 3);
  const p6 = rows(g.anchors[4]!);
  assert.equal(p6[3]![0]! - p6[0]![0]!, 64); // second cell shifted by one stride in x
});
