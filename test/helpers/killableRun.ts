/**
 * A tiny training run in its own process, for test/train/killRestart.test.ts:
 *   node build/test/helpers/killableRun.js <pretrain|detection> <dir> <killAtRead>
 * Runs Barlow Twins pretraining (`pretrainBarlowTwins`, 2 epochs of 2 steps) or a detection fine-tuning
 * (`trainDetector`, 2 epochs of 2 steps) with its checkpoints in `<dir>`, and SIGKILLs itself (no clean-up,
 * as a crash or `kill -9` would) when the training data is read for the `killAtRead`-th time (0: never).
 * A finished run writes `<dir>/result.json` (losses, the run's numbers, a hash of the final weights) and
 * prints every log line.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeConfig, type Config } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import { backbonePath } from '../../src/models/backbones.js';
import { makeRng } from '../../src/rng.js';
import { inMemoryDetSet, trainDetector, type DetSet } from '../../src/train/detectionRun.js';
import type { ImageSource } from '../../src/train/pretrain.js';
import { pretrainBarlowTwins } from '../../src/train/pretrainRun.js';
import { makePhantoms } from '../models/fasterRcnn/phantoms.js';
import { TINY_DETECTION } from './tinyDetector.js';

const [kind, dir, killAt] = process.argv.slice(2) as [string | undefined, string, string];
// `npm test` runs every file under build/test/; without arguments this one has nothing to do.
if (kind === undefined) process.exit(0);
const killAtRead = Number(killAt);
let reads = 0;
const read = (): void => {
  reads++;
  if (killAtRead > 0 && reads === killAtRead) process.kill(process.pid, 'SIGKILL');
};
const log = (l: string): void => console.log(l);
const hash = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

await initEngine('cpu');
const config: Config = makeConfig({
  notebook: 'kill-test',
  profile: 'smoke',
  // Folders that do not exist: the runs' keys must not depend on a phantom another test may be writing.
  env: { CXR_SEED: '3', CXR_NIH_DIR: join(dir, 'no-nih'), CXR_VINDR_DIR: join(dir, 'no-vindr') },
  paths: { checkpoints: join(dir, 'ck'), results: join(dir, 'results') } as Config['paths'],
  backbone: { blocks: [1, 1, 1, 1], width: 2, inputSize: 32 },
  pretrain: {
    projector: [16, 16],
    batchSize: 4,
    microBatch: 2,
    epochs: 2,
    maxStepsPerEpoch: 2,
    warmupEpochs: 1,
    knn: 0,
    probeImages: 8,
    logEverySeconds: 0,
  },
  detection: TINY_DETECTION,
});

if (kind === 'pretrain') {
  const all = tf.randomUniform([12, 40, 40, 1], 0, 1, 'float32', 21) as tf.Tensor4D;
  const source: ImageSource = {
    count: 12,
    batch: (idx) => {
      read();
      return tf.gather(all, idx) as tf.Tensor4D;
    },
  };
  const r = await pretrainBarlowTwins(config, 'bt', source, makeRng(4).fork('bt'));
  writeFileSync(
    join(dir, 'result.json'),
    JSON.stringify({ losses: r.losses, after: r.after, weights: hash(backbonePath(config, 'bt')) }),
  );
} else {
  const set = (n: number, seed: number, counted: boolean): DetSet => {
    const p = makePhantoms(n, 64, makeRng(seed));
    const images = tf.tidy(() => p.images.slice([0, 0, 0, 0], [-1, -1, -1, 1]) as tf.Tensor4D);
    p.images.dispose();
    const s = inMemoryDetSet(images, {
      targets: p.targets,
      ids: p.targets.map((_, i) => `im${seed}-${i}`),
      sizesHw: p.targets.map(() => [64, 64]),
      scales: p.targets.map(() => [1, 1]),
      original: p.targets.map((t) => ({ boxes: t.boxes.map((b) => [...b]), labels: [...t.labels] })),
    });
    if (!counted) return s;
    return {
      ...s,
      batch: (idx) => {
        read();
        return s.batch(idx);
      },
    };
  };
  const sets = { train: set(4, 1, true), val: set(2, 2, false), test: set(2, 3, false) };
  const save = join(dir, 'detector.safetensors');
  const r = (await trainDetector(config, 'none', 7, sets, makeRng(5).fork('run'), {
    log,
    save,
    checkpoint: join(dir, 'ck', 'detector.ckpt'),
    best: join(dir, 'ck', 'detector.best'),
  }))!;
  writeFileSync(join(dir, 'result.json'), JSON.stringify({ run: { ...r, seconds: 0 }, weights: hash(save) }));
}
process.exit(0);
