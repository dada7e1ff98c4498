import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeConfig } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { writeJsonAtomic } from '../src/io.js';
import { loadResults, startRun, type Results } from '../src/manifest.js';
import { tempDir } from './helpers.js';

test('a results file carries profile, seed, config, backend, versions, commit and wall time', async () => {
  await initEngine('cpu');
  const dir = tempDir();
  const config = makeConfig({ notebook: '99_test', profile: 'smoke', env: {}, paths: { results: dir } });
  const run = startRun(config);
  const path = run.save('thing', { answer: 42 });
  assert.equal(path, join(dir, '99_test', 'thing.json'));
  const r = JSON.parse(readFileSync(path, 'utf8')) as Results<{ answer: number }>;
  assert.equal(r.data.answer, 42);
  assert.equal(r.manifest.profile, 'smoke');
  assert.equal(r.manifest.seed, config.seed);
  assert.equal(r.manifest.notebook, '99_test');
  assert.deepEqual(r.manifest.backend, { name: 'cpu', path: 'tfjs cpu (pure JavaScript)' });
  assert.match(r.manifest.versions['@tensorflow/tfjs'] ?? '', /^\d+\.\d+\.\d+/);
  assert.deepEqual(r.manifest.config.backbone, config.backbone);
  assert.ok(r.manifest.wallSeconds >= 0);
  // This test runs inside the repository, so the commit is known.
  assert.match(r.manifest.git?.commit ?? '', /^[0-9a-f]{40}$/);
  assert.deepEqual(loadResults(config, '99_test', 'thing').data, { answer: 42 });
});

test('loadResults says which notebook to run first', () => {
  const config = makeConfig({ notebook: 'x', profile: 'smoke', env: {}, paths: { results: tempDir() } });
  assert.throws(
    () => loadResults(config, '03_pretraining', 'checkpoints'),
    /run notebook 03_pretraining first/,
  );
});

test('atomic writes leave no temporary files', () => {
  const dir = tempDir();
  writeJsonAtomic(join(dir, 'a', 'b.json'), { x: 1 });
  assert.deepEqual(readdirSync(join(dir, 'a')), ['b.json']);
});
