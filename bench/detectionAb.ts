/**
 * A/B of the demo's detection training step, in one process: `node build/bench/detectionAb.js [steps] [what]`.
 * `what` = `bn` (default): eval-mode batch norm's gradient lazy (ours) against tfjs's
 * (`setBatchNormEvalGradient`); `proposals`: the RPN's typed-array proposals against the plain
 * reference (`rpnProposalsReference`).
 * Two detectors from the same seed take the same steps, one per variant, alternating; the script
 * times each step (CPU seconds) and checks that both end with the same parameters bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { momentumOptimizer, setBatchNormEvalGradient } from '../src/backend/index.js';
import { makeConfig } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { makeBackbone } from '../src/models/backbones.js';
import { detectorOnResnet } from '../src/models/detectorBuild.js';
import { detectionTrainStep } from '../src/models/fasterRcnn/train.js';
import { RpnHead, rpnProposalsReference } from '../src/models/fasterRcnn/rpn.js';
import { makeRng } from '../src/rng.js';
import { median } from './registry.js';
import { detectionBenchBatch } from './demo.js';

const steps = Number(process.argv[2] ?? 4);
const what = process.argv[3] ?? 'bn';
if (what !== 'bn' && what !== 'proposals')
  throw new Error(`detectionAb: what must be bn or proposals, got ${what}`);
const fastProposals = RpnHead.prototype.proposals;
function setFast(on: boolean): void {
  if (what === 'bn') setBatchNormEvalGradient(on);
  else
    RpnHead.prototype.proposals = on
      ? fastProposals
      : function (this: RpnHead, ...a: Parameters<RpnHead['proposals']>) {
          return rpnProposalsReference(this.opts, ...a);
        };
}
await initEngine('auto');
const config = makeConfig({ notebook: 'bench', profile: 'demo', env: {} });
const d = config.detection;
const size = d.inputSizes[0]!;
const batch = d.batchSize;
const { images, targets } = detectionBenchBatch(size, batch);

function make() {
  const rng = makeRng(2);
  const resnet = makeBackbone(config, rng.fork('backbone'));
  const detector = detectorOnResnet(resnet, d, rng.fork('heads'));
  return { resnet, detector, opt: momentumOptimizer(0.001, 0.9), stepRng: makeRng(3) };
}
const variants = [
  { name: what === 'bn' ? "tfjs's gradient" : 'reference', lazy: false, m: make(), cpu: [] as number[] },
  { name: what === 'bn' ? 'lazy gradient' : 'typed arrays', lazy: true, m: make(), cpu: [] as number[] },
];
for (let step = 0; step < steps; step++) {
  for (const v of step % 2 === 0 ? variants : [...variants].reverse()) {
    setFast(v.lazy);
    const c0 = process.cpuUsage();
    detectionTrainStep(v.m.detector, v.m.opt, images, targets, {
      weightDecay: d.weightDecay,
      clipNorm: d.gradClipNorm,
      rng: v.m.stepRng.fork(step),
      step,
    });
    const dc = process.cpuUsage(c0);
    if (step > 0) v.cpu.push((dc.user + dc.system) / 1e6);
  }
}
setFast(true);
for (const v of variants)
  console.log(
    `${v.name.padEnd(16)}: CPU s per step median ${median(v.cpu).toFixed(3)} (${v.cpu.map((x) => x.toFixed(3)).join(' ')})`,
  );
const params = variants.map((v) =>
  [
    ...v.m.resnet.store.all().map((p) => p.variable),
    ...v.m.detector.fpn.variables(),
    ...v.m.detector.rpn.variables(),
    ...v.m.detector.roiHeads.variables(),
  ].map((t) => new Uint32Array(Float32Array.from(t.dataSync()).buffer)),
);
const same =
  params[0]!.length === params[1]!.length &&
  params[0]!.every((a, i) => a.every((x, j) => x === params[1]![i]![j]));
console.log(
  `after ${steps} steps the two detectors' ${params[0]!.length} parameter tensors are ${same ? 'equal bit for bit' : 'DIFFERENT'}`,
);
if (!same) process.exitCode = 1;
