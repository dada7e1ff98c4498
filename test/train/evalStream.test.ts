/** Notebook 05 on evaluation images streamed from the on-disk cache gives the in-memory path's results. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeConfig, type Config } from '../../src/config.js';
import { forgetDataFingerprints } from '../../src/data/dataCache.js';
import { openNih } from '../../src/data/datasets.js';
import { ensureNihPhantom } from '../../src/data/synthetic.js';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { linearEvalSplit, openEvalImages, runLinearEvaluation } from '../../src/train/linearEval.js';
import { tempDir } from '../helpers.js';

const root = tempDir('cxr-evalstream-');
const cfg = (name: string, inMemoryBytes: number): Config =>
  makeConfig({
    notebook: 't',
    profile: 'smoke',
    env: { CXR_NIH_DIR: join(root, 'nih'), CXR_SEED: '1' },
    paths: {
      results: join(root, name, 'results'),
      checkpoints: join(root, name, 'ck'),
      figures: join(root, name, 'fig'),
      cache: join(root, name, 'cache'),
    } as Config['paths'],
    data: { inMemoryBytes } as Config['data'],
    backbone: { blocks: [1, 1, 1, 1], width: 4, inputSize: 32 },
    linearEval: {
      fractions: [0.5, 1],
      minImages: 2,
      // Augmented probe features (recomputed each epoch) and end to end: every read of the images is exercised.
      probe: { epochs: 2, batchSize: 8, lr: 0.3, weightDecay: 1e-6, augment: true },
      endToEnd: { epochs: 1, batchSize: 8, lr: 0.05, backboneLrScale: 0.1, weightDecay: 1e-6, augment: true },
      authorsProtocol: ['frozen'],
    } as Config['linearEval'],
  });

before(async () => {
  await initEngine('cpu');
  ensureNihPhantom({ dir: join(root, 'nih'), numImages: 60, imageSize: 32, seed: 3 });
});

test('the evaluation images streamed from the cache equal the in-memory ones; a streamed source makes no whole-set tensor', async () => {
  forgetDataFingerprints();
  const config = cfg('a', 2 ** 31);
  const nih = await openNih(config, { log: () => {} });
  const split = linearEvalSplit(nih, config.linearEval, makeRng(4).fork('split'));
  const mem = await openEvalImages(split, 32, { stream: false });
  const count = tf.memory().numTensors;
  const str = await openEvalImages(split, 32, { stream: true, cacheDir: join(root, 'a', 'cache') });
  assert.equal(tf.memory().numTensors, count);
  assert.equal(mem.streamed, false);
  assert.equal(str.streamed, true);
  assert.equal(str.count, split.paths.length);
  const idx = [...Array(str.count).keys()].reverse();
  const [x, y] = [mem.batch(idx), str.batch(idx)];
  // The phantom's PNGs are 8-bit at 32 px: exact through the 16-bit cache.
  assert.deepEqual(y.dataSync(), x.dataSync());
  tf.dispose([x, y]);
  mem.dispose();
  str.dispose();
});

test('runLinearEvaluation with every split streamed (inMemoryBytes 0) gives the same runs as in memory', async () => {
  forgetDataFingerprints();
  const inMemory = cfg('mem', 2 ** 31);
  const streamed = cfg('str', 0);
  const nih = await openNih(inMemory, { log: () => {} });
  const run = async (config: Config) => {
    const lines: string[] = [];
    const r = await runLinearEvaluation(config, nih, {
      inits: ['none'],
      modes: ['frozen', 'endToEnd'],
      rng: makeRng(4),
      log: (l) => lines.push(l),
    });
    return { r, lines };
  };
  const a = await run(inMemory);
  const b = await run(streamed);
  assert.ok(
    a.lines.some((l) => /held in memory/.test(l)),
    a.lines.join('\n'),
  );
  assert.ok(
    b.lines.some((l) => /streamed from the image cache/.test(l)),
    b.lines.join('\n'),
  );
  // Ours at 50 % and 100 % (frozen and end to end), the authors' frozen at both.
  assert.equal(b.r.runs.length, 6);
  assert.deepEqual(b.r.runs, a.r.runs);
});
