/**
 * Where a ResNet-50 training step on 'cxr-cpu' spends its time, per kernel:
 *   node build/bench/profile.js [size=64] [batch=32] [steps=3]
 */
import * as tf from '@tensorflow/tfjs';
import {
  ACCELERATED_BACKEND,
  kernelCalls,
  momentumOptimizer,
  kernelTimes,
  registerAcceleratedBackend,
  setKernelProfiling,
} from '../src/backend/index.js';
import { RESNET50, createResNet, trainStep } from '../test/helpers/testModels.js';

const [size, batch, steps] = [64, 32, 3].map((d, i) => Number(process.argv[2 + i] ?? d));
const reg = registerAcceleratedBackend();
if (!reg.ok) throw new Error(reg.reason);
await tf.setBackend(ACCELERATED_BACKEND);
const model = createResNet(RESNET50, 1);
const optimizer = momentumOptimizer(0.01, 0.9);
const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
const labels = tf
  .oneHot(tf.randomUniform([batch], 0, 1000, 'int32', 3) as tf.Tensor1D, 1000)
  .toFloat() as tf.Tensor2D;
trainStep(model, optimizer, x, labels);
setKernelProfiling(true);
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainStep(model, optimizer, x, labels);
const total = (performance.now() - t0) / steps;
setKernelProfiling(false);
const rows = Object.entries(kernelTimes)
  .map(([k, ms]) => [k, ms / steps] as const)
  .sort((a, b) => b[1] - a[1]);
const inKernels = rows.reduce((s, r) => s + r[1], 0);
console.log(
  `ResNet-50 ${size}px batch ${batch}: ${total.toFixed(0)} ms/step, ${((batch / total) * 1000).toFixed(2)} images/s; ` +
    `${inKernels.toFixed(0)} ms in kernels, ${(total - inKernels).toFixed(0)} ms elsewhere (tfjs engine, GC)`,
);
for (const [k, ms] of rows.slice(0, 25)) {
  console.log(
    `${k.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / total).toFixed(1).padStart(5)}%` +
      `  fallbacks ${kernelCalls.fallback[k] ?? 0}`,
  );
}
