/**
 * Notebook 03's two Barlow Twins runs in our code path (the ImageNet-proxy, then `pretrainBarlowTwins` from
 * scratch and from the proxy, with the kNN probe), at a profile's settings or with pretrain overrides, into a
 * scratch checkpoint folder (the repository's checkpoints are left alone). Prints per run: loss first → last and
 * its fall, mean C_ii and mean |C_ij| of the probe batch before → after (the quantity of
 * figures/03_pretraining_correlation.csv), the per-epoch curve (C_ii, kNN accuracy) and the wall time of each part.
 *
 * Usage: node build/bench/experiments/btDemoCheck.js [profile] ['{"lambda": 0.05, ...}'] [scratchDir]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeConfig, type PretrainConfig, type ProfileName } from '../../src/config.js';
import { openNih } from '../../src/data/datasets.js';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import {
  imagenetInit,
  nihKnnSets,
  nihSplitSource,
  pretrainBarlowTwins,
  type BarlowTwinsResult,
} from '../../src/train/pretrainRun.js';

const profile = (process.argv[2] ?? 'demo') as ProfileName;
const pretrain = JSON.parse(process.argv[3] ?? '{}') as Partial<PretrainConfig>;
const scratch = process.argv[4] ?? join(tmpdir(), `bt-demo-check-${process.pid}`);
mkdirSync(scratch, { recursive: true });
const base = makeConfig({ notebook: 'bt-demo-check', profile });
const config = makeConfig({
  notebook: 'bt-demo-check',
  profile,
  pretrain,
  paths: { ...base.paths, checkpoints: join(scratch, 'checkpoints'), results: join(scratch, 'results') },
});
await initEngine(config.backend);
const t0 = Date.now();
const secs = (t: number): string => `${((Date.now() - t) / 1000).toFixed(1)} s`;
const rng = makeRng(config.seed);
console.log(`pretrain settings: ${JSON.stringify(config.pretrain)}`);
let t = Date.now();
const imagenet = await imagenetInit(config, rng.fork('proxy'));
console.log(`ImageNet init (${imagenet.kind}): ${secs(t)}`);
t = Date.now();
const nih = await openNih(config);
const source = await nihSplitSource(nih, config.pretrain.imageSet, config.pretrain.sourceSize);
const knn = config.pretrain.knn > 0 ? await nihKnnSets(nih, config.backbone.inputSize) : undefined;
console.log(`images: ${source.count} (${secs(t)})`);
const report = (r: BarlowTwinsResult, wall: string): void => {
  const first = r.losses[0]!.loss;
  const last = r.losses.at(-1)!.loss;
  console.log(
    JSON.stringify({
      run: r.init,
      wall,
      loss: [+first.toFixed(1), +last.toFixed(1)],
      fall: +(1 - last / first).toFixed(3),
      diag: [+r.before.meanDiagonal.toFixed(3), +r.after.meanDiagonal.toFixed(3)],
      off: [+r.before.meanAbsOffDiagonal.toFixed(3), +r.after.meanAbsOffDiagonal.toFixed(3)],
      curve: r.curve.map((p) => [
        p.step,
        +p.meanDiagonal.toFixed(3),
        p.knn === null ? null : +p.knn.toFixed(3),
      ]),
      knnMajority: r.knnMajority,
    }),
  );
};
for (const init of ['bt', 'bt_imagenet'] as const) {
  t = Date.now();
  const r = await pretrainBarlowTwins(config, init, source, rng.fork(init), knn);
  report(r, secs(t));
}
source.dispose();
if (knn) {
  knn.gallery.dispose();
  knn.query.dispose();
}
console.log(`total ${secs(t0)}`);
