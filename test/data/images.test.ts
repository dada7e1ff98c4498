import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { imageBatches, loadImageTensor, readImage, resizeImage } from '../../src/data/images.js';
import { IssueLog } from '../../src/data/issues.js';
import { encodeGrayPng } from '../../src/data/png.js';
import { generateVindrPhantom } from '../../src/data/synthetic.js';
import { loadVindr } from '../../src/data/vindr.js';
import { writeFileAtomic } from '../../src/io.js';
import { tempDir } from '../helpers.js';

test('resize: a constant image stays constant; 2x shrink averages blocks', () => {
  const c = resizeImage({ width: 10, height: 6, data: new Float32Array(60).fill(0.25) }, 7, 3);
  assert.ok(c.data.every((v) => Math.abs(v - 0.25) < 1e-6));
  // Checkerboard of 0 and 1 averages to 0.5 everywhere when halved.
  const cb = Float32Array.from({ length: 16 }, (_, i) => ((i % 4) + Math.floor(i / 4)) % 2);
  assert.ok(resizeImage({ width: 4, height: 4, data: cb }, 2, 2).data.every((v) => Math.abs(v - 0.5) < 1e-6));
});

test('16-bit PNG and DICOM decode to brightness in [0, 1]; tensors are [H, W, 1]', async () => {
  const dir = tempDir();
  const p = join(dir, 'a.png');
  writeFileAtomic(p, encodeGrayPng({ width: 2, height: 1, pixels: Uint16Array.from([0, 65535]), bitDepth: 16 }));
  assert.deepEqual([...(await readImage(p)).data], [0, 1]);
  generateVindrPhantom({ dir: join(dir, 'v'), numImages: 2, imageSize: 48, seed: 1 });
  const im = loadVindr(join(dir, 'v')).images[0]!;
  const t = await loadImageTensor(im.path!, { size: 32, range: [-1, 1] });
  assert.deepEqual(t.shape, [32, 32, 1]);
  const [lo, hi] = [t.min().dataSync()[0]!, t.max().dataSync()[0]!];
  assert.ok(lo >= -1 && hi <= 1 && hi > lo);
  tf.dispose(t);
});

test('imageBatches streams NHWC batches, reports bad files and leaks no tensors', async () => {
  const dir = tempDir();
  const good = join(dir, 'g.png');
  writeFileAtomic(good, encodeGrayPng({ width: 8, height: 8, pixels: new Uint8Array(64).fill(128), bitDepth: 8 }));
  const bad = join(dir, 'b.png');
  writeFileAtomic(bad, Buffer.from('\x89PNG truncated'));
  const log = new IssueLog();
  const before = tf.memory().numTensors;
  const seen: number[][] = [];
  for await (const b of imageBatches([good, bad, good, join(dir, 'missing.png'), good], { size: 4, batchSize: 2, log })) {
    seen.push(b.images.shape);
    assert.equal(b.images.shape[0], b.paths.length);
    b.images.dispose();
  }
  assert.deepEqual(seen, [[1, 4, 4, 1], [1, 4, 4, 1], [1, 4, 4, 1]]);
  assert.deepEqual(log.counts(), { 'missing-image': 1, 'not-an-image': 1 });
  assert.equal(tf.memory().numTensors, before);
});
