import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { labelDistribution, cohortTable } from '../../src/data/audit.js';
import { issueTable } from '../../src/data/datasets.js';
import { NIH_LABELS } from '../../src/data/labels.js';
import { loadNih, NIH_COLUMNS, nihLabelCounts, parseNihRow } from '../../src/data/nih.js';
import { encodeGrayPng } from '../../src/data/png.js';
import { writeFileAtomic } from '../../src/io.js';
import { tempDir } from '../helpers.js';

const HEADER = `${NIH_COLUMNS.join(',')},`;
const png = encodeGrayPng({ width: 4, height: 4, pixels: new Uint8Array(16), bitDepth: 8 });

/** A hand-made NIH folder: 5 good rows and one of each kind of bad input. */
function smallNih(): string {
  const dir = tempDir();
  const rows = [
    '00000001_000.png,Cardiomegaly|Effusion,0,1,58,M,PA,2682,2749,0.143,0.143,',
    '00000001_001.png,No Finding,1,1,58,M,PA,2894,2729,0.143,0.143,',
    '00000002_000.png,Hernia,0,2,81,F,AP,2500,2048,0.168,0.168,',
    '00000003_000.png,Effusion,0,3,74,F,PA,2500,2048,0.168,0.168,',
    '00000004_000.png,Mass|Nodule|Effusion,0,4,30,M,AP,2048,2500,0.168,0.168,',
    '00000005_000.png,Covid,0,5,40,M,PA,2048,2500,0.168,0.168,', // line 7: unknown label
    '00000006_000.png,No Finding|Mass,0,6,40,M,PA,2048,2500,0.168,0.168,', // line 8: contradictory
    '00000007_000.png,Mass,0,7,40,X,PA,2048,2500,0.168,0.168,', // line 9: bad sex
    '00000008_000.png,Mass,0,8', // line 10: too few fields
    '00000003_000.png,Effusion,0,3,74,F,PA,2500,2048,0.168,0.168,', // line 11: duplicate
    '00000009_000.png,Atelectasis,0,9,50,F,PA,2500,2048,0.168,0.168,', // listed, image missing
  ];
  writeFileAtomic(join(dir, 'Data_Entry_2017.csv'), [HEADER, ...rows].join('\n') + '\n');
  for (const name of ['00000001_000.png', '00000001_001.png', '00000002_000.png', '00000003_000.png', '00000004_000.png']) {
    writeFileAtomic(join(dir, 'images', name), png);
  }
  writeFileAtomic(join(dir, 'train_val_list.txt'), '00000001_000.png\n00000001_001.png\n00000003_000.png\n');
  writeFileAtomic(join(dir, 'test_list.txt'), '00000002_000.png\n00000004_000.png\n');
  return dir;
}

test('parseNihRow reads a real-format row', () => {
  const cells = Object.fromEntries(NIH_COLUMNS.map((c, i) => [c, ['00000001_000.png', 'Cardiomegaly|Emphysema', '0', '1', '58', 'M', 'PA', '2682', '2749', '0.143', '0.143'][i]!]));
  const r = parseNihRow(cells);
  assert.ok(typeof r !== 'string');
  assert.deepEqual(r.labels, ['Cardiomegaly', 'Emphysema']);
  assert.equal(r.originalWidth, 2682);
  assert.equal(r.pixelSpacingY, 0.143);
});

test('loadNih keeps the good rows and reports each bad one with its line', () => {
  const ds = loadNih(smallNih());
  assert.deepEqual(ds.records.map((r) => r.imageIndex), ['00000001_000.png', '00000001_001.png', '00000002_000.png', '00000003_000.png', '00000004_000.png', '00000009_000.png']);
  const byLine = ds.log.issues.filter((i) => i.line !== null).map((i) => [i.line, i.kind]);
  assert.deepEqual(byLine, [
    [10, 'csv-columns'],
    [7, 'unknown-label'],
    [8, 'bad-row'],
    [9, 'bad-row'],
    [11, 'duplicate-image'],
  ]);
  const missing = ds.log.issues.filter((i) => i.kind === 'missing-image');
  assert.equal(missing.length, 1);
  assert.match(missing[0]!.reason, /00000009_000\.png/);
  assert.deepEqual(ds.log.counts(), { 'bad-row': 2, 'csv-columns': 1, 'duplicate-image': 1, 'missing-image': 1, 'unknown-label': 1, 'unlisted-image': 1 });
  const t = issueTable(ds.log);
  assert.deepEqual(t.rows.map((r) => [r[0], r[1]]), [['bad-row', 2], ['csv-columns', 1], ['duplicate-image', 1], ['missing-image', 1], ['unknown-label', 1], ['unlisted-image', 1]]);
  assert.match(ds.log.issues.find((i) => i.kind === 'unlisted-image')!.reason, /^00000009_000\.png is in neither/);
});

