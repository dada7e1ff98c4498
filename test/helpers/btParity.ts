/**
 * The Barlow Twins training-parity case, built the same way by the test (test/train/btParity.test.ts)
 * and by the exporter that hands it to the PyTorch peer (bench/peers/btParityExport.ts →
 * bench/peers/bt_parity.py → test/fixtures/bt_training_parity.json).
 *
 * The model is the demo's architecture family at a size whose 50 steps take seconds: a bottleneck
 * ResNet with two blocks per stage (so every stage has a down-sampling block and an identity block,
 * as the demo's [2,2,2,2]), stem width 4, zero-initialised residual BatchNorm (main.py), and a
 * 3-layer projector 64-64-64. The views are ten fixed pairs cut from sixteen phantom films by our
 * augmentation, cycled over the 50 steps; nothing is re-drawn, so both sides see the same tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { barlowTwinsViews } from '../../src/data/augment.js';
import { renderFilm } from '../../src/data/phantom/render.js';
import { BarlowTwins } from '../../src/models/barlowTwins.js';
import { ResNet } from '../../src/models/resnet.js';
import { makeRng } from '../../src/rng.js';
import { PretrainTask, type PretrainTaskOptions } from '../../src/train/pretrain.js';

export const BT_PARITY = {
  seed: 7,
  blocks: [2, 2, 2, 2] as [number, number, number, number],
  width: 4,
  imageSize: 48,
  inputSize: 32,
  batch: 16,
  projector: [64, 64, 64],
  lambda: 0.0051,
  steps: 50,
  pairs: 10,
  // main.py's schedule with 10 "batches per epoch" and a 1-epoch warm-up; lrWeights 4 at batch 16
  // is a base lr of 0.25 (trust-ratio steps of ~0.025 % of each weight's norm, ×10 with momentum), so the weights move
  // enough in 50 steps for the backward pass and LARS to show in the loss.
  lrWeights: 4,
  lrBiases: 0.0048,
  weightDecay: 1e-6,
  warmupEpochs: 1,
  loaderLen: 10,
  epochs: 5,
};

export interface BtParityCase {
  model: BarlowTwins;
  task: PretrainTask;
  /** `views[k]` is the pair used at steps k, k + pairs, … */
  views: [tf.Tensor4D, tf.Tensor4D][];
  dispose(): void;
}

export function btParityCase(): BtParityCase {
  const c = BT_PARITY;
  const rng = makeRng(c.seed);
  const backbone = new ResNet(
    { blocks: c.blocks, width: c.width, inChannels: 1, zeroInitResidual: true },
    rng.fork('backbone'),
  );
  const model = new BarlowTwins(backbone, c.projector, rng.fork('projector'), c.lambda);
  const filmRng = rng.fork('films');
  const px = new Float32Array(c.batch * c.imageSize * c.imageSize);
  for (let i = 0; i < c.batch; i++)
    px.set(
      renderFilm(c.imageSize, c.imageSize, [], 'nih', filmRng.fork(i)).brightness,
      i * c.imageSize * c.imageSize,
    );
  const images = tf.tensor4d(px, [c.batch, c.imageSize, c.imageSize, 1]);
  const views = Array.from({ length: c.pairs }, (_, k) =>
    barlowTwinsViews(images, c.inputSize, rng.fork(`views:${k}`)),
  );
  images.dispose();
  const opts: PretrainTaskOptions = {
    batchSize: c.batch,
    inputSize: c.inputSize,
    epochs: c.epochs,
    stepsPerEpoch: c.loaderLen,
    lrWeights: c.lrWeights,
    lrBiases: c.lrBiases,
    weightDecay: c.weightDecay,
    warmupEpochs: c.warmupEpochs,
    seed: c.seed,
  };
  const task = new PretrainTask(
    model,
    {
      count: c.batch,
      batch: () => {
        throw new Error('the parity case feeds fixed views');
      },
    },
    opts,
  );
  return {
    model,
    task,
    views,
    dispose: () => {
      task.dispose();
      model.dispose();
      tf.dispose(views.flat());
    },
  };
}

/** Σx and Σx² in float64 over a tensor's values (a fingerprint that the inputs are the peer's). */
export function moments(t: tf.Tensor): [number, number] {
  let s = 0;
  let q = 0;
  for (const v of t.dataSync()) {
    s += v;
    q += v * v;
  }
  return [s, q];
}
