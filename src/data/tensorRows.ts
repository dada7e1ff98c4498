/**
 * Images `indices` of an `[N, H, W, C]` tensor. Evaluation reads its images in order, batch after
 * batch: a run of consecutive indices is a `tf.slice`, which on the CPU backend shares the tensor's
 * storage (the accelerated backend marks it so it is never recycled), where a gather copies the batch
 * (1 MB per 64 demo images, ~1 ms). Any other index list is gathered.
 */
import * as tf from '@tensorflow/tfjs';

export function tensorRows(images: tf.Tensor4D, indices: readonly number[]): tf.Tensor4D {
  const first = indices[0];
  const run =
    first !== undefined &&
    Number.isInteger(first) &&
    first >= 0 &&
    first + indices.length <= images.shape[0] &&
    indices.every((v, j) => v === first + j);
  if (run) return tf.slice(images, [first, 0, 0, 0], [indices.length, -1, -1, -1]);
  return tf.tidy(() => tf.gather(images, tf.tensor1d([...indices], 'int32')) as tf.Tensor4D);
}
