import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeConfig } from '../../src/config.js';
import { pretrainFingerprint } from '../../src/models/backbones.js';

test('pretrainFingerprint: the phantom folders (where the clone sits) do not change it; sizes, seed and settings do', () => {
  const base = makeConfig({ notebook: 't', profile: 'smoke', env: {} });
  const moved = makeConfig({ notebook: 't', profile: 'smoke', env: {}, data: { nihDir: '/elsewhere/nih', vindrDir: '/elsewhere/vindr' } });
  assert.equal(pretrainFingerprint(moved), pretrainFingerprint(base));
  assert.notEqual(pretrainFingerprint(makeConfig({ notebook: 't', profile: 'smoke', env: { CXR_SEED: '5' } })), pretrainFingerprint(base));
  assert.notEqual(pretrainFingerprint(makeConfig({ notebook: 't', profile: 'smoke', env: {}, data: { nihImages: 201 } })), pretrainFingerprint(base));
  assert.notEqual(pretrainFingerprint(makeConfig({ notebook: 't', profile: 'smoke', env: {}, pretrain: { lrWeights: 1 } })), pretrainFingerprint(base));
});
