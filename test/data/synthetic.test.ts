import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NIH_LABELS } from '../../src/data/labels.js';
import { loadNih } from '../../src/data/nih.js';
import { decodePng } from '../../src/data/png.js';
import { ensureNihPhantom, ensureVindrPhantom, generateNihPhantom, generateVindrPhantom, sampleNihLabels } from '../../src/data/synthetic.js';
import { makeRng } from '../../src/rng.js';
import { tempDir } from '../helpers.js';

function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, name.name);
      if (name.isDirectory()) walk(p);
      else h.update(name.name).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

test('same seed, same bytes; another seed, other bytes', () => {
  const [a, b, c] = [tempDir(), tempDir(), tempDir()];
  generateNihPhantom({ dir: a, numImages: 30, imageSize: 32, seed: 1 });
  generateNihPhantom({ dir: b, numImages: 30, imageSize: 32, seed: 1 });
  generateNihPhantom({ dir: c, numImages: 30, imageSize: 32, seed: 2 });
  assert.equal(treeHash(a), treeHash(b));
  assert.notEqual(treeHash(a), treeHash(c));
});

test('the phantom reads back through the NIH loader with no problems', () => {
  const dir = tempDir();
  const s = generateNihPhantom({ dir, numImages: 60, imageSize: 48, seed: 3 });
  const ds = loadNih(dir);
  assert.equal(ds.records.length, 60);
  assert.deepEqual(ds.log.issues, []);
  assert.equal(ds.imagePaths.size, 60);
  assert.equal(new Set(ds.records.map((r) => r.patientId)).size, s.numPatients);
  // Every image is in exactly one official list, and no patient is on both sides.
  for (const r of ds.records) assert.notEqual(ds.trainVal.has(r.imageIndex), ds.test.has(r.imageIndex));
  const testPatients = new Set(ds.records.filter((r) => ds.test.has(r.imageIndex)).map((r) => r.patientId));
  for (const r of ds.records) if (ds.trainVal.has(r.imageIndex)) assert.ok(!testPatients.has(r.patientId));
  const img = decodePng(readFileSync(ds.imagePaths.get(ds.records[0]!.imageIndex)!));
  assert.equal(img.width, 48);
  assert.equal(img.height, 48);
});

test('label frequencies follow the real set: ~54% No Finding, Infiltration the commonest finding, Hernia rare', () => {
  const rng = makeRng(11);
  const counts = new Map<string, number>();
  const n = 20000;
  for (let i = 0; i < n; i++) for (const l of sampleNihLabels(rng)) counts.set(l, (counts.get(l) ?? 0) + 1);
  // Real: 60,361 / 112,120 = 0.538 No Finding; 19,894 / 112,120 = 0.177 Infiltration; 227 / 112,120 Hernia.
  assert.ok(Math.abs(counts.get('No Finding')! / n - 0.538) < 0.015);
  assert.ok(Math.abs(counts.get('Infiltration')! / n - 0.177) < 0.02);
  assert.ok((counts.get('Hernia') ?? 0) / n < 0.006);
  for (const l of counts.keys()) assert.ok((NIH_LABELS as readonly string[]).includes(l));
});

test('ensureNihPhantom regenerates only when the options change', () => {
  const dir = tempDir();
  assert.equal(ensureNihPhantom({ dir, numImages: 10, imageSize: 32, seed: 1 }).generated, true);
  assert.equal(ensureNihPhantom({ dir, numImages: 10, imageSize: 32, seed: 1 }).generated, false);
  assert.equal(ensureNihPhantom({ dir, numImages: 12, imageSize: 32, seed: 1 }).generated, true);
});

test('VinDr phantom: same seed, same bytes (CSV and DICOM); another seed, other bytes', () => {
  const [a, b, c] = [tempDir(), tempDir(), tempDir()];
  generateVindrPhantom({ dir: a, numImages: 12, imageSize: 48, seed: 1 });
  generateVindrPhantom({ dir: b, numImages: 12, imageSize: 48, seed: 1 });
  generateVindrPhantom({ dir: c, numImages: 12, imageSize: 48, seed: 2 });
  assert.equal(treeHash(a), treeHash(b));
  assert.notEqual(treeHash(a), treeHash(c));
  assert.equal(ensureVindrPhantom({ dir: a, numImages: 12, imageSize: 48, seed: 1 }).generated, false);
});

test('NIH box file: literal header, boxes read back inside their images', () => {
  const dir = tempDir();
  const s = generateNihPhantom({ dir, numImages: 150, imageSize: 48, seed: 9 });
  assert.equal(readFileSync(join(dir, 'BBox_List_2017.csv'), 'utf8').split('\n')[0], 'Image Index,Finding Label,Bbox [x,y,w,h],,,');
  const ds = loadNih(dir);
  assert.deepEqual(ds.log.issues, []);
  assert.equal(ds.boxes.length, s.numBoxes);
  assert.ok(s.numBoxes > 0);
  for (const b of ds.boxes) assert.ok(b.box[0] >= 0 && b.box[2] <= 48 && b.box[0] < b.box[2]);
});

test('VinDr DICOMs: both photometric interpretations and 12-16 stored bits occur', async () => {
  const dir = tempDir();
  const s = generateVindrPhantom({ dir, numImages: 30, imageSize: 40, seed: 4 });
  assert.ok(s.monochrome1 > 0 && s.monochrome1 < 30);
  const { decodeDicom } = await import('../../src/data/dicom.js');
  const bits = new Set<number>();
  for (const f of readdirSync(join(dir, 'train'))) bits.add((await decodeDicom(readFileSync(join(dir, 'train', f)))).bitsStored);
  assert.deepEqual([...bits].sort(), [12, 14, 16]);
});