test('split lists: an image in both is reported and kept out of train_val (pretraining), not out of test', () => {
  const dir = smallNih();
  writeFileAtomic(join(dir, 'test_list.txt'), '00000002_000.png\n00000004_000.png\n00000003_000.png\n00000009_000.png\n');
  const ds = loadNih(dir);
  const overlap = ds.log.issues.filter((i) => i.kind === 'split-overlap');
  assert.equal(overlap.length, 1);
  assert.match(overlap[0]!.reason, /^00000003_000\.png is in both train_val_list\.txt and test_list\.txt/);
  assert.ok(!ds.trainVal.has('00000003_000.png'));
  assert.ok(ds.test.has('00000003_000.png'));
  assert.deepEqual([...ds.trainVal].sort(), ['00000001_000.png', '00000001_001.png']);
  assert.equal(ds.log.counts()['unlisted-image'], undefined);
});

test('a file on disk whose name differs only in case is reported as such, not as missing', () => {
  const dir = smallNih();
  writeFileAtomic(join(dir, 'images', '00000009_000.PNG'), png);
  const ds = loadNih(dir);
  assert.equal(ds.log.counts()['missing-image'], undefined);
  const m = ds.log.issues.filter((i) => i.kind === 'name-case-mismatch');
  assert.equal(m.length, 1);
  assert.match(m[0]!.file, /00000009_000\.PNG$/);
  assert.match(m[0]!.reason, /lists 00000009_000\.png but the file on disk is 00000009_000\.PNG .*rename the file/);
  assert.ok(!ds.imagePaths.has('00000009_000.png'));
});

test('label counts: an image counts once for each of its labels', () => {
  const ds = loadNih(smallNih());
  const c = nihLabelCounts(ds.records);
  // Effusion appears on 3 images (rows 1, 4, 5); Hernia on one; No Finding on one.
  assert.equal(c.Effusion, 3);
  assert.equal(c.Hernia, 1);
  assert.equal(c['No Finding'], 1);
  assert.equal(c.Pneumonia, 0);
  assert.equal(Object.keys(c).length, 15);
  const d = labelDistribution(ds.records);
  assert.equal(d.labels[0], 'Effusion');
  assert.deepEqual([...d.counts], [...d.counts].sort((a, b) => b - a));
  assert.equal(d.labels.length, NIH_LABELS.length);
});

test('cohort table: images, patients and views per official split', () => {
  const ds = loadNih(smallNih());
  const t = cohortTable(ds.records, ds.trainVal, ds.test);
  const row = (name: string) => t.rows.find((r) => r[0] === name)!;
  // all: 6 records from 6 patients? No: patient 1 has two images, so 5 patients.
  assert.deepEqual(row('all').slice(0, 5), ['all', 6, 5, 4, 2]);
  assert.deepEqual(row('train_val_list').slice(0, 3), ['train_val_list', 3, 2]);
  assert.deepEqual(row('test_list').slice(0, 5), ['test_list', 2, 2, 0, 2]);
  assert.deepEqual(row('unlisted').slice(0, 2), ['unlisted', 1]);
});

test('a missing CSV is a clear error naming CXR_NIH_DIR', () => {
  const dir = smallNih();
  rmSync(join(dir, 'Data_Entry_2017.csv'));
  assert.throws(() => loadNih(dir), /CXR_NIH_DIR/);
});
