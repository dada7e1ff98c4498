/** Detection splits streamed from the on-disk image cache give the in-memory path's pixels and runs. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { encodeGrayPng } from '../../src/data/png.js';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import {
  type DetImage,
  type DetectionRun,
  type DetSet,
  loadDetectionSet,
  openDetectionSet,
  trainDetector,
} from '../../src/train/detectionRun.js';
import { tempDir } from '../helpers.js';
import { makePhantoms } from '../models/fasterRcnn/phantoms.js';
import { tinyDetectionConfig } from '../helpers/tinyDetector.js';

before(async () => {
  await initEngine('cpu');
});

const config = tinyDetectionConfig();

/**
 * `n` phantom films with boxes written as 8-bit PNGs of `width`×`height` (the phantom's 64 px square
 * stretched by nearest neighbour), with their boxes in the file's pixels.
 */
function writeFilms(dir: string, n: number, seed: number, width = 64, height = 64): DetImage[] {
  const p = makePhantoms(n, 64, makeRng(seed));
  const px = p.images.dataSync();
  p.images.dispose();
  return p.targets.map((t, i) => {
    const pixels = new Uint8Array(width * height);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const sy = Math.floor((y * 64) / height);
        const sx = Math.floor((x * 64) / width);
        const v = px[((i * 64 + sy) * 64 + sx) * 3]!;
        pixels[y * width + x] = Math.round(255 * Math.min(1, Math.max(0, 0.5 + v)));
      }
    const path = join(dir, `film${seed}-${i}.png`);
    writeFileSync(path, encodeGrayPng({ width, height, bitDepth: 8, pixels }));
    const fx = width / 64;
    const fy = height / 64;
    return {
      imageId: `film${seed}-${i}`,
      path,
      width,
      height,
      boxes: t.boxes.map((b) => [b[0]! * fx, b[1]! * fy, b[2]! * fx, b[3]! * fy]),
      labels: [...t.labels],
    };
  });
}

const all = (s: DetSet): number[] => [...Array(s.count).keys()];

test('a streamed detection split serves the in-memory pixels, boxes and scales, and holds no tensor of the split', async () => {
  const dir = tempDir();
  const cacheDir = join(dir, 'cache');
  // 80 × 60 films at 48 px: the keep-ratio resize (48 × 36, zero padding below) is exercised.
  const films = writeFilms(dir, 5, 11, 80, 60);
  const mem = await loadDetectionSet(films, 48);
  const count = tf.memory().numTensors;
  const streamed = await openDetectionSet(films, 48, { stream: true, cacheDir });
  assert.equal(tf.memory().numTensors, count, 'opening a streamed split makes no tensor');
  assert.ok(!('images' in streamed), 'a streamed split has no whole-split tensor');
  assert.equal(streamed.count, 5);
  assert.equal(streamed.size, 48);
  assert.deepEqual(streamed.sizesHw, mem.sizesHw);
  assert.deepEqual(streamed.sizesHw[0], [36, 48]);
  assert.deepEqual(streamed.scales, mem.scales);
  assert.deepEqual(streamed.targets, mem.targets);
  assert.deepEqual(streamed.original, mem.original);
  assert.deepEqual(streamed.ids, mem.ids);
  const a = mem.batch([4, 0, 2]);
  const b = streamed.batch([4, 0, 2]);
  assert.deepEqual(b.shape, [3, 48, 48, 1]);
  const [av, bv] = [a.dataSync(), b.dataSync()];
  // The cache keeps 16 bits per pixel: resized values agree within half a step.
  for (let j = 0; j < av.length; j++)
    assert.ok(Math.abs(av[j]! - bv[j]!) <= 0.5 / 65535 + 1e-7, `pixel ${j}: ${av[j]} vs ${bv[j]}`);
  // Below each resized image the canvas is zero in both.
  assert.equal(bv[47 * 48 + 10], 0);
  tf.dispose([a, b]);
  streamed.dispose();
  mem.dispose();
});

test('a detection run on streamed splits equals the run on in-memory splits (8-bit films at the input size)', async () => {
  const dir = tempDir();
  const cacheDir = join(dir, 'cache');
  const [tr, va, te] = [writeFilms(dir, 4, 1), writeFilms(dir, 2, 2), writeFilms(dir, 2, 3)];
  const mem = {
    train: await loadDetectionSet(tr, 64),
    val: await loadDetectionSet(va, 64),
    test: await loadDetectionSet(te, 64),
  };
  const str = {
    train: await openDetectionSet(tr, 64, { stream: true, cacheDir }),
    val: await openDetectionSet(va, 64, { stream: true, cacheDir }),
    test: await openDetectionSet(te, 64, { stream: true, cacheDir }),
  };
  // 8-bit values survive the 16-bit cache exactly.
  for (const k of ['train', 'val', 'test'] as const) {
    const [x, y] = [mem[k].batch(all(mem[k])), str[k].batch(all(str[k]))];
    assert.deepEqual(y.dataSync(), x.dataSync(), k);
    tf.dispose([x, y]);
  }
  const rng = () => makeRng(5).fork('run');
  const a = (await trainDetector(config, 'none', 7, mem, rng(), { log: () => {} }))!;
  const count = tf.memory().numTensors;
  const b = (await trainDetector(config, 'none', 7, str, rng(), { log: () => {} }))!;
  assert.equal(tf.memory().numTensors, count, 'a streamed run frees every batch it reads');
  const strip = (r: DetectionRun) => ({ ...r, seconds: 0 });
  assert.deepEqual(strip(b), strip(a));
  assert.equal(a.epochs.length, 2);
  for (const s of [...Object.values(mem), ...Object.values(str)]) s.dispose();
});
