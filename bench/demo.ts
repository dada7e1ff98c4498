/**
 * Bench `demo`: the demo profile's own workloads, read from its config (src/config.ts, so the rows
 * follow whatever the demo trains), beside PyTorch (bench/peers/demo_torch.py, Debian's torch, 2
 * threads) doing the same work in the same run:
 *   - `demo-bt-step`: one Barlow Twins step as notebook 03 runs it (`PretrainTask.trainStep`: the
 *     batch gathered from images at `pretrain.sourceSize`, both augmented views made, backbone +
 *     projector + loss + LARS), image pairs/s. The peer augments each image with torchvision's
 *     transforms of the same semantics (src/data/augment.ts's header) and trains the same model.
 *   - `demo-detection-train-step`: one Faster R-CNN step as notebook 04 runs it
 *     (`detectionTrainStep` on the config's detector, `detectorOnResnet`: input size, batch, FPN and box-head widths,
 *     proposal counts, RoIs per image, frozen stages, gradient clipping), images/s. The peer is
 *     torchvision's FasterRCNN built to the same sizes on the same backbone.
 *   - `demo-probe-features`: the frozen backbone's eval-mode feature pass of the linear evaluation
 *     (`extractFeatures`, batch 64, at the backbone's input size), images/s.
 * Each figure is the median of `steps` timed calls after `warmup` untimed ones, on both sides (default 5 and 5):
 * a process's first few training steps cost 1.3–2× the later ones (allocation, the buffer pool and the
 * allocator filling), and the notebooks run hundreds of steps, so the bench times the steady state.
 * Each row measures ours, then the peer, `rounds` times (registry.ts `alternate`; each round builds its
 * model afresh and warms it up again); the row's figures are the medians over the rounds.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { makeConfig, type Config } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { BarlowTwins } from '../src/models/barlowTwins.js';
import { makeBackbone } from '../src/models/backbones.js';
import { detectorOnResnet } from '../src/models/detectorBuild.js';
import { detectionTrainStep } from '../src/models/fasterRcnn/train.js';
import { ResNet } from '../src/models/resnet.js';
import { momentumOptimizer } from '../src/backend/index.js';
import { makeRng } from '../src/rng.js';
import { extractFeatures } from '../src/train/linearEval.js';
import { PretrainTask, type ImageSource } from '../src/train/pretrain.js';
import { runPeer } from './peer.js';
import { alternate, benchRounds, faster, median, type BenchResult } from './registry.js';

/** Median seconds of `fn` over `steps` timed calls after `warmup` untimed ones. */
// Process CPU seconds (all threads) of each call are printed beside the wall times: on a busy machine
// they say more than the wall clock does (PyTorch's spinning OpenMP threads inflate its CPU time, though).
function timed(
  fn: () => void,
  steps: number,
  warmup: number,
): { median: number; seconds: number[]; cpu: number[] } {
  for (let i = 0; i < warmup; i++) fn();
  const seconds: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    seconds.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { median: median(seconds), seconds, cpu };
}

interface PeerTiming {
  name: string;
  value: number | null;
  seconds: number[];
  cpu: number[];
}
const NO_PEER: PeerTiming = { name: 'none', value: null, seconds: [], cpu: [] };

function peer(spec: Record<string, unknown>): PeerTiming {
  const r = runPeer('demo_torch.py', { threads: 2, ...spec }, 1800);
  if (!r.ok) {
    console.warn(`  demo peer (${String(spec.mode)}) failed: ${r.reason}`);
    return { ...NO_PEER, name: `pytorch (failed: ${r.reason.slice(0, 120)})` };
  }
  const d = r.data as { torch: string; per_s: number; seconds: number[]; cpu_seconds: number[] };
  return { name: `pytorch ${d.torch} (2 threads)`, value: d.per_s, seconds: d.seconds, cpu: d.cpu_seconds };
}

const secs = (xs: number[]): string => xs.map((t) => t.toFixed(2)).join(', ') || '-';
const both = (t: { seconds: number[]; cpu: number[] }): string =>
  `${secs(t.seconds)} s (CPU ${secs(t.cpu)} s)`;

type Timing = ReturnType<typeof timed>;

/** One row: what ours times, the peer's spec (null: no peer), and how the row is named. */
interface RowSpec {
  rounds: number;
  /** Printed beside every call's times. */
  label: string;
  /** What one timed call is ('per step', 'per call') and how many items (image pairs, images) it handles. */
  call: string;
  items: number;
  ours: () => Timing;
  peerSpec: Record<string, unknown> | null;
  name: string;
  unit: string;
}

