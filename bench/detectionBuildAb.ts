/**
 * A/B of the demo's detection training step between another build of this repository and this one,
 * in one process: `node build/bench/detectionBuildAb.js <other repo root> [steps=25]`, e.g. main's
 * tree compiled with `tsc` in a second worktree whose node_modules and native/build link to this
 * one's (one tfjs, one addon). Each build makes its own detector from the same seed and takes the
 * same steps (the bench row's: `detectionTrainStep`, fixed images and boxes, momentum SGD, weight
 * decay, clipping), alternating which goes first; the script prints the median CPU seconds per
 * step of each (steps after the first) and whether the two detectors' parameters end equal bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeConfig } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { median } from './registry.js';
import { detectionBenchBatch } from './demo.js';

const other = process.argv[2];
if (!other) throw new Error('usage: node build/bench/detectionBuildAb.js <other repo root> [steps]');
const steps = Number(process.argv[3] ?? 25);
await initEngine('auto');
const config = makeConfig({ notebook: 'bench', profile: 'demo', env: {} });
const d = config.detection;
const size = d.inputSizes[0]!;
const batch = d.batchSize;
const { images, targets } = detectionBenchBatch(size, batch);

async function load(root: string, name: string, skipStores: number) {
  const at = (p: string) => import(pathToFileURL(path.join(root, 'build', p)).href);
  // Each build numbers its parameter stores from 1, and tfjs's variable names are process-wide.
  for (let i = 0; i < skipStores; i++) new (await at('src/models/params.js')).ParamStore();
  const [bb, db, tr, be, rn] = await Promise.all([
    at('src/models/backbones.js'),
    at('src/models/detectorBuild.js'),
    at('src/models/fasterRcnn/train.js'),
    at('src/backend/index.js'),
    at('src/rng.js'),
  ]);
  const rng = rn.makeRng(2);
  const resnet = bb.makeBackbone(config, rng.fork('backbone'));
  const detector = db.detectorOnResnet(resnet, d, rng.fork('heads'));
  return {
    name,
    resnet,
    detector,
    step: tr.detectionTrainStep as (...a: unknown[]) => unknown,
    opt: be.momentumOptimizer(0.001, 0.9) as tf.Optimizer,
    stepRng: rn.makeRng(3),
    cpu: [] as number[],
  };
}
const variants = [
  await load(path.resolve(other), 'other build', 0),
  await load(path.resolve('.'), 'this build', 1000), // nn.ts skips the other build's head names itself
];
for (let step = 0; step < steps; step++) {
  for (const v of step % 2 === 0 ? variants : [...variants].reverse()) {
    const c0 = process.cpuUsage();
    v.step(v.detector, v.opt, images, targets, {
      weightDecay: d.weightDecay,
      clipNorm: d.gradClipNorm,
      rng: v.stepRng.fork(step),
      step,
    });
    const dc = process.cpuUsage(c0);
    if (step > 0) v.cpu.push((dc.user + dc.system) / 1e6);
  }
}
for (const v of variants)
  console.log(
    `${v.name.padEnd(12)}: CPU s per step median ${median(v.cpu).toFixed(3)} (${v.cpu.map((x) => x.toFixed(3)).join(' ')})`,
  );
const params = variants.map((v) =>
  [
    ...v.resnet.store.all().map((p: { variable: tf.Variable }) => p.variable),
    ...v.detector.fpn.variables(),
    ...v.detector.rpn.variables(),
    ...v.detector.roiHeads.variables(),
  ].map((t: tf.Tensor) => new Uint32Array(Float32Array.from(t.dataSync()).buffer)),
);
const same =
  params[0]!.length === params[1]!.length &&
  params[0]!.every((a, i) => a.every((x, j) => x === params[1]![i]![j]));
console.log(
  `after ${steps} steps the two detectors' ${params[0]!.length} parameter tensors are ${same ? 'equal bit for bit' : 'DIFFERENT'}`,
);
if (!same) process.exitCode = 1;
