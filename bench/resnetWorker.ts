/**
 * One ResNet-50 training measurement in a fresh process, so its peak RSS is its own:
 *   node build/bench/resnetWorker.js '{"size":224,"batch":8,"warmup":2,"steps":4}'
 * Prints one JSON line (images/s from the median step time, peak RSS, backend).
 */
import * as tf from '@tensorflow/tfjs';
import { ACCELERATED_BACKEND, momentumOptimizer, registerAcceleratedBackend } from '../src/backend/index.js';
import { RESNET50, createResNet, trainStep } from '../src/backend/testModels.js';
import { median } from './registry.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as { size: number; batch: number; warmup: number; steps: number; backend?: string };
const reg = registerAcceleratedBackend();
const backend = spec.backend ?? (reg.ok ? ACCELERATED_BACKEND : 'cpu');
await tf.setBackend(backend);
const model = createResNet(RESNET50, 1);
const optimizer = momentumOptimizer(0.01, 0.9);
const x = tf.randomNormal([spec.batch, spec.size, spec.size, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
const classes = tf.randomUniform([spec.batch], 0, RESNET50.classes, 'int32', 3) as tf.Tensor1D;
const labels = tf.oneHot(classes, RESNET50.classes).toFloat() as tf.Tensor2D;
for (let i = 0; i < spec.warmup; i++) trainStep(model, optimizer, x, labels);
const times: number[] = [];
for (let i = 0; i < spec.steps; i++) {
  const t0 = performance.now();
  trainStep(model, optimizer, x, labels);
  times.push((performance.now() - t0) / 1000);
}
console.log(JSON.stringify({
  backend,
  images_per_sec: spec.batch / median(times),
  step_seconds: times,
  max_rss_mb: process.resourceUsage().maxRSS / 1024,
}));
