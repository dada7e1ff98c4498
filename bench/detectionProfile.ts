/**
 * Where one training step of the demo-size detector spends its time: by phase of the forward pass
 * (wall clock, kernels included), the optimizer update, and the rest (the backward pass, with
 * RoIAlign's JavaScript scatter-add), plus the accelerated backend's per-kernel times:
 *   node build/bench/detectionProfile.js [size=128] [batch=8] [steps=3] [profile=demo]
 * Run with `node --cpu-prof` as well to see JavaScript functions (anchor matching, NMS, RoIAlign).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelTimes, momentumOptimizer, setKernelProfiling } from '../src/backend/index.js';
import { makeConfig, type ProfileName } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { detectionTrainStep, warmupCosineLr } from '../src/models/fasterRcnn/train.js';
import { makeRng } from '../src/rng.js';
import { buildDetector } from '../src/train/detectionRun.js';

const [size, batch, steps] = [128, 8, 3].map((d, i) => Number(process.argv[2 + i] ?? d));
const profile = (process.argv[5] ?? 'demo') as ProfileName;
const engine = await initEngine('auto');
const config = makeConfig({ notebook: 'bench', profile, env: {} });
const d = config.detection;
const rng = makeRng(1);
const { detector } = buildDetector(config, 'none', rng);

// Phase timers: wrap the instance methods the step calls (forward pass only; nested calls are not double counted).
const phases: Record<string, number> = {};
let depth = 0;
function wrap<T extends object>(obj: T, method: keyof T & string, name: string): void {
  const f = (obj as Record<string, unknown>)[method] as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[method] = (...args: unknown[]) => {
    if (depth > 0) return f.apply(obj, args);
    depth++;
    const t0 = performance.now();
    try {
      return f.apply(obj, args);
    } finally {
      phases[name] = (phases[name] ?? 0) + performance.now() - t0;
      depth--;
    }
  };
}
wrap(detector.backbone, 'forward', 'forward: backbone (ResNet)');
wrap(detector.fpn, 'forward', 'forward: FPN');
wrap(detector.rpn, 'forward', 'forward: RPN head convs');
wrap(detector.rpn, 'loss', 'forward: RPN loss (anchor IoU, matching, sampling in JS)');
wrap(detector.rpn, 'proposals', 'forward: RPN proposals (top-k, decode, NMS in JS)');
wrap(detector.roiHeads, 'sample', 'forward: RoI sampling (IoU, matching in JS)');
wrap(detector.roiHeads, 'loss', 'forward: box head (RoIAlign in JS + FCs + loss)');

// Demo-like images: one channel, a few boxes each.
const images = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
const r = makeRng(2);
const targets = Array.from({ length: batch }, () =>
  Array.from({ length: 1 + r.int(3) }, () => {
    const w = r.uniform(0.1, 0.4) * size;
    const h = r.uniform(0.1, 0.4) * size;
    const x = r.uniform(0, size - w);
    const y = r.uniform(0, size - h);
    return [x, y, x + w, y + h];
  }),
).map((boxes) => ({ boxes, labels: boxes.map(() => r.int(14)) }));
// the notebooks' optimizer (weight decay and clipping inside its native update)
const optimizer = momentumOptimizer(d.lr, 0.9);
wrap(optimizer, 'applyGradients', 'optimizer update (SGD momentum + weight decay)');
const step = (s: number): void => {
  optimizer.setLearningRate(
    warmupCosineLr(s + 100, { baseLr: d.lr, totalSteps: 1000, warmupSteps: d.warmupSteps }),
  );
  detectionTrainStep(detector, optimizer, images, targets, {
    weightDecay: d.weightDecay,
    rng: makeRng(3).fork(s),
    step: s,
  });
};
step(0);
for (const k of Object.keys(phases)) delete phases[k];
setKernelProfiling(true);
const t0 = performance.now();
for (let s = 1; s <= steps; s++) step(s);
const total = (performance.now() - t0) / steps;
setKernelProfiling(false);
const forward = Object.values(phases).reduce((a, b) => a + b, 0) / steps;
console.log(
  `${profile} detector ${size}px batch ${batch} on ${engine.backend}: ${total.toFixed(0)} ms/step, ${((batch / total) * 1000).toFixed(1)} images/s`,
);
const rows = [
  ...Object.entries(phases).map(([k, ms]) => [k, ms / steps] as const),
  ['backward pass and the rest (total - the above)', total - forward] as const,
];
for (const [k, ms] of rows)
  console.log(
    `  ${k.padEnd(60)} ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / total).toFixed(1).padStart(5)}%`,
  );
const kernels = Object.entries(kernelTimes)
  .map(([k, ms]) => [k, ms / steps] as const)
  .sort((a, b) => b[1] - a[1]);
const inKernels = kernels.reduce((a, k) => a + k[1], 0);
console.log(
  `kernels (${engine.backend}): ${inKernels.toFixed(0)} ms/step (${((100 * inKernels) / total).toFixed(0)}%); top 12:`,
);
for (const [k, ms] of kernels.slice(0, 12))
  console.log(
    `  ${k.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / total).toFixed(1).padStart(5)}%`,
  );
