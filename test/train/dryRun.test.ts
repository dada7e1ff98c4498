/**
 * The dry run (`npm run reproduce -- --profile paper --dry-run`): the paper's models on a phantom at the
 * real data sets' sizes, one or two steps per training; the stand-in ImageNet file; and the ImageNet
 * files each initialisation starts from (torchvision V1 / V2, Keras v1).
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DRY_RUN_IMAGENET_FILE, makeConfig, type Config } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import {
  backbonePath,
  btStartPath,
  loadBackbone,
  loadBackboneFile,
  makeBackbone,
  pretrainFingerprint,
} from '../../src/models/backbones.js';
import { ResNet } from '../../src/models/resnet.js';
import { standInImagenetTensors, writeStandInImagenetFile } from '../../src/models/standInWeights.js';
import { kerasLayerName, loadKerasResNetWeights, loadTorchResNetWeights } from '../../src/models/weights.js';
import { makeRng } from '../../src/rng.js';
import { imagenetInit } from '../../src/train/pretrainRun.js';
import { tempDir } from '../helpers.js';

before(async () => {
  await initEngine('cpu');
});

test("the paper dry run: the paper's models, a phantom at the real data sets' sizes, one or two steps per training, every split streamed, its own folders", () => {
  const paper = makeConfig({ notebook: 't', profile: 'paper', env: {} });
  // The user's data folders and weights are ignored: a dry run rehearses on its phantom.
  const c = makeConfig({
    notebook: 't',
    profile: 'paper',
    env: { CXR_DRY_RUN: '1', CXR_NIH_DIR: '/data/nih', CXR_IMAGENET_WEIGHTS: '/w/r50.safetensors' },
  });
  assert.equal(c.dryRun, true);
  assert.equal(paper.dryRun, false);
  assert.equal(c.data.source, 'synthetic');
  assert.equal(c.data.vindrSource, 'synthetic');
  assert.equal(c.data.nihDir, join(c.paths.root, 'data', 'synthetic-paper-dry-run', 'nih'));
  assert.equal(
    c.data.imagenetWeights,
    join(c.paths.root, 'checkpoints', 'paper-dry-run', DRY_RUN_IMAGENET_FILE),
  );
  assert.equal(c.paths.figures, join(c.paths.root, 'figures', 'paper-dry-run'));
  assert.equal(c.paths.results, join(c.paths.root, 'results', 'paper-dry-run'));
  // NIH's films are 1024 px; VinDr's DICOMs about 2,100–2,600 px.
  assert.equal(c.data.imageSize, 1024);
  assert.equal(c.data.vindrImageSize, 2600);
  assert.equal(c.data.inMemoryBytes, 0);
  // The paper's models, unchanged.
  assert.deepEqual(c.backbone, paper.backbone);
  assert.deepEqual(c.backbone.blocks, [3, 4, 6, 3]);
  assert.deepEqual(c.pretrain.projector, [8192, 8192, 8192]);
  assert.equal(c.pretrain.sourceSize, 224);
  assert.deepEqual(c.detection.inputSizes, [224, 640]);
  assert.equal(c.detection.fpnChannels, 256);
  assert.equal(c.detection.boxFcWidth, 1024);
  assert.equal(c.detection.rpnPreNmsTopNTrain, paper.detection.rpnPreNmsTopNTrain);
  // One or two steps per training; Barlow Twins through two micro-batches per view.
  assert.ok(c.pretrain.epochs * c.pretrain.maxStepsPerEpoch <= 2);
  assert.equal(c.pretrain.batchSize / c.pretrain.microBatch, 2);
  assert.equal(c.detection.epochs, 1);
  assert.equal(c.linearEval.probe.epochs, 1);
  assert.equal(c.linearEval.endToEnd.epochs, 1);
  assert.deepEqual(c.seeds, [c.seed]);
  assert.deepEqual(c.detection.seedsPerSize, [1, 1]);
  assert.throws(
    () => makeConfig({ notebook: 't', profile: 'paper', env: { CXR_DRY_RUN: 'yes' } }),
    /CXR_DRY_RUN=yes/,
  );
});

test('the stand-in ImageNet file is in torchvision layout: the importer loads every backbone tensor from it, and imagenetInit writes it once', async () => {
  const dir = tempDir();
  const backbone = { blocks: [1, 1, 1, 1] as [number, number, number, number], width: 4 };
  const t = standInImagenetTensors(backbone, 3);
  assert.deepEqual(t.get('conv1.weight')!.shape, [4, 3, 7, 7]); // torch OIHW, RGB
  assert.deepEqual(t.get('fc.weight')!.shape, [1000, 128]); // [out, in]: 4 × 8 × width features
  const config = makeConfig({
    notebook: 't',
    profile: 'smoke',
    dryRun: true,
    env: {},
    paths: { checkpoints: join(dir, 'ck') } as Config['paths'],
    backbone: { ...backbone, inputSize: 32 },
  });
  assert.equal(
    config.data.imagenetWeights,
    join(config.paths.root, 'checkpoints', 'smoke-dry-run', DRY_RUN_IMAGENET_FILE),
  );
  const c = { ...config, data: { ...config.data, imagenetWeights: join(dir, 'ck', DRY_RUN_IMAGENET_FILE) } };
  const before = backbonePath(c, 'imagenet');
  const r = await imagenetInit(c, makeRng(1));
  assert.equal(r.kind, 'file');
  assert.ok(r.kind === 'file' && r.btStart === null);
  assert.equal(
    backbonePath(c, 'imagenet'),
    before,
    "the stand-in's fingerprint does not depend on when it was written",
  );
  const m1 = statSync(c.data.imagenetWeights).mtimeMs;
  await imagenetInit(c, makeRng(1));
  assert.equal(statSync(c.data.imagenetWeights).mtimeMs, m1, 'written once');
  // Every backbone tensor came from the file (only the classifier is left out).
  assert.ok(r.kind === 'file' && r.report.ignored.every((n) => n.startsWith('fc.')), JSON.stringify(r));
  const direct = makeBackbone(c, makeRng(5));
  loadTorchResNetWeights(direct, c.data.imagenetWeights);
  const loaded = loadBackbone(c, 'imagenet', makeRng(6));
  const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const [a, b] = tf.tidy(() => [
    Array.from(direct.forward(x, { training: false }).pooled.dataSync()),
    Array.from(loaded.forward(x, { training: false }).pooled.dataSync()),
  ]);
  assert.deepEqual(b, a);
  [direct, loaded].forEach((m) => m.dispose());
  x.dispose();
});

test("two ImageNet files: the baseline from CXR_IMAGENET_WEIGHTS (IMAGENET1K_V1), Barlow Twins' start from CXR_IMAGENET_WEIGHTS_BT (V2)", async () => {
  const dir = tempDir();
  const backbone = { blocks: [1, 1, 1, 1] as [number, number, number, number], width: 4 };
  const [v1, v2] = [join(dir, 'v1.safetensors'), join(dir, 'v2.safetensors')];
  writeStandInImagenetFile(v1, backbone, 1);
  writeStandInImagenetFile(v2, backbone, 2);
  const cfg = (env: Record<string, string>): Config =>
    makeConfig({
      notebook: 't',
      profile: 'smoke',
      env,
      paths: { checkpoints: join(dir, 'ck') } as Config['paths'],
      backbone: { ...backbone, inputSize: 32 },
    });
  const one = cfg({ CXR_IMAGENET_WEIGHTS: v1 });
  const two = cfg({ CXR_IMAGENET_WEIGHTS: v1, CXR_IMAGENET_WEIGHTS_BT: v2 });
  assert.equal(btStartPath(one), null);
  assert.notEqual(
    pretrainFingerprint(two),
    pretrainFingerprint(one),
    'the Barlow Twins runs are keyed by their start',
  );
  assert.equal(backbonePath(two, 'imagenet'), backbonePath(one, 'imagenet'), 'the baseline is the same');
  const r = await imagenetInit(two, makeRng(1));
  assert.ok(r.kind === 'file' && r.btStart?.file === v2 && r.file === v1);
  const start = loadBackboneFile(two, btStartPath(two)!, makeRng(3));
  const base = loadBackbone(two, 'imagenet', makeRng(4));
  const fromV2 = new ResNet({ ...backbone, inChannels: 1 }, makeRng(5));
  loadTorchResNetWeights(fromV2, v2);
  const w = (m: ResNet) =>
    Array.from(
      m.store
        .all()
        .find((p) => p.name === 'layer1.0.conv1.weight')!
        .variable.dataSync(),
    );
  assert.deepEqual(w(start), w(fromV2));
  assert.notDeepEqual(w(base), w(fromV2));
  [start, base, fromV2].forEach((m) => m.dispose());
  assert.ok(existsSync(btStartPath(two)!));
});

test("a Keras .h5 ImageNet file builds every backbone as ResNet v1 (Keras's architecture); torchvision files keep v1.5", () => {
  const keras = makeConfig({
    notebook: 't',
    profile: 'smoke',
    env: { CXR_IMAGENET_WEIGHTS: '/w/resnet50_notop.h5' },
  });
  const torch = makeConfig({
    notebook: 't',
    profile: 'smoke',
    env: { CXR_IMAGENET_WEIGHTS: '/w/r50.safetensors' },
  });
  assert.equal(keras.backbone.variant, 'v1');
  assert.equal(torch.backbone.variant, undefined);
  const k = makeBackbone(keras, makeRng(1));
  const t = makeBackbone(torch, makeRng(1));
  assert.equal(k.options.variant, 'v1');
  assert.equal(t.options.variant, 'v1.5');
  [k, t].forEach((m) => m.dispose());
});

test("the Keras route works end to end: a .h5 file through imagenetInit gives the v1 'imagenet' backbone later notebooks load", async () => {
  const h5 = (await import('h5wasm/node')).default;
  await h5.ready;
  const dir = tempDir();
  const blocks: [number, number, number, number] = [1, 1, 1, 1];
  // An RGB Keras ResNet50-style file (v1), written as keras-applications lays it out.
  const rgb = new ResNet({ blocks, width: 4, inChannels: 3, variant: 'v1' }, makeRng(8));
  const file = join(dir, 'resnet50_notop.h5');
  const f = new h5.File(file, 'w');
  const fields: Record<string, string> = {
    weight: 'gamma:0',
    bias: 'beta:0',
    running_mean: 'moving_mean:0',
    running_var: 'moving_variance:0',
  };
  for (const p of rgb.store.all()) {
    const dot = p.name.lastIndexOf('.');
    const layer = kerasLayerName(p.name.slice(0, dot));
    if (!f.keys().includes(layer)) f.create_group(layer);
    const g = f.get(layer) as InstanceType<typeof h5.Group>;
    if (!g.keys().includes(layer)) g.create_group(layer);
    const inner = f.get(`${layer}/${layer}`) as InstanceType<typeof h5.Group>;
    const name = layer.endsWith('_conv') ? 'kernel:0' : fields[p.name.slice(dot + 1)]!;
    inner.create_dataset({
      name,
      data: Float32Array.from(p.variable.dataSync()),
      shape: [...p.variable.shape],
      dtype: '<f',
    });
  }
  f.close();
  rgb.dispose();
  const config = makeConfig({
    notebook: 't',
    profile: 'smoke',
    env: { CXR_IMAGENET_WEIGHTS: file },
    paths: { checkpoints: join(dir, 'ck') } as Config['paths'],
    backbone: { blocks, width: 4, inputSize: 32 },
  });
  const r = await imagenetInit(config, makeRng(1));
  assert.ok(r.kind === 'file' && r.report.notes.some((n) => /caffe/i.test(n)), JSON.stringify(r));
  const loaded = loadBackbone(config, 'imagenet', makeRng(2));
  assert.equal(loaded.options.variant, 'v1');
  const direct = new ResNet({ blocks, width: 4, inChannels: 1, variant: 'v1' }, makeRng(3));
  await loadKerasResNetWeights(direct, file);
  const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const [a, b] = tf.tidy(() => [
    Array.from(direct.forward(x, { training: false }).pooled.dataSync()),
    Array.from(loaded.forward(x, { training: false }).pooled.dataSync()),
  ]);
  assert.deepEqual(b, a);
  [direct, loaded].forEach((m) => m.dispose());
  x.dispose();
});
