/**
 * Supervised pretraining on the procedural natural-image PROXY task (src/data/naturalImages.ts): the
 * stand-in for ImageNet initialisation in the smoke/demo profiles. A ResNet with a `fc` head is trained
 * with SGD (momentum 0.9 as torch.optim.SGD, cross-entropy) through the common training loop; its backbone then plays the
 * part of "ImageNet weights" and must be called a proxy wherever it is shown.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import type { RawTensor } from './weights.js';
import type { ResNet } from './resnet.js';
import type { TrainTask } from '../train/loop.js';
import { batchIndices } from '../train/pretrain.js';
import { SgdMomentum } from '../train/sgd.js';
import { warmupCosine } from '../train/schedule.js';

export interface ProxyTaskOptions {
  batchSize: number;
  /** Peak learning rate; constant unless `totalSteps` is given. */
  lr: number;
  seed: number;
  /** Random horizontal flips of the training images. */
  flip?: boolean;
  /** With `totalSteps`: linear warm-up over `warmupSteps`, then cosine decay to 0 at `totalSteps`. */
  totalSteps?: number;
  warmupSteps?: number;
  /** L2 weight decay (torch.optim.SGD's `weight_decay`). */
  weightDecay?: number;
}

/** Classification of proxy images as a `TrainTask`. images: `[count, H, W, 1]` (the task keeps, the caller frees). */
export class ProxyPretrainTask implements TrainTask {
  // torch.optim.SGD(momentum=0.9), no weight decay; checkpoints key its buffers by parameter name.
  private readonly sgd: SgdMomentum;
  private readonly paramName = new Map<tf.Variable, string>();
  private readonly labels: tf.Tensor1D;

  constructor(
    readonly model: ResNet,
    readonly images: tf.Tensor4D,
    labels: number[],
    readonly opts: ProxyTaskOptions,
  ) {
    if (!model.store.has('fc.weight')) throw new Error('ProxyPretrainTask: the ResNet needs numClasses > 0');
    this.labels = tf.tensor1d(labels, 'int32');
    const trainable = model.store.trainable();
    for (const p of trainable) this.paramName.set(p.variable, p.name);
    this.sgd = new SgdMomentum(
      [{ variables: trainable.map((p) => p.variable), weightDecay: opts.weightDecay ?? 0 }],
      0.9,
    );
  }

  private readonly nameOf = (v: tf.Variable): string => this.paramName.get(v)!;

  stateTensors(): Map<string, tf.Tensor> {
    const m = new Map<string, tf.Tensor>(this.model.store.all().map((p) => [p.name, p.variable]));
    for (const [name, v] of this.sgd.state(this.nameOf)) m.set(`optimizer.velocity.${name}`, v);
    return m;
  }

  loadStateTensors(tensors: Map<string, RawTensor>): void {
    for (const p of this.model.store.all()) {
      const t = tensors.get(p.name);
      if (!t) throw new Error(`checkpoint lacks ${p.name}`);
      p.variable.assign(tf.tensor(t.data, t.shape));
    }
    const saved = new Map<string, tf.Tensor>();
    for (const [name, t] of tensors)
      if (name.startsWith('optimizer.velocity.')) saved.set(name.slice(19), tf.tensor(t.data, t.shape));
    this.sgd.loadState(saved, this.nameOf);
    tf.dispose([...saved.values()]);
  }

  trainStep(step: number, rng: Rng): number {
    const idx = batchIndices(this.images.shape[0], this.opts.batchSize, step, this.opts.seed);
    const flips = idx.map(() => (this.opts.flip ?? true) && rng.next() < 0.5);
    const trainable = this.model.store.trainable();
    const { value: loss, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const i = tf.tensor1d(idx, 'int32');
          let x = tf.gather(this.images, i) as tf.Tensor4D;
          const mask = tf.tensor4d(
            flips.map((f) => (f ? 1 : 0)),
            [idx.length, 1, 1, 1],
          );
          x = tf.add(tf.mul(tf.reverse(x, 2), mask), tf.mul(x, tf.sub(1, mask))) as tf.Tensor4D;
          const y = tf.oneHot(tf.gather(this.labels, i), this.model.options.numClasses);
          return tf.losses.softmaxCrossEntropy(
            y,
            this.model.forward(x, { training: true }).logits!,
          ) as tf.Scalar;
        }),
      trainable.map((p) => p.variable),
    );
    this.sgd.step(grads, this.lrAt(step));
    const v = loss.dataSync()[0]!;
    tf.dispose([loss, ...Object.values(grads)]);
    return v;
  }

  /** The learning rate of (0-based) `step`: a function of the step, so a resumed run continues the schedule. */
  lrAt(step: number): number {
    const { lr, totalSteps, warmupSteps } = this.opts;
    if (!totalSteps) return lr;
    return warmupCosine(step, { base: lr, totalSteps, warmupSteps: warmupSteps ?? 0 });
  }

  /** Top-1 accuracy on `[N,H,W,1]` images (eval-mode BatchNorm). */
  accuracy(images: tf.Tensor4D, labels: number[]): number {
    // dataSync outside the tidy: tidy walks what it returns, a typed array element by element.
    const t = tf.tidy(() => tf.argMax(this.model.forward(images, { training: false }).logits!, 1));
    try {
      const pred = t.dataSync();
      return labels.filter((l, i) => pred[i] === l).length / labels.length;
    } finally {
      t.dispose();
    }
  }

  dispose(): void {
    this.sgd.dispose();
    this.labels.dispose();
  }
}
