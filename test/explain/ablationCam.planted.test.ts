/**
 * Ablation-CAM on a model trained to find a planted object: a tiny convolutional net learns whether a
 * bright blob is present in a noisy 32×32 phantom, and its heat maps must then put most of their
 * mass on the blob's box, far above the box's share of the image.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ablationCam } from '../../src/explain/ablationCam.js';
import { localisationScore } from '../../src/explain/localisation.js';
import { tensorCount } from '../../src/engine.js';
import { makeRng, tfSeed, type Rng } from '../../src/rng.js';

const SIZE = 32;
const HALF = 3.5; // the blob's box: centre ± HALF pixels (7×7 = 4.8% of the image)

interface Phantom {
  pixels: Float32Array;
  box: number[] | null;
}

/**
 * Noise N(0, 0.35²) on a random gradient and two dim decoy spots (height 0.6) in every image, plus, when
 * `blob`, the object: a spot of height 1.5. Spots are Gaussians with σ = 1.5 px. The decoys make the
 * net threshold local brightness instead of summing it over the image, as a lesion finder must.
 */
function phantom(rng: Rng, blob: boolean): Phantom {
  const pixels = new Float32Array(SIZE * SIZE);
  const gx = rng.uniform(-0.3, 0.3),
    gy = rng.uniform(-0.3, 0.3);
  const spots: [number, number, number][] = [];
  for (let d = 0; d < 2; d++) spots.push([rng.uniform(3, SIZE - 3), rng.uniform(3, SIZE - 3), 0.6]);
  const cx = rng.uniform(6, SIZE - 6),
    cy = rng.uniform(6, SIZE - 6);
  if (blob) spots.push([cx, cy, 1.5]);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let v = 0.35 * rng.normal() + gx * (x / SIZE - 0.5) + gy * (y / SIZE - 0.5);
      for (const [sx, sy, a] of spots)
        v += a * Math.exp(-((x + 0.5 - sx) ** 2 + (y + 0.5 - sy) ** 2) / (2 * 1.5 ** 2));
      pixels[y * SIZE + x] = v;
    }
  }
  return { pixels, box: blob ? [cx - HALF, cy - HALF, cx + HALF, cy + HALF] : null };
}

// tfjs-cpu's conv filter gradient (and slicing, for an im2col in tensors) take seconds per step here,
// so the net is built from matMuls only: the 5×5 stride-2 convolution of the input reads patches
// copied out in JavaScript (the input needs no gradient), and the second convolution is 1×1.
const K1 = 5;
const OUT = SIZE / 2; // the stride-2 layer's side
// An L1 penalty on the activations (ramped in, so the classifier learns first) keeps background
// responses at zero, as in a trained detector; without it the sum-pooled net may spread evidence
// over the image and the test would measure the net, not the CAM.
const L1 = 0.2;
const STEPS = 150;
function patches(images: Float32Array, n: number): tf.Tensor2D {
  const out = new Float32Array(n * OUT * OUT * K1 * K1);
  const r = (K1 - 1) / 2;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const img = images.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE);
    for (let y = 0; y < OUT; y++) {
      for (let x = 0; x < OUT; x++) {
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            // Output (x, y) is centred on input pixel (2x + 1, 2y + 1), 'same' zero padding.
            const yy = 2 * y + 1 + dy,
              xx = 2 * x + 1 + dx;
            out[o++] = yy >= 0 && yy < SIZE && xx >= 0 && xx < SIZE ? img[yy * SIZE + xx]! : 0;
          }
        }
      }
    }
  }
  return tf.tensor2d(out, [n * OUT * OUT, K1 * K1]);
}

