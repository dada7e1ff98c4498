/**
 * The gradient of inference-mode batch norm (tfjs's FusedBatchNorm, i.e. tf.batchNorm) on the
 * accelerated backend. A norm-eval detector backbone differentiates it in every layer of every
 * training step, and tfjs's gradient computes x - mean and dy * scale over the whole activation
 * before it knows which gradients are asked for (usually only x's), then x's as
 * dy * tile(rsqrt(variance + eps)) * scale: five full-size passes and allocations where x's
 * gradient needs two. Here every derivative is tfjs's formula with the same ops in the same order,
 * computed only when asked for, and x's multiplies by rsqrt(variance + eps) broadcast along the
 * channels instead of tiled to x's shape first: dy[i] * r[c] either way, the same float32 products,
 * so the gradients are tfjs's bit for bit (test/backend/batchNormEvalGrad.test.ts).
 */
import * as tf from '@tensorflow/tfjs';

let enabled = true;

/** Turns the lazy gradient on or off (on by default; off runs tfjs's own: A/B, tests). Returns the previous setting. */
export function setBatchNormEvalGradient(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** Replaces tfjs's (global) FusedBatchNorm gradient by the lazy one while `backendName` is active. */
export function registerBatchNormEvalGradient(backendName: string): void {
  const original = tf.getGradient('FusedBatchNorm');
  if (original == null || (original as { cxr?: boolean }).cxr) return;
  const config: tf.GradConfig & { cxr: boolean } = {
    ...original,
    cxr: true,
    gradFunc: (dyIn, saved, attrs) => {
      if (!enabled || tf.getBackend() !== backendName) return original.gradFunc(dyIn, saved, attrs);
      const dy = dyIn as tf.Tensor;
      const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const scaleValue = (): tf.Tensor => (scale == null ? tf.scalar(1) : scale);
      const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const perChannel = mean.rank === 1;
      // Each closure runs in its own tidy, so shared pieces are recomputed (from [c]-sized tensors
      // where they are small), never kept across closures.
      const oneOverSqrtVariance = (): tf.Tensor => tf.rsqrt(tf.add(variance, tf.scalar(eps)));
      const dyTimesScaleValue = (): tf.Tensor => tf.mul(dy, scaleValue());
      const xMinusMean = (): tf.Tensor => tf.sub(x, mean);
      const reduce = (t: tf.Tensor): tf.Tensor =>
        tf.reshape(perChannel ? tf.sum(t, reductionAxes) : t, mean.shape);
      return {
        x: () => {
          const r = oneOverSqrtVariance();
          const rb = perChannel ? tf.reshape(r, [1, 1, 1, mean.shape[0]!]) : r;
          return tf.reshape(tf.mul(tf.mul(dy, rb), scaleValue()), x.shape);
        },
        mean: () => reduce(tf.mul(tf.mul(oneOverSqrtVariance(), tf.scalar(-1)), dyTimesScaleValue())),
        variance: () => {
          const r = oneOverSqrtVariance();
          const minusHalfRCube = tf.mul(tf.mul(tf.mul(r, r), r), tf.scalar(-0.5));
          return reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean()), dyTimesScaleValue()));
        },
        scale: () => reduce(tf.mul(dy, tf.mul(xMinusMean(), oneOverSqrtVariance()))),
        offset: () => reduce(dy),
      };
    },
  };
  tf.registerGradient(config);
}
