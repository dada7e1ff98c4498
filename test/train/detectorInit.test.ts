/**
 * The `none` detector starts as MMDetection's ResNet initialises itself (zero_init_residual): every
 * block's last BatchNorm weight 0, so at ResNet-50 depth the untrained RoI head still starts near
 * uniform (classification loss ≈ ln 15), which notebook 04's "method on one batch" checks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine } from '../../src/engine.js';
import * as cxr from '../../src/index.js';
import { loadBackbone } from '../../src/models/backbones.js';
import { disposeDetector } from '../../src/models/detectorBuild.js';
import type { ResNet } from '../../src/models/resnet.js';
import { rampImage } from '../helpers/tinyDetector.js';

const smoke = cxr.makeConfig({ profile: 'smoke', notebook: 'test', env: {} });
// The paper's backbone depth and head widths at a small input, so the test stays cheap.
const deep = cxr.makeConfig({
  profile: 'smoke',
  notebook: 'test',
  env: {},
  backbone: { ...smoke.backbone, blocks: [3, 4, 6, 3], width: 64 },
  detection: { ...smoke.detection, fpnChannels: 256, boxFcWidth: 1024 },
});

const bnWeights = (resnet: ResNet, suffix: string): number[] =>
  resnet.store
    .all()
    .filter((p) => p.name.endsWith(`${suffix}.weight`) && /^layer\d\.\d+\./.test(p.name))
    .flatMap((p) => [...(p.variable.dataSync() as Float32Array)]);

test("detection's `none` backbone: each block's last BatchNorm weight 0, the others 1; the linear evaluation's keeps 1", async () => {
  await initEngine(smoke.backend);
  const { detector, resnet } = cxr.buildDetector(deep, 'none', cxr.makeRng(3));
  const bn3 = bnWeights(resnet, 'bn3');
  assert.equal(bn3.length, 64 * 4 * (3 + 4 * 2 + 6 * 4 + 3 * 8));
  assert.ok(bn3.every((v) => v === 0));
  assert.ok(bnWeights(resnet, 'bn1').every((v) => v === 1));
  assert.ok(bnWeights(resnet, 'bn2').every((v) => v === 1));
  const plain = loadBackbone(deep, 'none', cxr.makeRng(3).fork('backbone'));
  assert.ok(bnWeights(plain, 'bn3').every((v) => v === 1));
  // The same random draws otherwise: the convolutions are equal.
  const conv = (r: ResNet) =>
    r.store
      .all()
      .find((p) => p.name === 'layer3.2.conv2.weight')!
      .variable.dataSync();
  assert.deepEqual([...conv(resnet)], [...conv(plain)]);
  plain.dispose();
  disposeDetector(resnet, detector);
});

test('the untrained `none` detector at ResNet-50 depth: head classification loss ≈ ln 15 (0.05 of it)', async () => {
  const tf = cxr.tf;
  await initEngine(smoke.backend);
  const side = 64;
  const images = rampImage(side);
  const targets = [{ boxes: [[10, 12, 40, 44]], labels: [3] }];
  const { detector, resnet } = cxr.buildDetector(deep, 'none', cxr.makeRng(5));
  const losses = detector.loss(images, targets, { rng: cxr.makeRng(6) });
  const roiCls = losses.roiCls.dataSync()[0]!;
  tf.dispose(Object.values(losses));
  images.dispose();
  disposeDetector(resnet, detector);
  const ln15 = Math.log(15);
  assert.ok(Math.abs(roiCls - ln15) <= 0.05 * ln15, `head classification ${roiCls} vs ln 15 = ${ln15}`);
});
