import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/engine.js';
import { IssueLog } from '../../src/data/issues.js';
import { loadNih } from '../../src/data/nih.js';
import { generateNihPhantom } from '../../src/data/synthetic.js';
import { DataCache, folderFingerprint } from '../../src/data/dataCache.js';
import { nihTrainSource } from '../../src/train/pretrainRun.js';

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

// The streamed source's pixel cache is keyed by folderFingerprint (content), as the run keys are.
test("the fingerprint follows the files' content: a touch or a move keeps it, one changed byte changes it", () => {
  const dir = join(root, 'nih');
  const copy = join(root, 'nih-copy');
  const paths = [...loadNih(dir).imagePaths.values()].slice(0, 3);
  const copies = paths.map((p) => {
    const to = join(copy, relative(dir, p));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(p, to);
    return to;
  });
  const saved = join(root, 'hashes.json');
  const before = folderFingerprint(copy, copies, new DataCache(saved));
  assert.equal(
    folderFingerprint(dir, paths, new DataCache(null)),
    before,
    'a copy elsewhere, same names and bytes',
  );
  utimesSync(copies[1]!, new Date(), new Date(Date.now() + 5000));
  assert.equal(folderFingerprint(copy, copies, new DataCache(saved)), before, 'touched: re-read, same bytes');
  const bytes = readFileSync(copies[1]!);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(copies[1]!, bytes);
  utimesSync(copies[1]!, new Date(), new Date(Date.now() + 10000));
  const changed = folderFingerprint(copy, copies, new DataCache(saved));
  assert.notEqual(changed, before);
  assert.match(changed, /^[0-9a-f]{16}$/);
});
