import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine, tensorCount } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { ResNet } from '../../src/models/resnet.js';

before(async () => {
  await initEngine('cpu');
});

test('ResNet-50 has torchvision names, 23.5M backbone parameters and C2-C5 at strides 4-32', () => {
  const m = new ResNet({ blocks: [3, 4, 6, 3], width: 64, inChannels: 3, numClasses: 1000 }, makeRng(1));
  // torchvision resnet50: 25,557,032 parameters including fc (2048·1000 + 1000).
  assert.equal(m.store.countParameters(), 25557032);
  const names = m.store.all().map((p) => p.name);
  for (const n of [
    'conv1.weight',
    'bn1.running_mean',
    'layer1.0.conv1.weight',
    'layer1.0.downsample.0.weight',
    'layer1.0.downsample.1.running_var',
    'layer4.2.bn3.weight',
    'fc.weight',
    'fc.bias',
  ])
    assert.ok(names.includes(n), n);
  assert.deepEqual(m.featureChannels, [256, 512, 1024, 2048]);
  m.dispose();
});

test('tiny variant: shapes of c2..c5, pooled and logits; no leaks', () => {
  const m = new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1, numClasses: 3 }, makeRng(2));
  const x = tf.randomUniform([2, 64, 64, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const before = tensorCount();
  const f = m.forward(x, { training: false });
  assert.deepEqual(f.c2.shape, [2, 16, 16, 16]);
  assert.deepEqual(f.c3.shape, [2, 8, 8, 32]);
  assert.deepEqual(f.c4.shape, [2, 4, 4, 64]);
  assert.deepEqual(f.c5.shape, [2, 2, 2, 128]);
  assert.deepEqual(f.pooled.shape, [2, 128]);
  assert.deepEqual(f.logits!.shape, [2, 3]);
  tf.dispose([f.c2, f.c3, f.c4, f.c5, f.pooled, f.logits!]);
  assert.equal(tensorCount(), before);
  assert.throws(
    () => m.forward(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D, { training: false }),
    /expected \[N,H,W,1\]/,
  );
  x.dispose();
  m.dispose();
});

test('Kaiming fan_out init: conv std ≈ sqrt(2 / (k·k·out)); zeroInitResidual zeroes every bn3 gamma', () => {
  const m = new ResNet(
    { blocks: [1, 1, 1, 1], width: 16, inChannels: 1, zeroInitResidual: true },
    makeRng(4),
  );
  const w = m.store.get('layer4.0.conv2.weight'); // 3x3, 128 -> 128: std sqrt(2/1152)
  const std = tf.tidy(() => tf.moments(w).variance.sqrt().dataSync()[0]!);
  assert.ok(Math.abs(std - Math.sqrt(2 / (9 * 128))) < 0.003, `std ${std}`);
  assert.ok(
    m.store
      .all()
      .filter((p) => /bn3\.weight$/.test(p.name))
      .every((p) => tf.tidy(() => p.variable.max().dataSync()[0]) === 0),
  );
  m.dispose();
});

test('training-mode BN updates running stats with momentum 0.1 and unbiased variance, as PyTorch', () => {
  const m = new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1 }, makeRng(5));
  const x = tf.randomNormal([2, 32, 32, 1], 3, 2, 'float32', 6) as tf.Tensor4D;
  // bn1 sees conv1(x); recompute the batch statistics of conv1's output independently.
  const conv = tf.conv2d(x, m.store.get('conv1.weight') as tf.Tensor4D, 2, 3);
  const { mean, variance } = tf.moments(conv, [0, 1, 2]);
  const n = conv.size / conv.shape[3]!;
  tf.dispose(Object.values(m.forward(x, { training: true })));
  const rm = m.store.get('bn1.running_mean').dataSync();
  const rv = m.store.get('bn1.running_var').dataSync();
  mean.dataSync().forEach((mu, i) => assert.ok(Math.abs(rm[i]! - 0.1 * mu) < 1e-5));
  variance.dataSync().forEach((v, i) => assert.ok(Math.abs(rv[i]! - (0.9 + (0.1 * v * n) / (n - 1))) < 1e-4));
  tf.dispose([x, conv, mean, variance]);
  m.dispose();
});

test('a tiny ResNet overfits four images (loss falls below a tenth), without leaking per step', () => {
  const rng = makeRng(7);
  const m = new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1, numClasses: 4 }, rng);
  const x = tf.randomUniform([4, 32, 32, 1], 0, 1, 'float32', 8) as tf.Tensor4D;
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
  const opt = tf.train.adam(0.01);
  const lossOf = (): tf.Scalar =>
    tf.losses.softmaxCrossEntropy(y, m.forward(x, { training: true }).logits!) as tf.Scalar;
  const first = tf.tidy(() => lossOf().dataSync()[0]!);
  let last = first;
  let count = -1;
  for (let step = 0; step < 30; step++) {
    const l = opt.minimize(lossOf, true, m.parameters())!;
    last = l.dataSync()[0]!;
    l.dispose();
    if (step === 1) count = tensorCount();
    if (step > 1) assert.equal(tensorCount(), count, `step ${step} leaked`);
  }
  assert.ok(last < first / 10, `loss ${first} -> ${last}`);
  opt.dispose();
  tf.dispose([x, y]);
  m.dispose();
});
