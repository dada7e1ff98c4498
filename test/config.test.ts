import assert from 'node:assert/strict';
import { VINDR_P_NORMAL } from '../src/data/phantom/findings.js';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectionSeeds } from '../src/train/detectionRun.js';
import { makeConfig, repoRoot } from '../src/config.js';

test('default profile is demo; CXR_PROFILE picks another', () => {
  assert.equal(makeConfig({ notebook: 't', env: {} }).profile, 'demo');
  assert.equal(makeConfig({ notebook: 't', env: { CXR_PROFILE: 'smoke' } }).profile, 'smoke');
  assert.equal(
    makeConfig({ notebook: 't', profile: 'paper', env: { CXR_PROFILE: 'smoke' } }).profile,
    'paper',
  );
});

test('an unknown profile or backend is a clear error', () => {
  assert.throws(
    () => makeConfig({ notebook: 't', env: { CXR_PROFILE: 'huge' } }),
    /CXR_PROFILE=huge is not a profile/,
  );
  assert.throws(() => makeConfig({ notebook: 't', env: { CXR_BACKEND: 'webgpu' } }), /CXR_BACKEND=webgpu/);
});

test('profiles grow: smoke < demo < paper, and paper is ResNet-50 at 224 on the real data', () => {
  const s = makeConfig({ notebook: 't', env: { CXR_PROFILE: 'smoke' } });
  const d = makeConfig({ notebook: 't', env: {} });
  const p = makeConfig({ notebook: 't', env: { CXR_PROFILE: 'paper' } });
  assert.ok(s.data.nihImages < d.data.nihImages);
  assert.ok(s.backbone.width < d.backbone.width && d.backbone.width < p.backbone.width);
  assert.deepEqual(p.backbone.blocks, [3, 4, 6, 3]);
  assert.equal(p.backbone.inputSize, 224);
  assert.equal(p.data.source, 'real');
  assert.equal(s.data.source, 'synthetic');
});

test('paths: smoke figures go to figures/smoke, demo to figures/; data is per profile', () => {
  const root = repoRoot();
  const s = makeConfig({ notebook: 't', env: { CXR_PROFILE: 'smoke' } });
  const d = makeConfig({ notebook: 't', env: {} });
  assert.equal(s.paths.figures, join(root, 'figures', 'smoke'));
  assert.equal(d.paths.figures, join(root, 'figures'));
  assert.notEqual(s.data.nihDir, d.data.nihDir);
});

test('environment: backend, seed and data directories', () => {
  const c = makeConfig({ notebook: 't', env: { CXR_BACKEND: 'cpu', CXR_SEED: '5', CXR_NIH_DIR: '/x/nih' } });
  assert.equal(c.backend, 'cpu');
  assert.equal(c.seed, 5);
  assert.deepEqual(c.seeds, [5]);
  assert.equal(c.data.nihDir, '/x/nih');
  assert.equal(c.data.source, 'real');
  assert.throws(() => makeConfig({ notebook: 't', env: { CXR_SEED: '1.5' } }), /not an integer/);
});

test('setting only CXR_NIH_DIR leaves VinDr on the phantom (and only CXR_VINDR_DIR leaves NIH on it)', () => {
  const n = makeConfig({ notebook: 't', profile: 'smoke', env: { CXR_NIH_DIR: '/x/nih' } });
  assert.equal(n.data.source, 'real');
  assert.equal(n.data.vindrSource, 'synthetic');
  assert.match(n.data.vindrDir, /synthetic-smoke[/\\]vindr$/);
  const v = makeConfig({ notebook: 't', profile: 'smoke', env: { CXR_VINDR_DIR: '/x/vindr' } });
  assert.equal(v.data.source, 'synthetic');
  assert.equal(v.data.vindrSource, 'real');
  assert.equal(v.data.vindrDir, '/x/vindr');
});

test('notebook overrides replace fields section by section and do not leak into other configs', () => {
  const c = makeConfig({ notebook: 't', env: {}, data: { nihImages: 123 }, backbone: { width: 4 } });
  assert.equal(c.data.nihImages, 123);
  assert.equal(c.data.imageSize, makeConfig({ notebook: 't', env: {} }).data.imageSize);
  assert.equal(c.backbone.width, 4);
  c.backbone.blocks[0] = 99;
  assert.notEqual(makeConfig({ notebook: 't', env: {} }).backbone.blocks[0], 99);
  assert.throws(() => makeConfig({ notebook: 't', env: {}, data: { nihImages: 0 } }), /nihImages/);
});

test("cam: the paper's final layer and the authors' layer3 side by side, the tool's box threshold; overrides merge, bad values are errors", () => {
  const c = makeConfig({ notebook: 't', env: {}, cam: { channelFraction: 0.25 } });
  assert.deepEqual(c.cam.layers, ['layer4', 'layer3']);
  assert.equal(c.cam.scoreThr, 0.3);
  assert.equal(c.cam.topK, 10);
  assert.equal(c.cam.channelFraction, 0.25);
  assert.equal(c.cam.iouThr, 0.5);
  assert.ok(c.cam.images >= 20, 'the demo scores at least 20 test images with boxes (issue #15 item 4)');
  assert.equal(makeConfig({ notebook: 't', profile: 'paper', env: {} }).cam.channelFraction, 0.5);
  assert.deepEqual(makeConfig({ notebook: 't', env: {}, cam: { layers: ['fpn.p4'] } }).cam.layers, [
    'fpn.p4',
  ]);
  assert.throws(() => makeConfig({ notebook: 't', env: {}, cam: { channelFraction: 0 } }), /channelFraction/);
  assert.throws(
    () => makeConfig({ notebook: 't', env: {}, cam: { layers: ['conv5' as never] } }),
    /cam.layers/,
  );
  assert.throws(() => makeConfig({ notebook: 't', env: {}, cam: { layers: [] } }), /cam.layers/);
});

test('paper: four detection seeds at 224 px and five at 640 px (Fig. 4 caption); demo runs one seed at its one size (16 epochs fill its time budget)', () => {
  const p = makeConfig({ notebook: 't', profile: 'paper', env: {} });
  assert.deepEqual(p.detection.inputSizes, [224, 640]);
  assert.deepEqual(detectionSeeds(p, 0), p.seeds.slice(0, 4));
  assert.equal(detectionSeeds(p, 1).length, 5);
  const d = makeConfig({ notebook: 't', profile: 'demo', env: {} });
  assert.deepEqual(detectionSeeds(d, 0), d.seeds.slice(0, 1));
});

test('demo: the phantom holds enough test images with boxes for Ablation-CAM (expected count with a margin)', () => {
  const d = makeConfig({ notebook: 't', profile: 'demo', env: {} });
  const expected = d.data.vindrImages * d.wbf.splitFractions[2] * (1 - VINDR_P_NORMAL);
  assert.ok(expected >= 1.25 * d.cam.images, `${expected.toFixed(1)} expected test images with boxes`);
});
