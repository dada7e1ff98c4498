import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import {
  btStepMemory,
  describeBtMemory,
  measureActivationBytes,
  tapedForwardBytes,
} from '../../src/models/memoryPlan.js';
import { ResNet } from '../../src/models/resnet.js';

before(async () => {
  await initEngine('cpu');
});

test('taped activation bytes are measured per image: linear in the batch, growing with the input area', () => {
  const net = new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1 }, makeRng(1));
  const small = measureActivationBytes(net, 32);
  const big = measureActivationBytes(net, 64);
  // At least the stem's conv output (16x16x4 floats) and every stage output are kept per image.
  const stageOutputs = (8 * 8 * 16 + 4 * 4 * 32 + 2 * 2 * 64 + 1 * 1 * 128) * 4;
  assert.ok(small.perImage > 16 * 16 * 4 * 4 + stageOutputs, `one image keeps ${small.perImage} bytes`);
  // The per-forward part does not depend on the image size; the per-image part grows with its area.
  assert.equal(big.fixed, small.fixed);
  assert.ok(
    big.perImage / small.perImage > 3.5 && big.perImage / small.perImage < 4.5,
    `4x the area keeps ${big.perImage / small.perImage}x the bytes`,
  );
  assert.equal(
    tapedForwardBytes(net, 32, 3),
    3 * small.perImage + small.fixed,
    'three images: linear in the batch',
  );
  net.dispose();
});

test('btStepMemory adds up its parts by hand', () => {
  const p = btStepMemory({
    parameters: 1000,
    activation: { perImage: 1e6, fixed: 500 },
    batchSize: 8,
    microBatch: 2,
    inputSize: 4,
    inChannels: 1,
    features: 16,
    projector: [10, 10],
  });
  assert.equal(p.stateBytes, 3 * 1000 * 4);
  assert.equal(p.backboneBytes, 2 * 1e6 + 500);
  // per sample per view: 16 features + 3·10 (first layer: linear, BN, ReLU) + 2·10 (last linear, standardised)
  assert.equal(p.projectorBytes, (2 * 8 * (16 + 30 + 20) + 2 * 100) * 4);
  assert.equal(p.inputBytes, 2 * 8 * 16 * 4);
  assert.equal(p.total, p.stateBytes + p.backboneBytes + p.projectorBytes + p.inputBytes);
  assert.equal(
    btStepMemory({
      parameters: 0,
      activation: { perImage: 10, fixed: 0 },
      batchSize: 8,
      microBatch: 0,
      inputSize: 1,
      inChannels: 1,
      features: 1,
      projector: [1],
    }).backboneBytes,
    160,
    'whole batch: both views taped at once',
  );
  assert.match(
    describeBtMemory(p, 8, 2),
    /^memory plan \(micro-batches of 2 of 8 per view\): ~0\.\d{3} GiB per step/,
  );
});