/**
 * A row's rounds (registry.ts `alternate`): ours, then the peer, `rounds` times, each side's figure its
 * items over its median call, every call's wall and CPU seconds printed; each round's pair kept in the row.
 */
function comparedRow(s: RowSpec): BenchResult {
  const r = alternate(
    s.rounds,
    () => {
      const t = s.ours();
      console.log(`  ${s.label}: ours ${both(t)} ${s.call}`);
      return s.items / t.median;
    },
    () => {
      const t = s.peerSpec ? peer(s.peerSpec) : NO_PEER;
      console.log(`  ${s.label}: peer ${both(t)} ${s.call}`);
      return { name: t.name, value: t.value };
    },
  );
  const row = faster(s.name, r.value, s.unit, r.peer, r.peerValue);
  return r.rounds.length > 1 ? { ...row, rounds: r.rounds } : row;
}

/** A bank of `count` random images `[count, size, size, 1]` in [0, 1] as an `ImageSource`. */
function randomSource(count: number, size: number): ImageSource & { dispose(): void } {
  const tensor = tf.randomUniform([count, size, size, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
  return {
    count,
    batch: (indices) => tf.tidy(() => tf.gather(tensor, tf.tensor1d(indices, 'int32')) as tf.Tensor4D),
    dispose: () => tensor.dispose(),
  };
}

export function btRow(
  config: Config,
  steps: number,
  warmup: number,
  withPeer = true,
  rounds = 1,
): BenchResult {
  const p = config.pretrain;
  const size = config.backbone.inputSize;
  // The size the pretraining source decodes images at (notebook 03's `nihTrainSource`).
  const imageSize = p.sourceSize;
  const bank = 4 * p.batchSize;
  const oursRound = (): Timing => {
    const rng = makeRng(1);
    const resnet = new ResNet(
      { blocks: config.backbone.blocks, width: config.backbone.width, inChannels: 1, zeroInitResidual: true },
      rng.fork('backbone'),
    );
    const model = new BarlowTwins(resnet, p.projector, rng.fork('projector'), p.lambda);
    const source = randomSource(bank, imageSize);
    const task = new PretrainTask(model, source, {
      batchSize: p.batchSize,
      microBatch: p.microBatch,
      inputSize: size,
      epochs: p.epochs,
      stepsPerEpoch: Math.floor(bank / p.batchSize),
      lrWeights: p.lrWeights,
      lrBiases: p.lrBiases,
      weightDecay: p.weightDecay,
      warmupEpochs: p.warmupEpochs,
      seed: 5,
    });
    let step = 0;
    const master = makeRng(7);
    const ours = timed(
      () => {
        task.trainStep(step, master.fork(step));
        step++;
      },
      steps,
      warmup,
    );
    task.dispose();
    source.dispose();
    tf.dispose([...model.namedVariables().values()]);
    return ours;
  };
  const row = comparedRow({
    rounds,
    label: `demo-bt-step ${size}px views of ${imageSize}px, batch ${p.batchSize}`,
    call: 'per step',
    items: p.batchSize,
    ours: oursRound,
    peerSpec: withPeer
      ? {
          mode: 'bt',
          blocks: config.backbone.blocks,
          width: config.backbone.width,
          projector: p.projector,
          lambda: p.lambda,
          batch: p.batchSize,
          size,
          imageSize,
          interpolation: p.interpolation,
          bank,
          steps,
          warmup,
        }
      : null,
    name: `demo-bt-step (ResNet [${config.backbone.blocks}] width ${config.backbone.width}, ${size}px views of ${imageSize}px, batch ${p.batchSize}${p.microBatch > 0 && p.microBatch < p.batchSize ? ` in micro-batches of ${p.microBatch} (the peer: one pass)` : ''}, projector ${p.projector.join('-')}, views included)`,
    unit: 'image pairs/s',
  });
  return row;
}

/**
 * The detection rows' batch (also the A/B scripts'): random images and two boxes per image at fixed places
 * (the demo's images have 0-3 fused boxes). The caller frees `images`.
 */
export function detectionBenchBatch(
  size: number,
  batch: number,
): { images: tf.Tensor4D; boxes: number[][][]; targets: { boxes: number[][]; labels: number[] }[] } {
  const images = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
  const s = size / 8;
  const boxes = Array.from({ length: batch }, (_, i) => [
    [s, s + (i % 3), 3 * s, 3.5 * s],
    [4 * s, 4 * s, 6.5 * s + (i % 2), 7 * s],
  ]);
  return { images, boxes, targets: boxes.map((b) => ({ boxes: b, labels: [1, 3] })) };
}

export function detectionRow(
  config: Config,
  steps: number,
  warmup: number,
  withPeer = true,
  rounds = 1,
): BenchResult {
  const d = config.detection;
  const size = d.inputSizes[0]!;
  const batch = d.batchSize;
  const { images, boxes, targets } = detectionBenchBatch(size, batch);
  const oursRound = (): Timing => {
    const rng = makeRng(2);
    const resnet = makeBackbone(config, rng.fork('backbone'));
    const detector = detectorOnResnet(resnet, d, rng.fork('heads'));
    const opt = momentumOptimizer(0.001, 0.9);
    const stepRng = makeRng(3);
    let step = 0;
    const ours = timed(
      () => {
        detectionTrainStep(detector, opt, images, targets, {
          weightDecay: d.weightDecay,
          clipNorm: d.gradClipNorm,
          rng: stepRng.fork(step),
          step,
        });
        step++;
      },
      steps,
      warmup,
    );
    opt.dispose();
    tf.dispose([...detector.fpn.variables(), ...detector.rpn.variables(), ...detector.roiHeads.variables()]);
    resnet.dispose();
    return ours;
  };
  const row = comparedRow({
    rounds,
    label: `demo-detection-train-step ${size}px batch ${batch}`,
    call: 'per step',
    items: batch,
    ours: oursRound,
    peerSpec: withPeer
      ? {
          mode: 'det',
          blocks: config.backbone.blocks,
          width: config.backbone.width,
          size,
          batch,
          steps,
          warmup,
          numClasses: 14,
          fpnChannels: d.fpnChannels,
          boxFcWidth: d.boxFcWidth,
          frozenStages: d.frozenStages,
          rpnPreNmsTopNTrain: d.rpnPreNmsTopNTrain,
          rpnPostNmsTopNTrain: d.rpnPostNmsTopNTrain,
          rpnPreNmsTopNTest: d.rpnPreNmsTopNTest,
          rpnPostNmsTopNTest: d.rpnPostNmsTopNTest,
          boxBatchSizePerImage: d.boxBatchSizePerImage,
          weightDecay: d.weightDecay,
          clipNorm: d.gradClipNorm,
          boxes,
          labels: targets.map((t) => t.labels.map((l) => l + 1)),
        }
      : null,
    name: `demo-detection-train-step (${size}px, batch ${batch}, FPN ${d.fpnChannels}, box head ${d.boxFcWidth}, proposals ${d.rpnPreNmsTopNTrain}/${d.rpnPostNmsTopNTrain}, ${d.boxBatchSizePerImage} RoIs/image)`,
    unit: 'images/s',
  });
  images.dispose();
  return row;
}

export function probeRow(
  config: Config,
  steps: number,
  warmup: number,
  withPeer = true,
  rounds = 1,
): BenchResult {
  const size = config.backbone.inputSize;
  const n = 256;
  const batch = 64;
  const oursRound = (): Timing => {
    const resnet = makeBackbone(config, makeRng(4));
    const images = tf.randomUniform([n, size, size, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
    const ours = timed(
      () => {
        extractFeatures(resnet, images, batch);
      },
      steps,
      warmup,
    );
    images.dispose();
    resnet.dispose();
    return ours;
  };
  const row = comparedRow({
    rounds,
    label: `demo-probe-features ${size}px, ${n} images in batches of ${batch}`,
    call: 'per call',
    items: n,
    ours: oursRound,
    peerSpec: withPeer
      ? {
          mode: 'probe',
          blocks: config.backbone.blocks,
          width: config.backbone.width,
          size,
          batch,
          images: n,
          steps,
          warmup,
        }
      : null,
    name: `demo-probe-features (frozen backbone, eval mode, ${size}px, batch ${batch})`,
    unit: 'images/s',
  });
  return row;
}

/**
 * The three rows; `steps` timed calls each after `warmup` untimed ones (default 5 and 5), ours and the
 * peer alternately for `rounds` rounds (default `benchRounds()`).
 */
export async function run(
  opts: { steps?: number; warmup?: number; peer?: boolean; rounds?: number } = {},
): Promise<BenchResult[]> {
  await initEngine('auto');
  // The demo profile as committed, whatever the environment says.
  const config = makeConfig({ notebook: 'bench', profile: 'demo', env: {} });
  const steps = opts.steps ?? 5;
  const warmup = opts.warmup ?? 5;
  const rounds = opts.rounds ?? benchRounds();
  return [
    btRow(config, steps, warmup, opts.peer, rounds),
    detectionRow(config, steps, warmup, opts.peer, rounds),
    probeRow(config, steps, warmup, opts.peer, rounds),
  ];
}

// `node build/bench/demo.js` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().then(
    (rows) => console.log(JSON.stringify(rows, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
