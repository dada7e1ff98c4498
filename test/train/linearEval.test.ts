import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NIH_LABELS } from '../../src/data/labels.js';
import type { NihDataset, NihRecord } from '../../src/data/nih.js';
import { IssueLog } from '../../src/data/issues.js';
import { featureSet, linearEvalSplit, nihLabelMatrix, trainingSubsets } from '../../src/train/linearEval.js';
import { makeRng } from '../../src/rng.js';

function fakeNih(n: number): NihDataset {
  const rng = makeRng(4);
  const records: NihRecord[] = Array.from({ length: n }, (_, i) => {
    const labels = rng.next() < 0.5 ? ['No Finding'] : [NIH_LABELS[rng.int(14)]!];
    return { imageIndex: `${String(i).padStart(5, '0')}.png`, labels: labels as NihRecord['labels'], followUp: 0, patientId: String(i), age: 40, gender: 'F', view: 'PA', originalWidth: 1, originalHeight: 1, pixelSpacingX: 1, pixelSpacingY: 1 };
  });
  const ids = records.map((r) => r.imageIndex);
  return { dir: '/x', records, trainVal: new Set(ids.slice(0, 20)), test: new Set(ids.slice(20)), imagePaths: new Map(ids.map((id) => [id, `/x/${id}`])), boxes: [], log: new IssueLog() };
}

test('label matrix: 15 columns in NIH_LABELS order', () => {
  const m = nihLabelMatrix(fakeNih(30).records.slice(0, 3));
  assert.equal(m[0]!.length, 15);
  for (const row of m) assert.equal(row.reduce((s, v) => s + v, 0), 1);
});

test('the evaluation split uses only the test list and partitions it into train / val / test', () => {
  const nih = fakeNih(220);
  const s = linearEvalSplit(nih, { trainShare: 0.8, valShare: 0.15 }, makeRng(1));
  assert.equal(s.ids.length, 200);
  assert.ok(s.ids.every((id) => nih.test.has(id)));
  const all = [...s.train, ...s.val, ...s.test].sort((a, b) => a - b);
  assert.deepEqual(all, [...Array(200).keys()]);
  assert.equal(s.test.length, 40);
  assert.equal(s.val.length, 24); // 15 % of the 160-image training part
  assert.deepEqual(linearEvalSplit(nih, { trainShare: 0.8, valShare: 0.15 }, makeRng(1)), s);
});

test('training subsets are nested (1% ⊂ 10% ⊂ 100%) and never below minImages', () => {
  const s = linearEvalSplit(fakeNih(420), { trainShare: 0.8, valShare: 0.1 }, makeRng(2));
  const subs = trainingSubsets(s, [0.01, 0.1, 1], 12, makeRng(3));
  assert.deepEqual(subs.map((x) => x.fraction), [0.01, 0.1, 1]);
  assert.equal(subs[2]!.indices.length, s.train.length);
  assert.equal(subs[0]!.indices.length, 12); // 1% of 288 is 3, raised to 12
  assert.equal(subs[1]!.indices.length, Math.round(0.1 * s.train.length));
  const inTen = new Set(subs[1]!.indices);
  assert.ok(subs[0]!.indices.every((i) => inTen.has(i)));
  const inAll = new Set(s.train);
  assert.ok(subs[1]!.indices.every((i) => inAll.has(i)));
});

test('featureSet gathers rows of features and labels', () => {
  const f = new Float32Array([1, 2, 3, 4, 5, 6]);
  const fs = featureSet(f, 2, [[1, 0], [0, 1], [1, 1]], [2, 0]);
  assert.deepEqual([...fs.x], [5, 6, 1, 2]);
  assert.deepEqual([...fs.y], [1, 1, 1, 0]);
  assert.equal(fs.n, 2);
});
