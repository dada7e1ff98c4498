/**
 * One ResNet-50 training measurement in a fresh process, so its peak RSS is its own:
 *   node build/bench/resnetWorker.js '{"size":224,"batch":8,"warmup":2,"steps":4}'
 * Prints one JSON line (images/s from the median step time, peak RSS, backend).
 *
 * The model is the project's own ResNet-50 (src/models/resnet.ts: the one notebooks 03–06 train,
 * with its BatchNorm running statistics) unless `"model":"test"` picks the compact test model of
 * test/helpers/testModels.ts; softmax cross-entropy on 1000 classes, SGD with momentum, as the peer.
 */
import * as tf from '@tensorflow/tfjs';
import { ACCELERATED_BACKEND, momentumOptimizer, registerAcceleratedBackend } from '../src/backend/index.js';
import { RESNET50, createResNet, trainStep } from '../test/helpers/testModels.js';
import { ResNet } from '../src/models/resnet.js';
import { makeRng } from '../src/rng.js';
import { median } from './registry.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  size: number;
  batch: number;
  warmup: number;
  steps: number;
  backend?: string;
  model?: 'project' | 'test';
};
const reg = registerAcceleratedBackend();
const backend = spec.backend ?? (reg.ok ? ACCELERATED_BACKEND : 'cpu');
await tf.setBackend(backend);
const optimizer = momentumOptimizer(0.01, 0.9);
let step: (x: tf.Tensor4D, labels: tf.Tensor2D) => void;
if (spec.model === 'test') {
  const model = createResNet(RESNET50, 1);
  step = (x, labels) => trainStep(model, optimizer, x, labels);
} else {
  const model = new ResNet(
    { blocks: [3, 4, 6, 3], width: 64, inChannels: 3, numClasses: RESNET50.classes },
    makeRng(1),
  );
  const vars = model.store.trainable().map((p) => p.variable);
  step = (x, labels) => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(labels, model.forward(x, { training: true }).logits!) as tf.Scalar,
      true,
      vars,
    );
    loss!.dataSync();
    loss!.dispose();
  };
}
const x = tf.randomNormal([spec.batch, spec.size, spec.size, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
const classes = tf.randomUniform([spec.batch], 0, RESNET50.classes, 'int32', 3) as tf.Tensor1D;
const labels = tf.oneHot(classes, RESNET50.classes).toFloat() as tf.Tensor2D;
for (let i = 0; i < spec.warmup; i++) step(x, labels);
const times: number[] = [];
for (let i = 0; i < spec.steps; i++) {
  const t0 = performance.now();
  step(x, labels);
  times.push((performance.now() - t0) / 1000);
}
console.log(
  JSON.stringify({
    backend,
    images_per_sec: spec.batch / median(times),
    step_seconds: times,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
