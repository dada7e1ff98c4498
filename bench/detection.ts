/**
 * Detector speed: Faster R-CNN + FPN training steps and inference, images per second, at 224 and
 * 640 px, beside torchvision's `fasterrcnn_resnet50_fpn` (random weights, 2 torch threads) run by
 * `/usr/bin/python3 bench/peers/detection_torchvision.py`.
 *
 * Backbone: NOT a ResNet-50 (src/models/resnet.ts lives on another branch); the stand-in is
 * `makeTinyBackbone` with C2–C5 widths 64/128/256/512 (one strided 3x3 conv per stage), while the
 * FPN (256), RPN and box head (2 x 1024) are full-size. The peer runs a real ResNet-50, so the ratio
 * flatters us on the backbone part; it is a lower bound on the gap.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { FasterRcnn } from '../src/models/fasterRcnn/detector.js';
import { makeTinyBackbone } from '../src/models/fasterRcnn/backbone.js';
import { detectionTrainStep } from '../src/models/fasterRcnn/train.js';
import { makeRng } from '../src/rng.js';
import type { BenchResult as BenchRow } from './registry.js';


function peerTimes(sizes: number[]): Record<string, { train_ips: number; infer_ips: number }> | null {
  // build/bench/detection.js -> <repo>/bench/peers/...
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'peers', 'detection_torchvision.py');
  try {
    const out = execFileSync('/usr/bin/python3', [script, ...sizes.map(String)], { encoding: 'utf8', timeout: 900_000 });
    return JSON.parse(out.trim().split('\n').pop()!) as Record<string, { train_ips: number; infer_ips: number }>;
  } catch {
    return null;
  }
}

function ips(fn: () => void, images: number, reps: number): number {
  fn(); // warm-up (kernels, optimizer slots)
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (images * reps) / ((performance.now() - t0) / 1000);
}

/** Runs the detector bench; `sizes` default [224, 640], `reps` timed repetitions (default 2). */
export async function run(opts: { sizes?: number[]; reps?: number; peer?: boolean } = {}): Promise<BenchRow[]> {
  const sizes = opts.sizes ?? [224, 640];
  const reps = opts.reps ?? 2;
  const peer = opts.peer === false ? null : peerTimes(sizes);
  const peerName = 'torchvision fasterrcnn_resnet50_fpn (CPU, 2 threads)';
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    const rng = makeRng(1);
    const model = new FasterRcnn(makeTinyBackbone(rng, [64, 128, 256, 512]), { numClasses: 14 }, rng);
    const images = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const s = size / 4;
    const targets = [{ boxes: [[s, s, 2 * s, 2.5 * s]], labels: [1] }];
    const opt = tf.train.momentum(0.001, 0.9);
    const train = ips(() => detectionTrainStep(model, opt, images, targets), 1, reps);
    const infer = ips(() => model.detect(images), 1, reps);
    const p = peer?.[String(size)];
    rows.push({ name: `detector train ${size}px (tiny backbone)`, value: train, unit: 'images/s', peer: peerName, peerValue: p?.train_ips ?? null, ratio: p ? train / p.train_ips : null });
    rows.push({ name: `detector inference ${size}px (tiny backbone)`, value: infer, unit: 'images/s', peer: peerName, peerValue: p?.infer_ips ?? null, ratio: p ? infer / p.infer_ips : null });
    tf.dispose([images]);
    opt.dispose();
    tf.dispose(model.trainableVariables());
  }
  return rows;
}

// `node build/bench/detection.js` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().then((rows) => console.log(JSON.stringify(rows, null, 2)));
}
