import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NIH_LABELS } from '../../src/data/labels.js';
import type { NihDataset, NihRecord } from '../../src/data/nih.js';
import { IssueLog } from '../../src/data/issues.js';
import {
  featureSet,
  linearEvalSplit,
  nihLabelMatrix,
  seedSubsets,
  subsetFingerprint,
  trainingSubsets,
} from '../../src/train/linearEval.js';
import { makeRng } from '../../src/rng.js';

function fakeNih(n: number): NihDataset {
  const rng = makeRng(4);
  const records: NihRecord[] = Array.from({ length: n }, (_, i) => {
    const labels = rng.next() < 0.5 ? ['No Finding'] : [NIH_LABELS[rng.int(14)]!];
    return {
      imageIndex: `${String(i).padStart(5, '0')}.png`,
      labels: labels as NihRecord['labels'],
      followUp: 0,
      patientId: String(i),
      age: 40,
      gender: 'F',
      view: 'PA',
      originalWidth: 1,
      originalHeight: 1,
      pixelSpacingX: 1,
      pixelSpacingY: 1,
    };
  });
  const ids = records.map((r) => r.imageIndex);
  return {
    dir: '/x',
    records,
    trainVal: new Set(ids.slice(0, 20)),
    test: new Set(ids.slice(20)),
    imagePaths: new Map(ids.map((id) => [id, `/x/${id}`])),
    boxes: [],
    log: new IssueLog(),
  };
}

test('label matrix: 15 columns in NIH_LABELS order', () => {
  const m = nihLabelMatrix(fakeNih(30).records.slice(0, 3));
  assert.equal(m[0]!.length, 15);
  for (const row of m)
    assert.equal(
      row.reduce((s, v) => s + v, 0),
      1,
    );
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
  assert.deepEqual(
    subs.map((x) => x.fraction),
    [0.01, 0.1, 1],
  );
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
  const fs = featureSet(
    f,
    2,
    [
      [1, 0],
      [0, 1],
      [1, 1],
    ],
    [2, 0],
  );
  assert.deepEqual([...fs.x], [5, 6, 1, 2]);
  assert.deepEqual([...fs.y], [1, 1, 1, 0]);
  assert.equal(fs.n, 2);
});

test("seedSubsets: the same images for every backbone at a seed (they depend on the split and the seed only); the authors' protocol draws from train + val", () => {
  const s = linearEvalSplit(fakeNih(420), { trainShare: 0.8, valShare: 0.1 }, makeRng(2));
  const le = { fractions: [0.01, 0.1, 1], minImages: 12 };
  // runLinearEvaluation draws them once per seed from its master rng, before the backbone loop; two
  // draws from equal master rngs (as two backbones would see) are identical, image for image.
  const a = seedSubsets(s, le, 2024, makeRng(9));
  const b = seedSubsets(s, le, 2024, makeRng(9));
  assert.deepEqual(a, b);
  assert.deepEqual(
    a.ours.map((x) => subsetFingerprint(s, x.indices)),
    b.ours.map((x) => subsetFingerprint(s, x.indices)),
  );
  // Another seed, other 1 % and 10 % images.
  const c = seedSubsets(s, le, 2025, makeRng(9));
  assert.notDeepEqual(c.ours[1]!.indices, a.ours[1]!.indices);
  // Ours stay out of the validation carve-out; the authors' 100 % is the whole training part.
  const val = new Set(s.val);
  assert.ok(a.ours.every((x) => x.indices.every((i) => !val.has(i))));
  assert.deepEqual(
    [...a.authors[2]!.indices].sort((p, q) => p - q),
    [...s.train, ...s.val].sort((p, q) => p - q),
  );
  assert.equal(a.authors[1]!.indices.length, Math.round(0.1 * (s.train.length + s.val.length)));
  // The fingerprint is one of the image set, not of the order.
  assert.equal(subsetFingerprint(s, [3, 1, 2]), subsetFingerprint(s, [1, 2, 3]));
  assert.notEqual(subsetFingerprint(s, [1, 2]), subsetFingerprint(s, [1, 3]));
});
