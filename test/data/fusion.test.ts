import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuseVindr, fusionExample, fusionSweep, presenceMatrix, readerImages, splitVindr } from '../../src/data/fusion.js';
import type { VindrImage } from '../../src/data/vindr.js';
import { makeRng } from '../../src/rng.js';

function img(imageId: string, annotations: VindrImage['annotations'], noFindingReaders: string[] = []): VindrImage {
  const readers = [...new Set([...annotations.map((a) => a.readerId), ...noFindingReaders])].sort();
  return { imageId, path: null, width: 200, height: 100, annotations, readers, noFindingReaders };
}

// Three readers box the same cardiomegaly with small jitter; one also marks a nodule alone.
const a = img('a', [
  { readerId: 'R1', classId: 3, box: [50, 40, 150, 90] },
  { readerId: 'R2', classId: 3, box: [52, 42, 148, 92] },
  { readerId: 'R3', classId: 3, box: [48, 38, 152, 88] },
  { readerId: 'R3', classId: 8, box: [10, 10, 20, 20] },
]);
const b = img('b', [], ['R1', 'R4', 'R5']);
const missing: VindrImage = { ...img('m', []), width: 0, height: 0 };

test('readers who marked nothing become box-free "No finding" entries; unknown-size images are left out', () => {
  const r = readerImages([a, b, missing]);
  assert.deepEqual(r.map((x) => x.imageId), ['a', 'b']);
  assert.deepEqual(r[1]!.annotations, [
    { readerId: 'R1', classId: 14, box: null },
    { readerId: 'R4', classId: 14, box: null },
    { readerId: 'R5', classId: 14, box: null },
  ]);
});

test('three agreeing readers fuse to one box near their mean, with score 1; a lone box keeps score 1/3', () => {
  const f = fuseVindr([a, b], { iouThr: 0.5, confType: 'avg' });
  const fa = f.images[0]!;
  assert.equal(fa.boxes.length, 2);
  const k = fa.labels.indexOf(3);
  // Mean of the three boxes is exactly [50, 40, 150, 90]; float32 rounding inside WBF allows 1e-3.
  fa.boxes[k]!.forEach((v, i) => assert.ok(Math.abs(v - [50, 40, 150, 90][i]!) < 1e-3));
  assert.ok(Math.abs(fa.scores[k]! - 1) < 1e-6);
  assert.ok(Math.abs(fa.scores[fa.labels.indexOf(8)]! - 1 / 3) < 1e-6);
  assert.equal(f.images[1]!.boxes.length, 0);
  assert.equal(f.images[1]!.numReaders, 3);
});

test('a sweep over thresholds counts fused boxes; raising the threshold never merges more', () => {
  const s = fusionSweep([a, b], [0.1, 0.5, 0.99]);
  assert.deepEqual(s.map((p) => p.iouThr), [0.1, 0.5, 0.99]);
  assert.equal(s[0]!.fused, 2);
  assert.ok(s[2]!.fused >= s[1]!.fused && s[1]!.fused >= s[0]!.fused);
});

test('presence matrix has "No finding" for box-free images', () => {
  const f = fuseVindr([a, b], { iouThr: 0.5, confType: 'avg' }).images;
  const m = presenceMatrix(f);
  assert.equal(m[0]![3], 1);
  assert.equal(m[0]![8], 1);
  assert.equal(m[0]![14], 0);
  assert.equal(m[1]![14], 1);
});

test('the re-split partitions the images, follows the fractions, and is a function of ids and seed', () => {
  const many: VindrImage[] = Array.from({ length: 60 }, (_, i) =>
    i % 3 === 0 ? img(`im${String(i).padStart(2, '0')}`, [{ readerId: 'R1', classId: i % 2 ? 3 : 0, box: [10, 10, 50, 50] }]) : img(`im${String(i).padStart(2, '0')}`, [], ['R1']),
  );
  const fused = fuseVindr(many, { iouThr: 0.5, confType: 'avg' }).images;
  const s = splitVindr(fused, [0.7, 0.15, 0.15], makeRng(3));
  assert.deepEqual([s.train.length, s.val.length, s.test.length], [42, 9, 9]);
  assert.deepEqual([...s.train, ...s.val, ...s.test].sort(), many.map((m) => m.imageId).sort());
  assert.deepEqual(splitVindr([...fused].reverse(), [0.7, 0.15, 0.15], makeRng(3)), s);
});

test('the fusion example is the image and class most readers boxed', () => {
  const f = fuseVindr([a, b], { iouThr: 0.5, confType: 'avg' }).images;
  const ex = fusionExample([a, b], f)!;
  assert.equal(ex.imageId, 'a');
  assert.equal(ex.classId, 3);
  assert.equal(ex.readerBoxes.length, 3);
  assert.equal(ex.fusedBoxes.length, 1);
});
