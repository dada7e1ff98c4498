/**
 * Benchmark: Ablation-CAM throughput, in channels ablated per second, at the paper's layer: ResNet-50
 * `layer3` at 224 px is 1,024 channels of 14×14. The head above it is a stand-in for `layer4` + pool +
 * fc with about the same cost: a 3×3 convolution 1024→2048 stride 2 (1.85 GFLOP per row against
 * layer4's ~1.6), ReLU, global average pool, linear 2048→1000; random weights, target = class 0.
 *
 * Ours: `ablationCam` as the notebook calls it (batches of 32, the unablated pass included), on the
 * backend `initEngine` picks. Peer: the same batched loop in plain PyTorch (bench/peers/ablation_cam.py;
 * pytorch-grad-cam itself is not installable here), 2 threads. Both time as many channels as fit in
 * about `SECONDS`, after a calibration batch, since all 1,024 take hours on plain tfjs-cpu.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { ablationCam } from '../src/explain/ablationCam.js';
import { makeRng, tfSeed } from '../src/rng.js';
import { peerUnavailable, runPython, type BenchResult } from './lib/peers.js';

const K = 1024,
  SIDE = 14,
  OUT = 2048,
  CLASSES = 1000,
  BATCH = 32,
  SECONDS = 20;

/** bench/peers/ablation_cam.py, found from build/bench/ or bench/. */
function peerScript(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'bench', 'peers', 'ablation_cam.py');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}

/** Times `ablationCam` on `channels` channels (the largest, so a fraction picks them); returns channels/s. */
async function timeOurs(
  acts: tf.Tensor4D,
  head: (x: tf.Tensor4D) => tf.Tensor,
  channels: number,
): Promise<number> {
  const t0 = performance.now();
  const r = await ablationCam({
    activations: acts,
    head,
    imageSize: [224, 224],
    batchSize: BATCH,
    channelFraction: channels / K,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.ablated.length !== channels)
    throw new Error(`bench cam: ablated ${r.ablated.length} channels, expected ${channels}`);
  return channels / seconds;
}

/** Runs the benchmark; returns one result, channels ablated per second, ours and the peer's. */
export async function run(): Promise<BenchResult[]> {
  const config = makeConfig({ notebook: 'bench' });
  const engine = await initEngine(config.backend);
  const rng = makeRng(2024);
  const acts = tf.tidy(() =>
    tf.relu(tf.randomNormal([1, SIDE, SIDE, K], 0, 1, 'float32', tfSeed(rng))),
  ) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, K, OUT], 0, Math.sqrt(2 / (9 * K)), 'float32', tfSeed(rng)) as tf.Tensor4D;
  const fc = tf.randomNormal([OUT, CLASSES], 0, Math.sqrt(1 / OUT), 'float32', tfSeed(rng)) as tf.Tensor2D;
  const head = (x: tf.Tensor4D): tf.Tensor =>
    tf.tidy(() =>
      tf
        .matMul(tf.mean(tf.relu(tf.conv2d(x, w, 2, 'same')), [1, 2]) as tf.Tensor2D, fc)
        .slice([0, 0], [-1, 1])
        .reshape([-1]),
    );
  let ours: number;
  try {
    // Calibration (and warm-up): 8 channels; then as many whole batches as fit in SECONDS.
    const rate = await timeOurs(acts, head, 8);
    const channels = Math.max(8, Math.min(K, Math.floor((rate * SECONDS) / BATCH) * BATCH || 8));
    ours = await timeOurs(acts, head, channels);
    process.stderr.write(`[bench] cam: ${channels} channels on ${engine.backend}\n`);
  } finally {
    tf.dispose([acts, w, fc]);
  }

  let peer: string | null = null,
    peerValue: number | null = null;
  const script = peerScript();
  if (!script) peerUnavailable('PyTorch ablation loop', 'bench/peers/ablation_cam.py not found');
  else {
    const r = runPython(readFileSync(script, 'utf8'), {
      threads: 2,
      seed: 2024,
      channels: K,
      height: SIDE,
      width: SIDE,
      batch_size: BATCH,
      out_channels: OUT,
      classes: CLASSES,
      seconds: SECONDS,
    });
    if (r instanceof Error) peerUnavailable('PyTorch ablation loop', r.message);
    else {
      peer = `batched Ablation-CAM loop in PyTorch ${r.torch} (bench/peers/ablation_cam.py, 2 threads, ${r.channels} channels)`;
      peerValue = r.channels / r.seconds;
    }
  }
  return [
    {
      name: `ablation_cam_resnet50_layer3_${K}ch_${SIDE}x${SIDE}_${engine.backend}`,
      value: ours,
      unit: 'channels/s',
      peer,
      peerValue,
      ratio: peerValue ? ours / peerValue : null,
    },
  ];
}
