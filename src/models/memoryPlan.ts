/**
 * How much memory one Barlow Twins step needs, so that a `paper` run states its plan before it starts
 * instead of failing on day two. The backbone's activations are measured, not modelled: one image is run
 * forward under the gradient tape on the backend in use, and the bytes the tape keeps alive are read from
 * the engine. Everything else is counted from shapes.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResNet } from './resnet.js';

/** Bytes the tape keeps for one `[images, size, size, C]` forward of `backbone` in training mode. */
export function tapedForwardBytes(backbone: ResNet, inputSize: number, images: number): number {
  const vars = backbone.parameters();
  const x = tf.zeros([images, inputSize, inputSize, backbone.options.inChannels]) as tf.Tensor4D;
  let taped = 0;
  const { value, grads } = tf.variableGrads(() => {
    const before = tf.memory().numBytes;
    const f = backbone.forward(x, { training: true, updateStats: false });
    taped = tf.memory().numBytes - before;
    return tf.sum(f.pooled) as tf.Scalar;
  }, vars);
  tf.dispose([x, value, ...Object.values(grads)]);
  return taped;
}

/**
 * The tape's bytes per image and per forward (the latter: copies of the weights some kernels keep), from
 * forwards of one and two images.
 */
export function measureActivationBytes(
  backbone: ResNet,
  inputSize: number,
): { perImage: number; fixed: number } {
  const one = tapedForwardBytes(backbone, inputSize, 1);
  const two = tapedForwardBytes(backbone, inputSize, 2);
  return { perImage: two - one, fixed: 2 * one - two };
}

export interface BtMemoryPlan {
  /** Parameters, their gradients and LARS's momentum (backbone and projector), float32. */
  stateBytes: number;
  /** The backbone's taped activations: one micro-batch of one view, or both whole views without micro-batches. */
  backboneBytes: number;
  /** The whole batch's features and the projector's taped activations for both views. */
  projectorBytes: number;
  /** The two views of the whole batch as input tensors. */
  inputBytes: number;
  total: number;
}

export interface BtMemoryInput {
  /** Trainable parameter count of backbone + projector. */
  parameters: number;
  /** `measureActivationBytes(backbone, inputSize)`. */
  activation: { perImage: number; fixed: number };
  batchSize: number;
  /** 0 = the whole batch in one pass. */
  microBatch: number;
  inputSize: number;
  inChannels: number;
  /** Backbone feature width (2048 for ResNet-50). */
  features: number;
  projector: number[];
}

/** Peak memory of one step, by part (float32 throughout). */
export function btStepMemory(m: BtMemoryInput): BtMemoryPlan {
  const f32 = 4;
  const split = m.microBatch > 0 && m.microBatch < m.batchSize;
  const stateBytes = 3 * m.parameters * f32;
  // Micro-batched, the tape holds one micro-batch of one view at a time; whole, it holds both views.
  const backboneBytes = split
    ? m.microBatch * m.activation.perImage + m.activation.fixed
    : 2 * (m.batchSize * m.activation.perImage + m.activation.fixed);
  // Per view: the features, then each projector layer's output kept (pre-BN, BN, ReLU: three per hidden
  // layer, one for the last), plus the standardised embeddings of the loss and C itself.
  const widths = m.projector;
  const perSample = m.features + widths.slice(0, -1).reduce((s, w) => s + 3 * w, 0) + 2 * widths.at(-1)!;
  const d = widths.at(-1)!;
  const projectorBytes = (2 * m.batchSize * perSample + 2 * d * d) * f32;
  const inputBytes = 2 * m.batchSize * m.inputSize * m.inputSize * m.inChannels * f32;
  return {
    stateBytes,
    backboneBytes,
    projectorBytes,
    inputBytes,
    total: stateBytes + backboneBytes + projectorBytes + inputBytes,
  };
}

/** One line for a run's log: `memory plan: …`. */
export function describeBtMemory(p: BtMemoryPlan, batchSize: number, microBatch: number): string {
  const gb = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1)} GiB`;
  const passes =
    microBatch > 0 && microBatch < batchSize
      ? `micro-batches of ${microBatch} of ${batchSize} per view`
      : `whole batch of ${batchSize} per view`;
  return (
    `memory plan (${passes}): ~${gb(p.total)} per step = backbone activations ${gb(p.backboneBytes)} + projector and loss ${gb(p.projectorBytes)}` +
    ` + parameters/gradients/momentum ${gb(p.stateBytes)} + views ${gb(p.inputBytes)}`
  );
}
