/**
 * Detector speed: Faster R-CNN + FPN on a ResNet-50, training steps and inference, images per
 * second, at 224 and 640 px, beside torchvision's `fasterrcnn_resnet50_fpn` (random weights, 2 torch
 * threads, our loader's OPENBLAS_CORETYPE) run by bench/peers/detection_torchvision.py.
 *
 * Both sides do the same work per step:
 *   - ResNet-50 v1.5 (blocks [3, 4, 6, 3], width 64, 3 input channels), FPN 256, RPN 3 anchors per
 *     cell on P2–P6, box head 2 x 1024 FC, 14 + background classes; random weights;
 *   - batch 2 (MMDetection's 2 images per GPU) of one fixed random image size, one box per image;
 *   - MMDetection's faster_rcnn_r50_fpn sampling: RPN 2000 per level before NMS and 1000 after it
 *     (training and test), 256 anchors per image; 512 RoIs per image (the peer's options are set to
 *     these values; torchvision's default keeps 2000 proposals after NMS in training);
 *   - backbone as torchvision's default: stem and layer1 frozen (MMDetection frozen_stages=1,
 *     torchvision trainable_backbone_layers=3) and BatchNorm frozen: running statistics in the
 *     forward pass (MMDetection norm_eval) and no update to γ/β (torchvision's FrozenBatchNorm2d;
 *     MMDetection would train γ/β, a few thousand scalars).
 *   - subnormal floats flushed to zero on both sides (our native kernels always, as TensorFlow's;
 *     torch.set_flush_denormal(True) in the peer): a random detector's gradients are full of them
 *     and x86 arithmetic on them is ~100x slower (an unflushed run times that penalty instead).
 * What still differs: torchvision's transform normalises and resizes (a no-op scale here) inside
 * the model; our images arrive normalised. The RoI sampling draws different random RoIs.
 *
 * On 2 cores a 640 px ResNet-50 step takes many seconds, so the repetitions are few: one warm-up
 * and `reps` timed (median). The run is also the honest cost of the `paper` profile on a CPU.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine.js';
import { FasterRcnn } from '../src/models/fasterRcnn/detector.js';
import { detectionTrainStep } from '../src/models/fasterRcnn/train.js';
import { ResNet } from '../src/models/resnet.js';
import { makeRng } from '../src/rng.js';
import { resnetBackbone } from '../src/train/detectionRun.js';
import { peerName, runPeer } from './peer.js';
import { faster, median, type BenchResult } from './registry.js';

/** Median images/s of `fn` over `reps` timed calls after one warm-up call. */
function ips(fn: () => void, images: number, reps: number): { ips: number; seconds: number[] } {
  fn(); // warm-up (kernels, optimizer slots)
  const seconds: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    seconds.push((performance.now() - t0) / 1000);
  }
  return { ips: images / median(seconds), seconds };
}

/** ResNet-50 Faster R-CNN with the torchvision-default backbone freezing described in the header. */
function buildR50Detector(seed: number): { model: FasterRcnn; resnet: ResNet } {
  const rng = makeRng(seed);
  const resnet = new ResNet({ blocks: [3, 4, 6, 3], width: 64, inChannels: 3 }, rng.fork('backbone'));
  const backbone = resnetBackbone(resnet, { normEval: true, frozenStages: 1 });
  // FrozenBatchNorm2d: γ and β of every BatchNorm stay fixed too.
  const norms = new Set(
    resnet.store
      .all()
      .filter((p) => p.kind === 'norm')
      .map((p) => p.name),
  );
  resnet.store.freeze((name) => norms.has(name));
  return {
    model: new FasterRcnn(
      backbone,
      { numClasses: 14, fpnChannels: 256, boxFcWidth: 1024 },
      rng.fork('heads'),
    ),
    resnet,
  };
}

/** Runs the detector bench; `sizes` default [224, 640], `reps` timed repetitions (default 2 up to 320 px, else 1), `batch` default 2. */
export async function run(
  opts: { sizes?: number[]; reps?: number; batch?: number; peer?: boolean } = {},
): Promise<BenchResult[]> {
  const sizes = opts.sizes ?? [224, 640];
  const batch = opts.batch ?? 2;
  // The backend the notebooks use (cxr-cpu here), not whatever tfjs would pick by itself.
  const engine = await initEngine('auto');
  const rows: BenchResult[] = [];
  for (const size of sizes) {
    const reps = opts.reps ?? (size <= 320 ? 2 : 1);
    const spec = { size, batch, warmup: 1, steps: reps };
    const peer = opts.peer === false ? null : runPeer('detection_torchvision.py', spec, 1800);
    if (peer && !peer.ok) console.warn(`detection peer failed at ${size}px: ${peer.reason}`);
    const p = peer?.ok
      ? (peer.data as {
          train_ips: number;
          infer_ips: number;
          train_seconds: number[];
          infer_seconds: number[];
        })
      : null;
    const { model, resnet } = buildR50Detector(1);
    const images = tf.randomUniform([batch, size, size, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const s = size / 4;
    const targets = Array.from({ length: batch }, () => ({ boxes: [[s, s, 2 * s, 2.5 * s]], labels: [1] }));
    const opt = tf.train.momentum(0.001, 0.9);
    const rng = makeRng(3);
    let step = 0;
    const train = ips(
      () => {
        detectionTrainStep(model, opt, images, targets, { weightDecay: 1e-4, rng: rng.fork(step), step });
        step++;
      },
      batch,
      reps,
    );
    const infer = ips(
      () => {
        model.detect(images);
      },
      batch,
      reps,
    );
    console.log(
      `  ${size}px batch ${batch}: ours train ${train.seconds.map((t) => t.toFixed(1)).join(', ')} s/step, inference ${infer.seconds.map((t) => t.toFixed(1)).join(', ')} s/batch; ` +
        `peer train ${p?.train_seconds.map((t) => t.toFixed(1)).join(', ') ?? '-'}, inference ${p?.infer_seconds.map((t) => t.toFixed(1)).join(', ') ?? '-'}`,
    );
    rows.push(
      faster(
        `detector R50-FPN train ${size}px b${batch} (${engine.backend})`,
        train.ips,
        'images/s',
        peerName,
        p?.train_ips ?? null,
      ),
    );
    rows.push(
      faster(
        `detector R50-FPN inference ${size}px b${batch} (${engine.backend})`,
        infer.ips,
        'images/s',
        peerName,
        p?.infer_ips ?? null,
      ),
    );
    tf.dispose([images]);
    opt.dispose();
    tf.dispose([...model.fpn.variables(), ...model.rpn.variables(), ...model.roiHeads.variables()]);
    resnet.dispose();
  }
  return rows;
}

// `node build/bench/detection.js [size ...]` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  run({ sizes: sizes.length ? sizes : undefined }).then((rows) => console.log(JSON.stringify(rows, null, 2)));
}
