/**
 * One detector fine-tuning on notebook 04's code path (demo profile, `trainDetector`), for choosing
 * the demo's detection recipe: prints validation mAP50 per epoch, the best checkpoint's test mAP50
 * (images with boxes, and all images) with its per-class AP, and the wall time per run. With
 * `coverage`, first prints, per class and input size, the fused training boxes' median side in input
 * pixels and the share that has an RPN anchor at IoU >= 0.3 (below it the box is never proposed).
 *
 * Everything is written under `.cache/detexp/` (phantom, fused split, proxy backbone), never over the
 * demo's own data or results. The ImageNet-proxy is trained once, as notebook 03 trains it; the
 * split is notebook 02's (same rng forks). Heavy: run under nice with one thread.
 *
 * Usage: node build/bench/experiments/detRun.js '<json>' where json may hold
 *   { "vindrImages": 800, "coverage": true,
 *     "runs": [{ "inits": ["imagenet"], "seeds": [2024], "detection": { ...overrides of config.detection } }] }
 * The runs go one after the other in one process (an A/B of their times on the same machine load).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfig, type DetectionConfig } from '../../src/config.js';
import { iou } from '../../src/boxes/iou.js';
import { fuseVindr, splitVindr } from '../../src/data/fusion.js';
import { writeFusedSplit } from '../../src/data/annotations.js';
import { openVindr } from '../../src/data/datasets.js';
import { VINDR_CLASSES } from '../../src/data/labels.js';
import { initEngine } from '../../src/engine.js';
import { backbonePath, type BackboneInit } from '../../src/models/backbones.js';
import { gridAnchors, MMDET_ANCHORS } from '../../src/models/fasterRcnn/anchors.js';
import { makeRng } from '../../src/rng.js';
import {
  detectionSplits,
  keepRatioSize,
  loadDetectionSet,
  trainDetector,
} from '../../src/train/detectionRun.js';
import { imagenetInit } from '../../src/train/pretrainRun.js';

interface RunArgs {
  inits?: BackboneInit[];
  seeds?: number[];
  detection?: Partial<DetectionConfig>;
}
interface Args {
  vindrImages?: number;
  coverage?: boolean;
  /** Log each epoch's loss parts, gradient norm and training-set mAP50 (default on). */
  diagnose?: boolean;
  runs?: RunArgs[];
}
const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const base = makeConfig({ notebook: '04_detection', profile: 'demo' });
const n = args.vindrImages ?? base.data.vindrImages;
const root = join(base.paths.root, '.cache', 'detexp');
const configFor = (detection: Partial<DetectionConfig>): ReturnType<typeof makeConfig> =>
  makeConfig({
    notebook: '04_detection',
    profile: 'demo',
    data: { vindrImages: n, vindrDir: join(root, `vindr-${n}`) },
    paths: { results: join(root, `results-${n}`), checkpoints: join(root, 'checkpoints') },
    detection,
  });
const config = configFor({});
await initEngine(config.backend);

const vindr = await openVindr(config);
const fusion = fuseVindr(vindr.images, config.wbf);
const split = splitVindr(
  fusion.images,
  config.wbf.splitFractions,
  makeRng(config.seed).fork('02_wbf').fork('split'),
);
const byId = new Map(fusion.images.map((im) => [im.imageId, im]));
for (const s of ['train', 'val', 'test'] as const)
  writeFusedSplit(
    config.paths.results,
    s,
    split[s].map((id) => byId.get(id)!),
  );
const splits = detectionSplits(config, vindr);
const withBoxes = (s: keyof typeof splits): number => splits[s].filter((im) => im.boxes.length > 0).length;
console.log(
  `split: train ${splits.train.length} (${withBoxes('train')} with boxes), val ${splits.val.length} (${withBoxes('val')}), test ${splits.test.length} (${withBoxes('test')})`,
);

