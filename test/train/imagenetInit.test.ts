import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import { loadBackbone } from '../../src/models/backbones.js';
import { ResNet } from '../../src/models/resnet.js';
import { encodeSafetensors, type RawTensor } from '../../src/models/safetensors.js';
import { loadTorchResNetWeights, transposeRaw } from '../../src/models/weights.js';
import { makeRng } from '../../src/rng.js';
import { imagenetInit } from '../../src/train/pretrainRun.js';
import { tempDir } from '../helpers.js';

before(async () => {
  await initEngine('cpu');
});

test('imagenetInit: a user weight file (torch layout, RGB) becomes the imagenet backbone the later notebooks load', async () => {
  const dir = tempDir();
  const blocks: [number, number, number, number] = [1, 1, 1, 1];
  // An "ImageNet" RGB ResNet with a classifier, written as torchvision's state_dict would be.
  const rgb = new ResNet({ blocks, width: 4, inChannels: 3, numClasses: 7 }, makeRng(3));
  const tensors = new Map<string, RawTensor>();
  for (const p of rgb.store.all()) {
    let t: RawTensor = { shape: [...p.variable.shape], data: p.variable.dataSync() as Float32Array };
    if (t.shape.length === 4) t = transposeRaw(t, [3, 2, 0, 1]);
    if (t.shape.length === 2) t = transposeRaw(t, [1, 0]);
    tensors.set(p.name, t);
  }
  const file = join(dir, 'resnet.safetensors');
  writeFileSync(file, encodeSafetensors(tensors));

  const config = makeConfig({
    notebook: 'test',
    profile: 'smoke',
    env: { CXR_IMAGENET_WEIGHTS: file },
    paths: { checkpoints: join(dir, 'ck') },
    backbone: { blocks, width: 4, inputSize: 32 },
  });
  assert.equal(config.data.imagenetWeights, file);
  const r = await imagenetInit(config, makeRng(1));
  assert.equal(r.kind, 'file');
  assert.ok(
    r.kind === 'file' && r.report.notes.some((n) => /summed over the file's 3 input channels/.test(n)),
  );

  assert.ok(
    r.kind === 'file' && r.report.notes.some((n) => /input normalisation folded into conv1 and bn1/.test(n)),
  );

  // The backbone the later notebooks load is exactly what the importer makes of the file (ImageNet's
  // normalisation folded in; its parity with torchvision is importParity.test.ts's job).
  const grey = loadBackbone(config, 'imagenet', makeRng(9));
  const direct = new ResNet({ blocks, width: 4, inChannels: 1 }, makeRng(10));
  loadTorchResNetWeights(direct, file);
  const g = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const [a, b] = tf.tidy(() => [
    direct.forward(g, { training: false }).pooled.dataSync() as Float32Array,
    grey.forward(g, { training: false }).pooled.dataSync() as Float32Array,
  ]);
  assert.deepEqual(Array.from(b), Array.from(a));
  direct.dispose();
  tf.dispose(g);
  rgb.dispose();
  grey.dispose();
});

test('imagenetInit: the paper profile refuses to fall back to the proxy, and a missing file is named', async () => {
  const dir = tempDir();
  const paper = makeConfig({ notebook: 'test', profile: 'paper', env: {}, paths: { checkpoints: dir } });
  await assert.rejects(imagenetInit(paper, makeRng(1)), /CXR_IMAGENET_WEIGHTS/);
  const missing = makeConfig({
    notebook: 'test',
    profile: 'smoke',
    env: { CXR_IMAGENET_WEIGHTS: join(dir, 'nope.safetensors') },
    paths: { checkpoints: dir },
  });
  await assert.rejects(imagenetInit(missing, makeRng(1)), /nope\.safetensors: no such file/);
});
