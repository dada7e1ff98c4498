/**
 * Where the demo's Barlow Twins step goes: `node build/bench/demoProfile.js [reps]` times the
 * view generation and the training part of `PretrainTask.trainStep` separately (wall and CPU
 * seconds, median of `reps`), and the time per tfjs kernel of each part (tf.profile); then the
 * training part with the output-buffer pool and the fused LARS update off and on (A/B, same process).
 */
import * as tf from '@tensorflow/tfjs';
import {
  VIEW_1,
  VIEW_2,
  barlowTwinsViews,
  renderViewTf,
  sampleViewParams,
  type Interpolation,
} from '../src/data/augment.js';
import { makeConfig } from '../src/config.js';
import { setBufferPool } from '../src/backend/index.js';
import { initEngine } from '../src/engine.js';
import { BarlowTwins, Lars } from '../src/models/barlowTwins.js';
import { ResNet } from '../src/models/resnet.js';
import { makeRng } from '../src/rng.js';
import { wallAndCpu } from './registry.js';

async function kernels(label: string, fn: () => void): Promise<void> {
  const info = await tf.profile(() => {
    fn();
    return [];
  });
  const by = new Map<string, number>();
  for (const k of info.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  console.log(`${label}: ${info.kernels.length} kernel calls, ${total.toFixed(0)} ms in kernels`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 14))
    console.log(`  ${k.padEnd(28)} ${v.toFixed(1).padStart(8)} ms`);
}

const reps = Number(process.argv[2] ?? 3);
await initEngine('auto');
const config = makeConfig({ notebook: 'bench', profile: 'demo', env: {} });
const p = config.pretrain;
const size = config.backbone.inputSize;
const rng = makeRng(1);
const model = new BarlowTwins(
  new ResNet(
    { blocks: config.backbone.blocks, width: config.backbone.width, inChannels: 1, zeroInitResidual: true },
    rng.fork('b'),
  ),
  p.projector,
  rng.fork('p'),
  p.lambda,
);
const images = tf.randomUniform(
  [p.batchSize, p.sourceSize, p.sourceSize, 1],
  0,
  1,
  'float32',
  3,
) as tf.Tensor4D;
const opt = new Lars({ weightDecay: p.weightDecay });
const vars = model.trainable();
const byTf = new Map([...vars].map(([n, v]) => [v.name, n]));
let k = 0;
const views = (interpolation: Interpolation = p.interpolation): [tf.Tensor4D, tf.Tensor4D] =>
  barlowTwinsViews(images, size, makeRng(9).fork(k++), {
    scale: p.cropScale,
    jitter: p.jitter,
    interpolation,
  });
const [v1, v2] = views();
const train = (): void => {
  const { value, grads } = tf.variableGrads(() => model.loss(v1, v2), [...vars.values()]);
  const named: Record<string, tf.Tensor> = {};
  for (const [n, g] of Object.entries(grads)) named[byTf.get(n)!] = g;
  opt.applyGradients(vars, named, 0.01, 0.0002);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
};
// A/B in this process: the views as tfjs ops (renderViewTf, what the step ran before) and as renderView,
// with the profile's crop interpolation and with tfjs's bilinear.
const viewsTf = (): tf.Tensor4D[] => {
  const r = makeRng(9).fork(k++);
  const [n, h, w] = images.shape;
  return [VIEW_1, VIEW_2].map((o) => renderViewTf(images, sampleViewParams(n, h, w, size, r, o)));
};
for (let round = 0; round < 2; round++) {
  console.log(
    `views as tfjs ops (2 x ${p.batchSize} x ${size}px of ${p.sourceSize}px): ${wallAndCpu(() => tf.dispose(viewsTf()), reps)}`,
  );
  // What the profile's interpolation costs against tfjs's point-sampled bilinear crop.
  for (const interpolation of [p.interpolation, 'bilinear'] as const)
    console.log(
      `views by renderView, ${interpolation} crops: ${wallAndCpu(() => tf.dispose(views(interpolation)), reps)}`,
    );
}
console.log(`train step on ready views: ${wallAndCpu(train, reps)}`);
// A/B in this process: the output-buffer pool and the fused LARS update, each off and on.
for (let round = 0; round < 2; round++) {
  for (const [pool, fused] of [
    [false, false],
    [true, false],
    [true, true],
  ] as const) {
    setBufferPool(pool);
    opt.fused = fused;
    console.log(
      `train step, buffer pool ${pool ? 'on ' : 'off'}, LARS ${fused ? 'fused     ' : 'tensor ops'}: ${wallAndCpu(train, reps)}`,
    );
  }
}
setBufferPool(true);
// The LARS update alone, on one set of gradients (its CPU time is small beside the backward pass's noise).
{
  const { value, grads } = tf.variableGrads(() => model.loss(v1, v2), [...vars.values()]);
  const named: Record<string, tf.Tensor> = {};
  for (const [n, g] of Object.entries(grads)) named[byTf.get(n)!] = g;
  for (let round = 0; round < 2; round++)
    for (const fused of [false, true]) {
      opt.fused = fused;
      console.log(
        `LARS update of ${vars.size} tensors, ${fused ? 'fused     ' : 'tensor ops'}: ${wallAndCpu(() => opt.applyGradients(vars, named, 0.01, 0.0002), 3 * reps)}`,
      );
    }
  tf.dispose([value, ...Object.values(grads)]);
}
opt.fused = true;
await kernels('views', () => tf.dispose(views()));
await kernels('train', train);
