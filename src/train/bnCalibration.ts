/**
 * BatchNorm re-estimation ("precise BN", Wu & Johnson 2021; torch.optim.swa_utils.update_bn): a
 * backbone's running statistics replaced by the statistics of its BatchNorm inputs on a set of
 * images, weights untouched. Notebook 05's control row uses it: no pretraining, but BatchNorm
 * fitted to the NIH-format training images, so that a Barlow Twins gain over it is a gain over
 * calibration, not over a random network whose activations are mis-scaled in eval mode.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResNet } from '../models/resnet.js';
import type { RawTensor } from '../models/weights.js';
import type { ImageSource } from './pretrain.js';

/**
 * Passes `source`'s images through `model` in training mode (each BatchNorm normalising with its
 * batch's statistics, running statistics left alone) and sets every BatchNorm's `running_mean` and
 * `running_var` to the statistics of its input over all images together: the batches' per-channel
 * sums and sums of squares are pooled (in float64), so the mean and the variance (unbiased, as
 * PyTorch stores it) are those of one batch holding every image, not an average of batch values.
 * For the first BatchNorm that is exact whatever the batch size; deeper ones see inputs normalised
 * with their own batch's statistics, exactly as in one whole-set batch when `batchSize` covers all.
 * @returns the new running statistics by parameter name (to apply to other copies of the same
 * weights) and the number of images used.
 */
export function reestimateBatchNorm(
  model: ResNet,
  source: ImageSource,
  batchSize = 64,
): { stats: Map<string, RawTensor>; images: number } {
  if (!(source.count > 0)) throw new Error('reestimateBatchNorm: the image source is empty');
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new Error(`reestimateBatchNorm: batchSize must be a positive integer, got ${batchSize}`);
  const sums = new Map<string, { n: number; s1: Float64Array; s2: Float64Array }>();
  const onBatchStats = (prefix: string, mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void => {
    const m = mean.dataSync();
    const v = variance.dataSync();
    let acc = sums.get(prefix);
    if (!acc)
      sums.set(prefix, (acc = { n: 0, s1: new Float64Array(m.length), s2: new Float64Array(m.length) }));
    acc.n += count;
    for (let c = 0; c < m.length; c++) {
      acc.s1[c] += count * m[c]!;
      acc.s2[c] += count * (v[c]! + m[c]! * m[c]!);
    }
  };
  for (let s = 0; s < source.count; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, source.count - s) }, (_, i) => s + i);
    const x = source.batch(idx);
    try {
      tf.tidy(() => {
        const f = model.forward(x, { training: true, updateStats: false, onBatchStats });
        tf.dispose(Object.values(f));
      });
    } finally {
      x.dispose();
    }
  }
  const stats = new Map<string, RawTensor>();
  for (const [prefix, { n, s1, s2 }] of sums) {
    const mean = new Float32Array(s1.length);
    const variance = new Float32Array(s1.length);
    for (let c = 0; c < s1.length; c++) {
      const mu = s1[c]! / n;
      const biased = Math.max(0, s2[c]! / n - mu * mu);
      mean[c] = mu;
      variance[c] = n > 1 ? (biased * n) / (n - 1) : biased;
    }
    stats.set(`${prefix}.running_mean`, { shape: [mean.length], data: mean });
    stats.set(`${prefix}.running_var`, { shape: [variance.length], data: variance });
  }
  applyBatchNormStats(model, stats);
  return { stats, images: source.count };
}

/** Writes running statistics (from {@link reestimateBatchNorm}) into a model with the same layers. */
export function applyBatchNormStats(model: ResNet, stats: ReadonlyMap<string, RawTensor>): void {
  for (const [name, t] of stats) {
    if (!model.store.has(name)) throw new Error(`applyBatchNormStats: the model has no ${name}`);
    const v = model.store.get(name) as tf.Variable;
    if (v.size !== t.data.length)
      throw new Error(`applyBatchNormStats: ${name} has ${v.size} values, the statistics ${t.data.length}`);
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
  }
}
