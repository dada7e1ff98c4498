import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initEngine } from '../../src/engine.js';
import { ImageCache, imageCacheKey } from '../../src/data/imageCache.js';
import { loadImagePixels } from '../../src/data/images.js';
import { IssueLog } from '../../src/data/issues.js';
import { encodeGrayPng } from '../../src/data/png.js';

const root = mkdtempSync(join(tmpdir(), 'cxr-cache-test-'));
const paths: string[] = [];

before(async () => {
  await initEngine('cpu');
  for (let k = 0; k < 6; k++) {
    const p = join(root, `img${k}.png`);
    if (k === 3) writeFileSync(p, 'not a png');
    else {
      const w = 20 + k, h = 16;
      const pixels = new Uint8Array(w * h).map((_, i) => (i * 37 + k * 11) % 256);
      writeFileSync(p, encodeGrayPng({ width: w, height: h, bitDepth: 8, pixels }));
    }
    paths.push(p);
  }
});
after(() => rmSync(root, { recursive: true, force: true }));

async function expected(i: number): Promise<Float32Array> {
  return loadImagePixels(paths[i]!, { size: 8 });
}

test('the first pass decodes every image once, rejects the unreadable one by name, and serves batches equal to the decoder within 1/65535', async () => {
  const dir = join(root, 'c1');
  const log = new IssueLog();
  const lines: string[] = [];
  const cache = await ImageCache.open(paths, { dir, size: 8, fingerprint: 'a', log, progress: (l) => lines.push(l), logEverySeconds: 0 });
  assert.equal(cache.count, 5);
  assert.deepEqual(cache.positions, [0, 1, 2, 4, 5]);
  assert.deepEqual(log.issues.map((i) => [i.file, i.kind]), [[paths[3], 'unreadable-image']]);
  assert.match(lines.at(-1)!, /^caching images at 8 px: 6\/6 \(1 rejected\) · [\d.]+ img\/s · ETA 0s$/);
  const b = cache.batch([3, 0]);
  assert.deepEqual(b.shape, [2, 8, 8, 1]);
  const got = b.dataSync();
  const [e4, e0] = [await expected(4), await expected(0)];
  for (let j = 0; j < 64; j++) {
    assert.ok(Math.abs(got[j]! - e4[j]!) <= 0.5 / 65535 + 1e-7, `image 4 pixel ${j}`);
    assert.ok(Math.abs(got[64 + j]! - e0[j]!) <= 0.5 / 65535 + 1e-7, `image 0 pixel ${j}`);
  }
  b.dispose();
  assert.equal(cache.bytes, 5 * 64 * 2);
  assert.throws(() => cache.batch([5]), /index 5 outside 0\.\.4/);
  cache.close();

  // Opened again: nothing is decoded, and the rejection is reported again.
  const log2 = new IssueLog();
  const lines2: string[] = [];
  const again = await ImageCache.open(paths, { dir, size: 8, fingerprint: 'a', log: log2, progress: (l) => lines2.push(l) });
  assert.deepEqual(lines2, []);
  assert.deepEqual(log2.issues.map((i) => i.file), [paths[3]]);
  const e1 = await expected(1);
  again.batch([1]).dataSync().forEach((v, j) => assert.ok(Math.abs(v - e1[j]!) <= 0.5 / 65535 + 1e-7, `reopened, image 1 pixel ${j}`));
  again.close();
});

test('a pass stopped mid-way resumes where its state was saved and ends byte-identical to an uninterrupted one', async () => {
  const whole = join(root, 'whole');
  const full = await ImageCache.open(paths, { dir: whole, size: 8, fingerprint: 'a', progress: () => {} });
  full.close();
  const cut = join(root, 'cut');
  const first = await ImageCache.open(paths, { dir: cut, size: 8, fingerprint: 'a', progress: () => {} });
  first.close();
  // As if stopped after saving the state at 2 inputs done, with a third record half written.
  const key = imageCacheKey(paths, 8, 'a');
  const state = JSON.parse(readFileSync(join(cut, key, 'state.json'), 'utf8'));
  writeFileSync(join(cut, key, 'state.json'), JSON.stringify({ ...state, done: 2, kept: [0, 1], rejected: [] }));
  const px = join(cut, key, 'pixels.u16');
  writeFileSync(px, readFileSync(px).subarray(0, 2 * 128));
  appendFileSync(px, Buffer.alloc(70, 0xab));
  const lines: string[] = [];
  const resumed = await ImageCache.open(paths, { dir: cut, size: 8, fingerprint: 'a', progress: (l) => lines.push(l), logEverySeconds: 0 });
  assert.equal(lines.length, 4, 'only the four remaining inputs are decoded');
  assert.deepEqual(readFileSync(px), readFileSync(join(whole, key, 'pixels.u16')));
  assert.deepEqual(resumed.positions, [0, 1, 2, 4, 5]);
  resumed.close();
});

test('the key changes with the size, the content fingerprint and the list of files', async () => {
  const k = imageCacheKey(paths, 8, 'a');
  assert.notEqual(imageCacheKey(paths, 16, 'a'), k);
  assert.notEqual(imageCacheKey(paths, 8, 'b'), k);
  assert.notEqual(imageCacheKey(paths.slice(1), 8, 'a'), k);
  assert.equal(imageCacheKey([...paths], 8, 'a'), k);
  const dir = join(root, 'keys');
  (await ImageCache.open(paths, { dir, size: 8, fingerprint: 'a', progress: () => {} })).close();
  (await ImageCache.open(paths, { dir, size: 8, fingerprint: 'b', progress: () => {} })).close();
  assert.equal(readdirSync(dir).length, 2);
});
