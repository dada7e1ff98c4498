/**
 * Barlow Twins gradients at a batch that does not fit in memory (the `paper` profile's 768 × 2 views of a
 * ResNet-50 at 224 px), with the loss exact over the whole batch.
 *
 * The loss couples every sample through the cross-correlation matrix, so plain gradient accumulation
 * over micro-batches would change the method (it would be Barlow Twins at the micro-batch size). Instead:
 * 1. a pass without the tape gives the backbone features of every micro-batch of both views;
 * 2. the projector and the loss run on the whole batch of features and give the projector's gradients and
 *    the gradient of the loss with respect to the features;
 * 3. a second pass recomputes each micro-batch with the tape and back-propagates that feature gradient
 *    (the vector-Jacobian product of Σ h·∂L/∂h), accumulating the backbone's gradients.
 *
 * The backbone's BatchNorm sees micro-batch statistics (both passes use the same micro-batches, so the
 * features of pass 1 are those that pass 2 differentiates): this is what non-synchronised multi-GPU
 * training does, with one micro-batch per GPU. Its running statistics move once per micro-batch. With
 * BatchNorm in eval mode, or with one micro-batch, the gradients equal the whole-batch computation.
 */
import * as tf from '@tensorflow/tfjs';
import type { BarlowTwins } from './barlowTwins.js';
import { barlowTwinsLoss } from './barlowTwins.js';

export interface BtGradients {
  /** The Barlow Twins loss over the whole batch. */
  loss: number;
  /** Gradient of every trainable parameter (backbone and projector) by parameter name; the caller frees them. */
  grads: Map<string, tf.Tensor>;
}

export interface MicroBatchOptions {
  /** Images per backbone pass (per view). Must divide nothing: the last micro-batch may be smaller. */
  microBatch: number;
  /** Backbone BatchNorm in training mode (default true, as Barlow Twins trains). */
  backboneTraining?: boolean;
}

/** `[start, end)` ranges of at most `size` covering `0..n`. */
export function microBatchRanges(n: number, size: number): Array<[number, number]> {
  if (!(Number.isInteger(size) && size >= 1))
    throw new Error(`microBatchRanges: micro-batch must be a positive integer, got ${size}`);
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
}

// Feature variables need process-unique names.
let featureVars = 0;

function sliceRows(x: tf.Tensor4D, [s, e]: [number, number]): tf.Tensor4D {
  return tf.slice(x, [s, 0, 0, 0], [e - s, -1, -1, -1]);
}

/**
 * Loss and gradients of `model` on the views `y1`, `y2` (`[B,H,W,C]` each), computed `microBatch` images
 * at a time for the backbone and on the whole batch for the projector and the loss. Peak activation memory
 * is that of one micro-batch's backbone pass plus the whole batch's projector.
 */
export function barlowTwinsGradients(
  model: BarlowTwins,
  y1: tf.Tensor4D,
  y2: tf.Tensor4D,
  opts: MicroBatchOptions,
): BtGradients {
  if (y1.shape[0] !== y2.shape[0])
    throw new Error(`barlowTwinsGradients: views of ${y1.shape[0]} and ${y2.shape[0]} images`);
  const training = opts.backboneTraining ?? true;
  const ranges = microBatchRanges(y1.shape[0], opts.microBatch);
  const views = [y1, y2];

  // Pass 1: features without the tape, running statistics left alone (pass 2 moves them).
  const feats = views.map((y) =>
    tf.tidy(
      () =>
        tf.concat(
          ranges.map((r) => {
            const f = model.backbone.forward(sliceRows(y, r), { training, updateStats: false });
            return f.pooled;
          }),
          0,
        ) as tf.Tensor2D,
    ),
  );

  // Projector and loss on the whole batch; the features are variables so that the tape gives ∂L/∂h.
  const h = feats.map((f, i) => tf.variable(f, true, `microBatchBt/${++featureVars}/h${i}`));
  tf.dispose(feats);
  const projector = model.projector.store.trainable();
  const { value, grads: pg } = tf.variableGrads(
    () =>
      barlowTwinsLoss(
        model.projector.forward(h[0]!, true),
        model.projector.forward(h[1]!, true),
        model.lambda,
      ),
    [...projector.map((p) => p.variable), ...h],
  );
  const loss = value.dataSync()[0]!;
  value.dispose();
  const grads = new Map<string, tf.Tensor>();
  for (const p of projector) grads.set(p.name, pg[p.variable.name]!);
  const dh = h.map((v) => pg[v.name]!);
  h.forEach((v) => v.dispose());

  // Pass 2: each micro-batch again, with the tape, back-propagating its rows of ∂L/∂h.
  const backbone = model.backbone.store.trainable();
  const vars = backbone.map((p) => p.variable);
  views.forEach((y, vi) => {
    for (const r of ranges) {
      const { value: v, grads: bg } = tf.variableGrads(
        () =>
          tf.tidy(() => {
            const f = model.backbone.forward(sliceRows(y, r), { training, updateStats: true }).pooled;
            return tf.sum(tf.mul(f, tf.slice(dh[vi]!, [r[0], 0], [r[1] - r[0], -1]))) as tf.Scalar;
          }),
        vars,
      );
      v.dispose();
      for (const p of backbone) {
        const g = bg[p.variable.name];
        if (!g) continue;
        const prev = grads.get(p.name);
        if (prev) {
          grads.set(p.name, tf.add(prev, g));
          tf.dispose([prev, g]);
        } else grads.set(p.name, g);
      }
    }
  });
  tf.dispose(dh);
  return { loss, grads };
}
