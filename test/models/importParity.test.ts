/**
 * Issue #17 item 1: an imported torchvision ResNet-50 reproduces torchvision's own outputs. The peer
 * (test/fixtures/torchvision_resnet/make_fixture.py, torch 1.13.1 / torchvision 0.14.1) saved a
 * ResNet-50-topology model (stem width 4) with random weights and BatchNorm statistics, and its eval-mode
 * activations on one grey image replicated to RGB and normalised with ImageNet's mean and std. We import
 * the state_dict into a 1-channel model (the normalisation folded into conv1/bn1) and feed the raw grey
 * image in [0, 1].
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { ResNet } from '../../src/models/resnet.js';
import { decodeSafetensors, type RawTensor } from '../../src/models/safetensors.js';
import {
  KERAS_CAFFE,
  TORCHVISION_IMAGENET,
  foldInputNormalisation,
  loadTorchResNetWeights,
} from '../../src/models/weights.js';

before(async () => {
  await initEngine('cpu');
});

function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'test', 'fixtures', 'torchvision_resnet');
}

const DIR = fixtureDir();
const OUT = decodeSafetensors(readFileSync(join(DIR, 'outputs.safetensors')), 'outputs.safetensors').tensors;

function ours(): {
  model: ResNet;
  notes: string[];
  stem: Float32Array;
  layers: Float32Array[];
  logits: Float32Array;
} {
  const model = new ResNet({ blocks: [3, 4, 6, 3], width: 4, inChannels: 1, numClasses: 10 }, makeRng(1));
  const report = loadTorchResNetWeights(model, join(DIR, 'weights.safetensors'));
  const input = OUT.get('input')!;
  const arrays: Float32Array[] = [];
  tf.tidy(() => {
    const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    const f = model.forward(x, { training: false });
    // The stem alone (conv1-bn1-relu-maxpool), as stagesFrom(…, 0) receives it.
    const s = model.store;
    const bn1 = tf.relu(
      tf.batchNorm(
        tf.conv2d(x, s.get('conv1.weight') as tf.Tensor4D, 2, 3),
        s.get('bn1.running_mean'),
        s.get('bn1.running_var'),
        s.get('bn1.bias'),
        s.get('bn1.weight'),
        1e-5,
      ),
    );
    const stem = tf.maxPool(bn1 as tf.Tensor4D, 3, 2, 1);
    for (const t of [stem, f.c2, f.c3, f.c4, f.c5, f.logits!]) arrays.push(t.dataSync() as Float32Array);
  });
  return { model, notes: report.notes, stem: arrays[0]!, layers: arrays.slice(1, 5), logits: arrays[5]! };
}

/** Largest |a − b| / (1 + |b|) over the NHWC positions `keep(y, x)` accepts. */
function maxErr(
  a: Float32Array,
  ref: RawTensor,
  keep: (y: number, x: number) => boolean = () => true,
): number {
  const [, h, w, c] = ref.shape as [number, number, number, number];
  assert.equal(a.length, ref.data.length);
  let worst = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (!keep(y, x)) continue;
      for (let k = 0; k < c; k++) {
        const i = (y * w + x) * c + k;
        worst = Math.max(worst, Math.abs(a[i]! - ref.data[i]!) / (1 + Math.abs(ref.data[i]!)));
      }
    }
  return worst;
}

test('torchvision import: with conv1 padded in raw pixel space, every stage and the logits match torchvision exactly (float32)', () => {
  const r = ours();
  assert.ok(r.notes.some((n) => /input normalisation folded/.test(n)));
  ['layer1', 'layer2', 'layer3', 'layer4'].forEach((name, i) => {
    const e = maxErr(r.layers[i]!, OUT.get(`pad0.${name}`)!);
    assert.ok(e < 1e-4, `${name}: relative error ${e}`);
  });
  const ref = OUT.get('pad0.logits')!.data;
  r.logits.forEach((v, i) =>
    assert.ok(Math.abs(v - ref[i]!) < 1e-4 * (1 + Math.abs(ref[i]!)), `logit ${i}: ${v} vs ${ref[i]}`),
  );
  r.model.dispose();
});

