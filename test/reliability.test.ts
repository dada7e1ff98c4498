/**
 * Reliability (issue #21): a corrupted copy of a small phantom, several faults at once, runs through
 * the loaders and the data paths of notebooks 01–05. Each planted fault is reported once, by kind,
 * naming its file; odd PNG bit depths decode to the same film; nothing throws.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeConfig, type Config } from '../src/config.js';
import { cohortTable, labelDistribution } from '../src/data/audit.js';
import { forgetDataFingerprints } from '../src/data/dataCache.js';
import { issueRows, issueTable, openNih, openVindr } from '../src/data/datasets.js';
import { fuseVindr, fusionExample, splitVindr } from '../src/data/fusion.js';
import { writeFusedSplit } from '../src/data/annotations.js';
import { readImage } from '../src/data/images.js';
import type { NihDataset } from '../src/data/nih.js';
import { decodePng } from '../src/data/png.js';
import { ensureNihPhantom, ensureVindrPhantom } from '../src/data/synthetic.js';
import type { VindrDataset } from '../src/data/vindr.js';
import { classExamples, imageStatistics, readerTable, vindrInstanceCounts } from '../src/data/vindrAudit.js';
import { initEngine } from '../src/engine.js';
import { makeRng } from '../src/rng.js';
import { detectionSplits, loadDetectionSet } from '../src/train/detectionRun.js';
import { linearEvalSplit, loadEvalImages } from '../src/train/linearEval.js';
import { nihTrainSource } from '../src/train/pretrainRun.js';
import { corruptPhantom, type PlantedFault } from './helpers/corruptPhantom.js';
import { tempDir } from './helpers.js';

// Made here, not in before(): a folder from tempDir() inside a hook is removed when the hook ends.
const root = tempDir('cxr-reliability-');
let faults: PlantedFault[];
let config: Config;
let nih: NihDataset;
let vindr: VindrDataset;
const printed: string[] = [];

before(async () => {
  await initEngine('cpu');
  ensureNihPhantom({ dir: join(root, 'clean', 'nih'), numImages: 60, imageSize: 32, seed: 5 });
  ensureVindrPhantom({ dir: join(root, 'clean', 'vindr'), numImages: 30, imageSize: 48, seed: 5 });
  faults = corruptPhantom(join(root, 'clean'), join(root, 'bad'));
  config = makeConfig({
    notebook: 'reliability',
    profile: 'smoke',
    env: { CXR_NIH_DIR: join(root, 'bad', 'nih'), CXR_VINDR_DIR: join(root, 'bad', 'vindr') },
    paths: {
      results: join(root, 'results'),
      checkpoints: join(root, 'ck'),
      figures: join(root, 'fig'),
    } as Config['paths'],
    backbone: { blocks: [1, 1, 1, 1], width: 4, inputSize: 32 },
    detection: { inputSizes: [48] },
    linearEval: { minImages: 2 },
  });
  forgetDataFingerprints();
  nih = await openNih(config, { log: (l) => printed.push(l) });
  vindr = await openVindr(config, { log: (l) => printed.push(l) });
});

test('every planted fault is reported exactly once, by kind, naming its file or image; nothing else is', () => {
  const issues = [...nih.log.issues, ...vindr.log.issues];
  for (const f of faults.filter((x) => x.kind !== null)) {
    const hits = issues.filter((i) => i.kind === f.kind && (i.file === f.file || i.reason.includes(f.id)));
    assert.equal(
      hits.length,
      1,
      `${f.kind} ${f.id}: reported ${hits.length} times (${JSON.stringify(hits)})`,
    );
  }
  const planted = new Set(faults.flatMap((f) => (f.kind ? [f.kind] : [])));
  const unexpected = issues.filter((i) => !planted.has(i.kind));
  assert.deepEqual(unexpected, []);
  assert.equal(issues.length, faults.filter((f) => f.kind !== null).length);
  // Odd depths are no fault: not reported, still used.
  for (const f of faults.filter((x) => x.kind === null)) {
    assert.ok(!issues.some((i) => i.file === f.file), `${f.file} was reported`);
    assert.equal(nih.imagePaths.get(f.id), f.file);
  }
});

test('odd PNG bit depths (4-bit, 2-bit Adam7, 16-bit RGB, 4-bit palette) decode to the clean film within their precision', async () => {
  for (const f of faults.filter((x) => x.kind === null)) {
    const clean = decodePng(readFileSync(join(root, 'clean', 'nih', 'images', f.id)));
    const odd = await readImage(f.file);
    // The 2-bit copy keeps 2 bits of each value, so it may be up to 85/255 off; the others less.
    let worst = 0;
    clean.pixels.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v / 255 - odd.data[i]!));
    });
    assert.ok(worst <= 86 / 255, `${f.file}: off by ${worst}`);
    const maxClean = Math.max(...clean.pixels) / 255;
    const maxOdd = Math.max(...odd.data);
    assert.ok(maxOdd > maxClean - 86 / 255, `${f.file}: max ${maxOdd} vs clean ${maxClean} (not near black)`);
  }
});

test('each notebook prints how many images it excluded and why', () => {
  const nihLine = printed.find((l) => l.startsWith('NIH: '))!;
  assert.match(
    nihLine,
    /^NIH: 56 of 60 listed images usable; 4 excluded \(1 empty-image, 1 name-case-mismatch, 1 not-an-image, 1 truncated-image\); other rejected input: 1 split-overlap/,
  );
  const vLine = printed.find((l) => l.startsWith('VinDr: '))!;
  assert.match(
    vLine,
    /^VinDr: 26 of 30 listed images usable; 4 excluded \(1 bad-dicom, 1 missing-image, 1 truncated-image, 1 unsupported-transfer-syntax\)/,
  );
});

test('the data paths of notebooks 01–05 run on the corrupted copy without throwing, and no excluded image reaches them', async () => {
  const bad = new Set(faults.filter((f) => f.kind && f.kind !== 'split-overlap').map((f) => f.id));
  const overlap = faults.find((f) => f.kind === 'split-overlap')!.id;
  // 01: the audit's tables, figures' data and the rejected-input report.
  labelDistribution(nih.records);
  cohortTable(nih.records, nih.trainVal, nih.test);
  vindrInstanceCounts(vindr.images);
  readerTable(vindr.images);
  const stats = await imageStatistics([...nih.imagePaths.values()], 'NIH', 100);
  assert.equal(stats.length, 56);
  await classExamples(vindr.images, 32);
  const rows = issueRows(nih.log).rows.concat(issueRows(vindr.log).rows);
  for (const f of faults.filter((x) => x.kind))
    assert.ok(
      rows.some((r) => r[2] === f.kind),
      f.kind!,
    );
  assert.equal(issueTable(nih.log).rows.length, 5);
  // 02: fusion and the split exclude the bad DICOMs.
  const fusion = fuseVindr(vindr.images, config.wbf);
  assert.ok(fusionExample(vindr.images, fusion.images));
  const split = splitVindr(fusion.images, config.wbf.splitFractions, makeRng(1));
  const byId = new Map(fusion.images.map((im) => [im.imageId, im]));
  for (const s of ['train', 'val', 'test'] as const) {
    for (const id of split[s]) assert.ok(!bad.has(id), `${id} in the ${s} split`);
    writeFusedSplit(
      config.paths.results,
      s,
      split[s].map((id) => byId.get(id)!),
    );
  }
  // 03: pretraining images are train_val minus the excluded and the overlap.
  const source = await nihTrainSource(nih, 32);
  const trainVal = readFileSync(join(root, 'bad', 'nih', 'train_val_list.txt'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const expected = trainVal.filter((id) => !bad.has(id) && id !== overlap).length;
  assert.equal(source.count, expected);
  assert.ok(!nih.trainVal.has(overlap) && nih.test.has(overlap));
  source.dispose();
  // 04: the detection sets load.
  const det = detectionSplits(config, vindr);
  const set = await loadDetectionSet(det.test, 48);
  assert.equal(set.images.shape[0], det.test.length);
  tf.dispose(set.images);
  // 05: the evaluation split holds no excluded image, and the overlap image is evaluated (test list).
  const ev = linearEvalSplit(nih, config.linearEval, makeRng(2));
  for (const id of ev.ids) assert.ok(!bad.has(id), id);
  assert.ok(ev.ids.includes(overlap));
  const images = await loadEvalImages(ev, 32);
  assert.equal(images.shape[0], ev.ids.length);
  images.dispose();
});

test('a second open reads the decode results from the cache: same report, no decoding', async () => {
  const lines: string[] = [];
  const again = await openNih(config, { log: (l) => lines.push(l) });
  assert.deepEqual(again.log.counts(), nih.log.counts());
  assert.ok(!lines.some((l) => /decoded \d+ new/.test(l)));
});