if (args.coverage) {
  const train = splits.train.filter((im) => im.boxes.length > 0);
  for (const size of [96, 128, 160, 192]) {
    for (const scale of [2, 4, 8]) {
      const padded = Math.ceil(size / 32) * 32;
      const opts = { ...MMDET_ANCHORS, scales: [scale] };
      const all = gridAnchors(
        opts.strides.map((s): [number, number] => [Math.ceil(padded / s), Math.ceil(padded / s)]),
        opts,
        [padded, padded],
      ).anchors;
      const anchors: number[][] = [];
      for (const level of all)
        for (let i = 0; i < level.length; i += 4) anchors.push(Array.from(level.subarray(i, i + 4)));
      const perClass = new Map<number, { sides: number[]; covered: number }>();
      for (const im of train) {
        const k = keepRatioSize(im.width, im.height, size);
        im.boxes.forEach((b, j) => {
          const box = [b[0]! * k.wScale, b[1]! * k.hScale, b[2]! * k.wScale, b[3]! * k.hScale];
          const c = perClass.get(im.labels[j]!) ?? { sides: [], covered: 0 };
          c.sides.push(Math.sqrt((box[2]! - box[0]!) * (box[3]! - box[1]!)));
          let best = 0;
          for (const a of anchors) best = Math.max(best, iou(box, a));
          if (best >= 0.3) c.covered++;
          perClass.set(im.labels[j]!, c);
        });
      }
      const rows = [...perClass]
        .sort((a, b) => a[0] - b[0])
        .map(([c, v]) => {
          const s = [...v.sides].sort((x, y) => x - y);
          return `${VINDR_CLASSES[c]} ${s[s.length >> 1]!.toFixed(1)}px ${((100 * v.covered) / s.length).toFixed(0)}%`;
        });
      console.log(`coverage ${size}px anchors scale ${scale}: ${rows.join('; ')}`);
    }
  }
}

for (const run of args.runs ?? [{}]) {
  const config = configFor(run.detection ?? {});
  const d = config.detection;
  console.log(`\nRUN detection ${JSON.stringify(run.detection ?? {})}; vindrImages ${n}`);
  const trainImages = d.filterEmptyGt ? splits.train.filter((im) => im.boxes.length > 0) : splits.train;
  for (const size of d.inputSizes) {
    const t0 = performance.now();
    const sets = {
      train: await loadDetectionSet(trainImages, size),
      val: await loadDetectionSet(splits.val, size),
      test: await loadDetectionSet(splits.test, size),
    };
    console.log(`loaded ${size}px sets in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    for (const init of run.inits ?? ['imagenet']) {
      if (init !== 'none' && !existsSync(backbonePath(config, init))) {
        if (init !== 'imagenet') throw new Error(`${init}: no backbone in ${config.paths.checkpoints}`);
        const r = await imagenetInit(config, makeRng(config.seed).fork('03_pretraining').fork('proxy'));
        console.log(`ImageNet-proxy trained: ${JSON.stringify(r).slice(0, 200)}`);
      }
      for (const seed of run.seeds ?? [config.seeds[0]!]) {
        const r = await trainDetector(
          config,
          init,
          seed,
          sets,
          makeRng(config.seed).fork('04_detection').fork(`${init}:${size}:${seed}`),
          { diagnose: args.diagnose ?? true },
        );
        if (!r) continue;
        const steps = Math.ceil(sets.train.images.shape[0] / d.batchSize) * d.epochs;
        console.log(
          `RESULT ${init} ${size}px seed ${seed}: test mAP50 ${r.testMap.toFixed(4)} (all ${r.testMapAll.toFixed(4)}, last epoch ${r.testMapLast.toFixed(4)}) best epoch ${r.bestEpoch}/${d.epochs}; val ${r.epochs.map((e) => e.valMap.toFixed(3)).join(' ')}; ${r.seconds}s for ${steps} steps`,
        );
        console.log(
          `  per class: ${r.testPerClass
            .map((ap, c) => (ap === null ? null : `${VINDR_CLASSES[c]} ${ap.toFixed(2)}`))
            .filter(Boolean)
            .join('; ')}`,
        );
      }
    }
    for (const s of Object.values(sets)) s.images.dispose();
  }
}
