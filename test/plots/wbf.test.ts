import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fusedCountSweepFigure, imageWithBoxesFigure, instanceCountsFigure } from '../../src/plots/wbf.js';

test('Fig. 2 builder: classes sorted by the count before fusion, both series aligned', () => {
  const before = [5, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const after = [2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const f = instanceCountsFigure(before, after);
  const [b, a] = f.data as { x: string[]; y: number[] }[];
  assert.deepEqual(b!.x.slice(0, 3), ['Cardiomegaly', 'Aortic enlargement', 'Pulmonary fibrosis']);
  assert.deepEqual(b!.y.slice(0, 3), [9, 5, 1]);
  assert.deepEqual(a!.y.slice(0, 3), [3, 2, 1]);
  assert.equal(b!.x.length, 14);
});

test('image-with-boxes: one shape per box, one legend entry per label, y axis pointing down', () => {
  const f = imageWithBoxesFigure(
    new Float32Array(6),
    3,
    2,
    [
      { box: [0, 0, 1, 1], label: 'R1', color: 'red' },
      { box: [0, 0, 2, 1], label: 'R1', color: 'red' },
      { box: [0, 0, 2, 2], label: 'fused', color: 'blue' },
    ],
    { title: 't' },
  );
  assert.equal((f.layout.shapes ?? []).length, 3);
  assert.equal(f.data.length, 3); // heatmap + 2 legend entries
  const yr = (f.layout.yaxis as { range: number[] }).range;
  assert.ok(yr[0]! > yr[1]!);
});

test('sweep figure spans the thresholds given', () => {
  const f = fusedCountSweepFigure(
    [
      { iouThr: 0.3, fused: 10 },
      { iouThr: 0.7, fused: 14 },
    ],
    20,
  );
  assert.deepEqual((f.data[1] as { x: number[] }).x, [0.3, 0.7]);
});
