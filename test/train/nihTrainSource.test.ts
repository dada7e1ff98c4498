import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/engine.js';
import { IssueLog } from '../../src/data/issues.js';
import { loadNih } from '../../src/data/nih.js';
import { generateNihPhantom } from '../../src/data/synthetic.js';
import { filesFingerprint, nihTrainSource } from '../../src/train/pretrainRun.js';

const root = mkdtempSync(join(tmpdir(), 'cxr-nihsource-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
before(async () => {
  await initEngine('cpu');
});

test('streamed from the disk cache, the NIH training source serves the same images as in memory (within 1/65535)', async () => {
  const dir = join(root, 'nih');
  generateNihPhantom({ dir, numImages: 24, imageSize: 32, seed: 3 });
  const nih = loadNih(dir);
  const inMemory = await nihTrainSource(nih, 16, new IssueLog(), { stream: false });
  const streamed = await nihTrainSource(nih, 16, new IssueLog(), {
    stream: true,
    cacheDir: join(root, 'cache'),
  });
  assert.ok(inMemory.count > 10);
  assert.equal(streamed.count, inMemory.count);
  const idx = [inMemory.count - 1, 0, 5];
  const [a, b] = [inMemory.batch(idx), streamed.batch(idx)];
  assert.deepEqual(b.shape, a.shape);
  const [da, db] = [a.dataSync(), b.dataSync()];
  let worst = 0;
  da.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - db[i]!));
  });
  assert.ok(worst <= 0.5 / 65535 + 1e-7, `largest difference ${worst}`);
  a.dispose();
  b.dispose();
  inMemory.dispose();
  streamed.dispose();
});

test('the files fingerprint changes when a file is touched', () => {
  const dir = join(root, 'nih');
  const paths = [...loadNih(dir).imagePaths.values()].slice(0, 3);
  const before = filesFingerprint(paths);
  assert.equal(filesFingerprint(paths), before);
  utimesSync(paths[1]!, new Date(), new Date(Date.now() + 5000));
  assert.notEqual(filesFingerprint(paths), before);
});
