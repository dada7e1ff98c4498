/** Notebook 05's runs: each finished classifier is kept and reused; a diverged one stops, named. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { makeConfig, type Config } from '../../src/config.js';
import { forgetDataFingerprints } from '../../src/data/dataCache.js';
import { openNih, openVindr } from '../../src/data/datasets.js';
import { ensureNihPhantom, ensureVindrPhantom } from '../../src/data/synthetic.js';
import { initEngine } from '../../src/engine.js';
import { writeFileAtomic } from '../../src/io.js';
import { backbonePath } from '../../src/models/backbones.js';
import { makeRng } from '../../src/rng.js';
import { detectionRunPaths } from '../../src/train/detectionRun.js';
import { linearEvalRunPath, runLinearEvaluation } from '../../src/train/linearEval.js';
import { DIVERGED_BCE, DivergedError, fitLinearProbe } from '../../src/train/linearProbe.js';
import { tempDir } from '../helpers.js';

const root = tempDir('cxr-le-');
const cfg = (extra: Partial<Parameters<typeof makeConfig>[0]> = {}): Config =>
  makeConfig({
    notebook: 't',
    profile: 'smoke',
    env: { CXR_NIH_DIR: join(root, 'nih'), CXR_VINDR_DIR: join(root, 'vindr'), CXR_SEED: '1' },
    paths: {
      results: join(root, 'results'),
      checkpoints: join(root, 'ck'),
      figures: join(root, 'fig'),
    } as Config['paths'],
    backbone: { blocks: [1, 1, 1, 1], width: 4, inputSize: 32 },
    ...extra,
    linearEval: {
      fractions: [0.5, 1],
      minImages: 2,
      probe: { epochs: 2, batchSize: 8, lr: 0.3, weightDecay: 1e-6, augment: false },
      authorsProtocol: ['frozen'],
      ...extra.linearEval,
    },
  });

before(async () => {
  await initEngine('cpu');
  ensureNihPhantom({ dir: join(root, 'nih'), numImages: 60, imageSize: 32, seed: 3 });
  ensureVindrPhantom({ dir: join(root, 'vindr'), numImages: 12, imageSize: 48, seed: 3 });
});

test('each finished classifier is saved; a rerun reads it back ("already done") and recomputes only what is missing', async () => {
  forgetDataFingerprints();
  const config = cfg();
  const nih = await openNih(config, { log: () => {} });
  const first: string[] = [];
  const a = await runLinearEvaluation(config, nih, {
    inits: ['none'],
    modes: ['frozen'],
    rng: makeRng(4),
    log: (l) => first.push(l),
  });
  // Our protocol and the authors' (frozen only here), at 50 % and 100 %.
  assert.deepEqual(
    a.runs.map((r) => `${r.protocol}:${r.fraction}`),
    ['ours:0.5', 'ours:1', 'authors:0.5', 'authors:1'],
  );
  const paths = a.runs.map((r) =>
    linearEvalRunPath(config, 'none', 'frozen', r.protocol, r.fraction, 1, r.subset),
  );
  assert.equal(new Set(paths).size, 4);
  assert.ok(paths.every((p) => existsSync(p)));
  rmSync(paths[3]!); // as if stopped before the last classifier
  const second: string[] = [];
  const b = await runLinearEvaluation(config, nih, {
    inits: ['none'],
    modes: ['frozen'],
    rng: makeRng(4),
    log: (l) => second.push(l),
  });
  assert.deepEqual(b.runs, a.runs);
  assert.equal(second.filter((l) => /already done/.test(l)).length, 3);
  assert.equal(second.filter((l) => /test AUC/.test(l)).length, 1);
});

test('a diverging classifier stops naming backbone, fraction, mode, seed and epoch; no AUC is reported', async () => {
  forgetDataFingerprints();
  const config = cfg({
    linearEval: {
      probe: { epochs: 2, batchSize: 8, lr: 1e9, weightDecay: 1e-6, augment: false },
      authorsProtocol: ['frozen'],
    } as Config['linearEval'],
  });
  const nih = await openNih(config, { log: () => {} });
  const runsDir = join(root, 'results', '05_linear_evaluation', 'runs');
  const kept = existsSync(runsDir) ? readdirSync(runsDir).sort() : [];
  await assert.rejects(
    runLinearEvaluation(config, nih, { inits: ['none'], modes: ['frozen'], rng: makeRng(4), log: () => {} }),
    /^Error: linear evaluation diverged: backbone none, fraction 50%, mode frozen, seed 1, epoch \d+: mean training loss .*Lower linearEval\.probe\.lr \(1000000000\)/,
  );
  assert.deepEqual(existsSync(runsDir) ? readdirSync(runsDir).sort() : [], kept); // nothing saved for the diverged run
  // The guard itself: a finite but huge loss is divergence too.
  assert.throws(() => {
    throw new DivergedError(3, 2 * DIVERGED_BCE);
  }, /epoch 3: mean training loss .* is over 6\.93/);
  void fitLinearProbe;
});

test('run keys follow the data: one changed NIH image reruns pretraining, evaluation and detection; one changed DICOM reruns detection only', async () => {
  forgetDataFingerprints();
  const c = cfg();
  const before = {
    bt: backbonePath(c, 'bt'),
    le: linearEvalRunPath(c, 'bt', 'frozen', 'ours', 1, 1, 'same-subset'),
    det: detectionRunPaths(c, 'bt', 96, 1).result,
  };
  const png = readdirSync(join(root, 'nih', 'images')).sort()[0]!;
  writeFileAtomic(
    join(root, 'nih', 'images', png),
    (await import('node:fs')).readFileSync(
      join(root, 'nih', 'images', readdirSync(join(root, 'nih', 'images')).sort()[1]!),
    ),
  );
  forgetDataFingerprints();
  const afterNih = {
    bt: backbonePath(c, 'bt'),
    le: linearEvalRunPath(c, 'bt', 'frozen', 'ours', 1, 1, 'same-subset'),
    det: detectionRunPaths(c, 'bt', 96, 1).result,
  };
  assert.notEqual(afterNih.bt, before.bt);
  assert.notEqual(afterNih.le, before.le);
  assert.notEqual(afterNih.det, before.det);
  const vindr = await openVindr(c, { log: () => {} });
  const dcm = vindr.images[0]!.path!;
  const bytes = Buffer.from((await import('node:fs')).readFileSync(dcm));
  bytes[bytes.length - 1] ^= 1; // one pixel's low bit
  writeFileAtomic(dcm, bytes);
  forgetDataFingerprints();
  assert.equal(backbonePath(c, 'bt'), afterNih.bt);
  assert.equal(linearEvalRunPath(c, 'bt', 'frozen', 'ours', 1, 1, 'same-subset'), afterNih.le);
  assert.notEqual(detectionRunPaths(c, 'bt', 96, 1).result, afterNih.det);
});
