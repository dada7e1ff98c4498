import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FusedImage } from '../../src/boxes/readers.js';
import { parseCsvRecords } from '../../src/data/csv.js';
import { fusedCoco, fusedCsv, instancesPerClass } from '../../src/data/annotations.js';

const images: FusedImage[] = [
  { imageId: 'a', width: 100, height: 80, boxes: [[10, 20, 30, 60], [0, 0, 5, 5]], scores: [1, 1 / 3], labels: [3, 0], numReaders: 3 },
  { imageId: 'b', width: 50, height: 50, boxes: [], scores: [], labels: [], numReaders: 3 },
];

test('CSV: one row per fused box, one empty "No finding" row per normal image', () => {
  const recs = parseCsvRecords(fusedCsv(images)).map((r) => r.fields);
  assert.deepEqual(recs[0], ['image_id', 'width', 'height', 'class_name', 'class_id', 'score', 'x_min', 'y_min', 'x_max', 'y_max']);
  assert.deepEqual(recs[1], ['a', '100', '80', 'Cardiomegaly', '3', '1', '10', '20', '30', '60']);
  assert.deepEqual(recs[2], ['a', '100', '80', 'Aortic enlargement', '0', '0.33', '0', '0', '5', '5']);
  assert.deepEqual(recs[3], ['b', '50', '50', 'No finding', '14', '', '', '', '', '']);
});

test('COCO: bbox is [x, y, w, h], area = w·h, normal images listed without annotations', () => {
  const c = fusedCoco(images);
  assert.equal(c.images.length, 2);
  assert.equal(c.categories.length, 14);
  assert.deepEqual(c.annotations[0]!.bbox, [10, 20, 20, 40]);
  assert.equal(c.annotations[0]!.area, 800);
  assert.equal(c.annotations[0]!.category_id, 3);
  assert.deepEqual(c.annotations.map((a) => a.image_id), [1, 1]);
  assert.equal(c.images[0]!.file_name, 'a.dicom');
});

test('instances per class count boxes by class id', () => {
  const counts = instancesPerClass(images);
  assert.equal(counts.length, 14);
  assert.equal(counts[3], 1);
  assert.equal(counts[0], 1);
  assert.equal(counts.reduce((s, v) => s + v, 0), 2);
});

test('writeFusedSplit → readFusedCsv round-trips boxes, labels and normal images', async () => {
  const { tempDir } = await import('../helpers.js');
  const { writeFusedSplit, readFusedCsv } = await import('../../src/data/annotations.js');
  const { IssueLog } = await import('../../src/data/issues.js');
  const dir = tempDir();
  const p = writeFusedSplit(dir, 'val', images);
  const log = new IssueLog();
  const back = readFusedCsv(p.csv, log);
  assert.deepEqual(log.issues, []);
  assert.deepEqual(back.map((b) => [b.imageId, b.width, b.height, b.labels, b.boxes]), images.map((b) => [b.imageId, b.width, b.height, b.labels, b.boxes]));
});
