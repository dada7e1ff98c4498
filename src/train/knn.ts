/**
 * The k-nearest-neighbour probe: a cheap quality signal for self-supervised features (no training,
 * one forward pass). Queries take the majority label of their k most cosine-similar gallery items.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResNet } from '../models/resnet.js';

/** Pooled backbone features of `images` `[N,H,W,1]` in eval mode (running BatchNorm statistics), in chunks. */
export function pooledFeatures(backbone: ResNet, images: tf.Tensor4D, chunk = 256): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let i = 0; i < images.shape[0]; i += chunk) {
    parts.push(
      tf.tidy(() => {
        const x = tf.slice(images, [i, 0, 0, 0], [Math.min(chunk, images.shape[0] - i), -1, -1, -1]);
        return backbone.forward(x, { training: false }).pooled;
      }),
    );
  }
  const out = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}

export interface KnnResult {
  /** Share of queries whose majority label among the k neighbours is their own. */
  accuracy: number;
  /** The accuracy of always answering the queries' most frequent label. */
  majority: number;
  k: number;
}

/**
 * kNN classification accuracy of integer labels. gallery `[G, D]`, query `[Q, D]`; cosine similarity;
 * ties in the vote go to the smaller label. Throws on mismatched sizes or k outside 1..G.
 */
export function knnAccuracy(
  gallery: tf.Tensor2D,
  galleryLabels: readonly number[],
  query: tf.Tensor2D,
  queryLabels: readonly number[],
  k: number,
): KnnResult {
  if (gallery.shape[0] !== galleryLabels.length || query.shape[0] !== queryLabels.length)
    throw new Error('knnAccuracy: features and labels differ in length');
  if (!(Number.isInteger(k) && k >= 1 && k <= gallery.shape[0]))
    throw new Error(`knnAccuracy: k must be in 1..${gallery.shape[0]}, got ${k}`);
  const idx = tf.tidy(() => {
    const sim = tf.matMul(l2(query), l2(gallery), false, true);
    return tf.topk(sim, k).indices;
  });
  const nn = idx.arraySync() as number[][];
  idx.dispose();
  let right = 0;
  const counts = new Map<number, number>();
  nn.forEach((row, q) => {
    const votes = new Map<number, number>();
    for (const g of row) votes.set(galleryLabels[g]!, (votes.get(galleryLabels[g]!) ?? 0) + 1);
    const best = [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
    if (best === queryLabels[q]) right++;
    counts.set(queryLabels[q]!, (counts.get(queryLabels[q]!) ?? 0) + 1);
  });
  const n = queryLabels.length;
  return { accuracy: right / n, majority: Math.max(...counts.values()) / n, k };
}

function l2(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
}