test('the CAM of a model trained to find a planted blob concentrates on the blob', async () => {
  const start = tensorCount();
  const rng = makeRng(2024);
  const init = (shape: number[], scale: number): tf.Variable => {
    const t = scale > 0 ? tf.randomNormal(shape, 0, scale, 'float32', tfSeed(rng)) : tf.zeros(shape);
    const v = tf.variable(t);
    t.dispose();
    return v;
  };
  const w1 = init([K1 * K1, 8], 0.3),
    b1 = init([8], 0);
  const w2 = init([8, 8], 0.4),
    b2 = init([8], 0);
  const wo = init([8, 1], 0.3),
    bo = init([1], 0);

  // The model cut at its last conv layer: activations = f(x) [B, 16, 16, 8], score = g(A) (the logit).
  // f: 5×5 conv 1→8 stride 2, ReLU, 1×1 conv 8→8, ReLU; g: global average pool, linear.
  const features = (x: tf.Tensor2D, n: number): tf.Tensor4D =>
    tf.tidy(() => {
      const c1 = tf.relu(tf.add(tf.matMul(x, w1 as tf.Tensor2D), b1));
      return tf.relu(tf.add(tf.matMul(c1, w2 as tf.Tensor2D), b2)).reshape([n, OUT, OUT, 8]) as tf.Tensor4D;
    });
  const head = (a: tf.Tensor4D): tf.Tensor1D =>
    tf.tidy(() => tf.add(tf.matMul(tf.mean(a, [1, 2]) as tf.Tensor2D, wo as tf.Tensor2D), bo).reshape([-1]));

  const data = rng.fork('train');
  const batch = (n: number) => {
    const items = Array.from({ length: n }, (_, i) => phantom(data, i % 2 === 0));
    const x = new Float32Array(n * SIZE * SIZE);
    items.forEach((it, i) => x.set(it.pixels, i * SIZE * SIZE));
    return { x: patches(x, n), y: tf.tensor1d(items.map((it) => (it.box ? 1 : 0))), items };
  };
  const opt = tf.train.adam(0.02);
  const t0 = performance.now();
  for (let step = 0; step < STEPS; step++) {
    const { x, y } = batch(32);
    opt.minimize(() => {
      const a = features(x, 32);
      return tf.add(tf.losses.sigmoidCrossEntropy(y, head(a)), tf.mul((L1 * step) / STEPS, tf.mean(a)));
    });
    x.dispose();
    y.dispose();
  }

  const trainMs = performance.now() - t0;
  const test = batch(40);
  const probe = features(test.x, 40);
  const logits = head(probe);
  probe.dispose();
  const predicted = Array.from(logits.dataSync()).map((l) => (l > 0 ? 1 : 0));
  const accuracy = predicted.filter((p, i) => p === (test.items[i]!.box ? 1 : 0)).length / predicted.length;
  logits.dispose();
  assert.ok(accuracy >= 0.9, `the model must first learn the task (accuracy ${accuracy})`);

  const scores = [];
  for (let i = 0; i < test.items.length; i++) {
    const it = test.items[i]!;
    if (!it.box) continue;
    const x = patches(it.pixels, 1);
    const activations = features(x, 1);
    const r = await ablationCam({ activations, head, imageSize: [SIZE, SIZE], batchSize: 8 });
    scores.push(localisationScore(r.cam, [it.box], 0));
    x.dispose();
    activations.dispose();
  }
  test.x.dispose();
  test.y.dispose();
  const concentrated = scores.filter((s) => s.mass > 0.5 && s.mass > 5 * s.area).length / scores.length;
  const hits = scores.filter((s) => s.hit).length / scores.length;
  const meanMass = scores.reduce((a, s) => a + s.mass, 0) / scores.length;
  // Thresholds leave room across seeds: over seeds 5, 7, 11, 2024, 75–90% of maps were concentrated,
  // the mean mass was 0.56–0.63 (12–13× chance) and the pointing game hit 0.9–0.95.
  assert.ok(
    meanMass > 10 * scores[0]!.area && meanMass > 0.5,
    `mean mass in the box ${meanMass.toFixed(2)} must exceed 0.5 and 10× the box's area`,
  );
  assert.ok(
    concentrated >= 0.7,
    `most heat maps must put > 50% of their mass on the blob's box (${(concentrated * 100).toFixed(0)}% do; mean mass ${meanMass.toFixed(2)}, box area ${scores[0]!.area.toFixed(3)})`,
  );
  assert.ok(hits >= 0.85, `pointing game: the peak must fall on the blob (hit rate ${hits})`);

  tf.dispose([w1, b1, w2, b2, wo, bo]);
  opt.dispose();
  assert.equal(tensorCount(), start);
  console.log(
    `# planted blob: trained in ${(trainMs / 1000).toFixed(1)} s, accuracy ${accuracy.toFixed(2)}, ${(concentrated * 100).toFixed(0)}% of maps concentrated, mean mass in box ${meanMass.toFixed(2)} (area ${scores[0]!.area.toFixed(3)}), pointing ${hits.toFixed(2)}`,
  );
});