test('torchvision import: against torchvision as it is (normalised image zero-padded), the stem and layer1 agree away from the border and differ on it', () => {
  const r = ours();
  // 96 px: conv1's output rows 0-1 and 47 reach into the padding; maxpool (3x3, s2, p1) spreads that to
  // rows 0-1 and 23 of its 24, and layer1's three 3x3 convs by one row each: rows 0-4 and 20-23.
  const interiorStem = (y: number, x: number): boolean => y >= 2 && y <= 22 && x >= 2 && x <= 22;
  const interior1 = (y: number, x: number): boolean => y >= 5 && y <= 19 && x >= 5 && x <= 19;
  const eStem = maxErr(r.stem, OUT.get('tv.stem')!, interiorStem);
  const e1 = maxErr(r.layers[0]!, OUT.get('tv.layer1')!, interior1);
  assert.ok(eStem < 1e-5, `stem interior: ${eStem}`);
  assert.ok(e1 < 1e-4, `layer1 interior: ${e1}`);
  // The border is where the two padding conventions part (so the test above is not vacuous).
  const border = maxErr(r.layers[0]!, OUT.get('tv.layer1')!, (y, x) => !interior1(y, x));
  assert.ok(border > 1e-2, `layer1 border differs by ${border}`);
  r.model.dispose();
});

test('without the fold (pixels in [0, 1] fed to ImageNet filters) the network is far from torchvision: the bias issue #17 found', () => {
  const model = new ResNet({ blocks: [3, 4, 6, 3], width: 4, inChannels: 1, numClasses: 10 }, makeRng(1));
  loadTorchResNetWeights(model, join(DIR, 'weights.safetensors'), { inputNorm: null });
  const input = OUT.get('input')!;
  const l1 = tf.tidy(
    () =>
      model
        .forward(tf.tensor4d(input.data, input.shape as [number, number, number, number]), {
          training: false,
        })
        .c2.dataSync() as Float32Array,
  );
  assert.ok(maxErr(l1, OUT.get('tv.layer1')!, (y, x) => y >= 5 && y <= 19 && x >= 5 && x <= 19) > 0.1);
  model.dispose();
});

test('foldInputNormalisation: hand-computed 1x1 kernel, grey and 3-channel targets, torchvision and Keras maps', () => {
  // One output channel, weights 1, 2, 3 on R, G, B. Keras: 255·x − mean → kernel 255·(1+2+3),
  // bias −(1·103.939 + 2·116.779 + 3·123.68).
  const conv: RawTensor = { shape: [1, 1, 3, 1], data: Float32Array.from([1, 2, 3]) };
  const k = foldInputNormalisation(conv, KERAS_CAFFE, 1);
  assert.deepEqual(k.kernel.shape, [1, 1, 1, 1]);
  assert.ok(Math.abs(k.kernel.data[0]! - 255 * 6) < 1e-3);
  assert.ok(Math.abs(k.bias[0]! + (103.939 + 2 * 116.779 + 3 * 123.68)) < 1e-3);
  // torchvision, 3 channels kept: w_c / std_c each, bias −Σ w_c·mean_c/std_c.
  const t = foldInputNormalisation(conv, TORCHVISION_IMAGENET, 3);
  [1 / 0.229, 2 / 0.224, 3 / 0.225].forEach((v, c) => assert.ok(Math.abs(t.kernel.data[c]! - v) < 1e-5));
  assert.ok(Math.abs(t.bias[0]! + (0.485 / 0.229 + (2 * 0.456) / 0.224 + (3 * 0.406) / 0.225)) < 1e-5);
  assert.throws(
    () => foldInputNormalisation(conv, TORCHVISION_IMAGENET, 2),
    /cannot map 3 input channels onto 2/,
  );
});
