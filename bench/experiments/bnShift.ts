/**
 * How far a pretrained backbone's BatchNorm running statistics are from the statistics of its inputs
 * on the demo's VinDr detection training images (96 px, as notebook 04 feeds them). With `normEval`
 * the detector normalises with the running statistics; a large shift means mis-scaled activations.
 * Prints, per BatchNorm, the median over channels of |mean_batch − mean_run| / sd_run and of
 * var_batch / var_run. Needs `detRun.js` to have made `.cache/detexp/` (phantom, split, backbones).
 * Usage: node build/bench/experiments/bnShift.js '{"init":"imagenet","size":96}'
 */
import { join } from 'node:path';
import { makeConfig } from '../../src/config.js';
import { openVindr } from '../../src/data/datasets.js';
import { initEngine } from '../../src/engine.js';
import { loadBackbone, type BackboneInit } from '../../src/models/backbones.js';
import { makeRng } from '../../src/rng.js';
import { detectionSplits, loadDetectionSet } from '../../src/train/detectionRun.js';
import { reestimateBatchNorm } from '../../src/train/bnCalibration.js';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  init?: BackboneInit;
  size?: number;
  vindrImages?: number;
};
const base = makeConfig({ notebook: '04_detection', profile: 'demo' });
const n = args.vindrImages ?? base.data.vindrImages;
const root = join(base.paths.root, '.cache', 'detexp');
const config = makeConfig({
  notebook: '04_detection',
  profile: 'demo',
  data: { vindrImages: n, vindrDir: join(root, `vindr-${n}`) },
  paths: { results: join(root, `results-${n}`), checkpoints: join(root, 'checkpoints') },
});
await initEngine(config.backend);
const splits = detectionSplits(config, await openVindr(config));
const set = await loadDetectionSet(
  splits.train.filter((im) => im.boxes.length > 0),
  args.size ?? config.detection.inputSizes[0]!,
);
const init = args.init ?? 'imagenet';
const model = loadBackbone(config, init, makeRng(1));
const before = new Map(
  model.store
    .all()
    .filter((p) => p.name.endsWith('running_mean') || p.name.endsWith('running_var'))
    .map((p) => [p.name, (p.variable.dataSync() as Float32Array).slice()]),
);
const { stats } = reestimateBatchNorm(model, { count: set.count, batch: (i) => set.batch(i) }, 32);
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`${init}: input pixel mean ${set.images.mean().dataSync()[0]!.toFixed(3)}`);
for (const [name, t] of stats) {
  if (!name.endsWith('running_mean')) continue;
  const prefix = name.slice(0, -'.running_mean'.length);
  const mr = before.get(name)!;
  const vr = before.get(`${prefix}.running_var`)!;
  const vb = stats.get(`${prefix}.running_var`)!.data;
  const shift = Array.from(t.data, (m, c) => Math.abs(m - mr[c]!) / Math.sqrt(vr[c]! + 1e-5));
  const ratio = Array.from(vb, (v, c) => v / (vr[c]! + 1e-5));
  console.log(
    `${prefix}: |Δmean|/sd median ${median(shift).toFixed(2)}, var ratio median ${median(ratio).toFixed(2)}`,
  );
}
