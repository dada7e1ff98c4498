/** Tiny synthetic detection images for the detector tests: bright shapes on a noisy background. */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../../src/rng.js';
import type { DetectionTarget } from '../../../src/models/fasterRcnn/detector.js';

/**
 * `n` images `[n, size, size, 3]`, each with 1–2 non-overlapping objects: class 0 a filled
 * rectangle, class 1 a filled ellipse, class 2 a hollow square (a ring), sides 20–34 px.
 */
export function makePhantoms(
  n: number,
  size: number,
  rng: Rng,
): { images: tf.Tensor4D; targets: DetectionTarget[] } {
  const px = new Float32Array(n * size * size * 3);
  const targets: DetectionTarget[] = [];
  for (let i = 0; i < n; i++) {
    const img = new Float32Array(size * size);
    for (let j = 0; j < img.length; j++) img[j] = 0.15 * rng.normal();
    const boxes: number[][] = [];
    const labels: number[] = [];
    const count = 1 + (i % 2);
    for (let tries = 0; boxes.length < count && tries < 50; tries++) {
      const w = Math.round(rng.uniform(20, 34));
      const h = Math.round(rng.uniform(20, 34));
      const x1 = Math.round(rng.uniform(1, size - w - 1));
      const y1 = Math.round(rng.uniform(1, size - h - 1));
      const b = [x1, y1, x1 + w, y1 + h];
      if (boxes.some((o) => !(b[2]! <= o[0]! || o[2]! <= b[0]! || b[3]! <= o[1]! || o[3]! <= b[1]!)))
        continue;
      const cls = (i + boxes.length) % 3;
      for (let y = y1; y < y1 + h; y++) {
        for (let x = x1; x < x1 + w; x++) {
          const u = (x + 0.5 - x1) / w - 0.5;
          const v = (y + 0.5 - y1) / h - 0.5;
          const inside =
            cls === 0 ? true : cls === 1 ? u * u + v * v <= 0.25 : Math.max(Math.abs(u), Math.abs(v)) > 0.3;
          if (inside) img[y * size + x]! += 1;
        }
      }
      boxes.push(b);
      labels.push(cls);
    }
    for (let j = 0; j < img.length; j++)
      for (let c = 0; c < 3; c++) px[(i * size * size + j) * 3 + c] = img[j]!;
    targets.push({ boxes, labels });
  }
  return { images: tf.tensor4d(px, [n, size, size, 3]), targets };
}
