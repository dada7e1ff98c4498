import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  ablatedBatch,
  ablationCam,
  ablationCamTargets,
  channelsToAblate,
  normaliseInBox,
} from '../../src/explain/ablationCam.js';
import { tensorCount, withoutLeaks } from '../../src/engine.js';
import { makeRng, tfSeed } from '../../src/rng.js';

// A 2×2 layer with three channels of known patterns:
//   A0 = [[1, 0], [0, 0]]   mean 0.25
//   A1 = [[0, 0], [0, 2]]   mean 0.5
//   A2 = [[1, 1], [1, 1]]   mean 1
const A = [
  [
    [1, 0, 1],
    [0, 0, 1],
  ],
  [
    [0, 0, 1],
    [0, 2, 1],
  ],
];
// A linear head y = Σ_k a_k · mean(A_k) with a = [4, 2, -0.5]: y = 1 + 1 − 0.5 = 1.5. Zeroing channel k
// removes its term, so y_k = y − a_k·mean(A_k) and w_k = a_k·mean(A_k) / y = [2/3, 2/3, −1/3].
const COEF = [4, 2, -0.5];
const linearHead = (batch: tf.Tensor4D): tf.Tensor =>
  tf.tidy(() => tf.sum(tf.mul(tf.mean(batch, [1, 2]), tf.tensor1d(COEF)), 1));

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `[${i}] ${actual[i]} != ${expected[i]}`);
}

test('hand-built linear head: weights w_k = a_k·mean(A_k)/y and the CAM worked out by hand', async () => {
  const acts = tf.tensor4d([A]);
  const r = await ablationCam({ activations: acts, head: linearHead, imageSize: [2, 2], batchSize: 2 });
  assert.ok(Math.abs(r.score - 1.5) < 1e-6);
  close(r.ablatedScores, [0.5, 0.5, 2]);
  close(r.weights, [2 / 3, 2 / 3, -1 / 3]);
  // Σ w_k A_k: (0,0) 2/3 − 1/3 = 1/3; (1,0) and (0,1) −1/3 → ReLU 0; (1,1) 2/3·2 − 1/3 = 1.
  close(r.lowRes.data, [1 / 3, 0, 0, 1]);
  // Same size: resizing is the identity, min 0 and max 1 leave it unchanged.
  close(r.cam.data, [1 / 3, 0, 0, 1]);
  assert.deepEqual(Array.from(r.ablated), [0, 1, 2]);

  // Upsampled 2×, half-pixel centres: corners copy the corner cells, the max is exactly 1.
  const big = await ablationCam({ activations: acts, head: linearHead, imageSize: [4, 4] });
  assert.equal(big.cam.width, 4);
  close([big.cam.data[0]!, big.cam.data[3]!, big.cam.data[12]!, big.cam.data[15]!], [1 / 3, 0, 0, 1]);
  assert.equal(Math.max(...big.cam.data), 1);
  assert.equal(Math.min(...big.cam.data), 0);
  acts.dispose();
});

test('channelFraction ablates the channels with the largest Σ|A_k| and gives the rest weight 0', async () => {
  const acts = tf.tensor4d([A]);
  // Σ|A_k| = 1, 2, 4: a half of 3 channels is floor(1.5) = 1 channel, the largest (2).
  assert.deepEqual(Array.from(channelsToAblate(acts, 0.5)), [2]);
  assert.deepEqual(Array.from(channelsToAblate(acts, 0.7)), [2, 1]);
  assert.deepEqual(Array.from(channelsToAblate(acts, 0.01)), [2]); // at least one
  assert.throws(() => channelsToAblate(acts, 0), /fraction/);
  assert.throws(() => channelsToAblate(acts, 1.5), /fraction/);
  const r = await ablationCam({
    activations: acts,
    head: linearHead,
    imageSize: [2, 2],
    channelFraction: 0.5,
  });
  assert.deepEqual(Array.from(r.ablated), [2]);
  close(r.ablatedScores, [1.5, 1.5, 2]);
  close(r.weights, [0, 0, -1 / 3]);
  // Only a negative weight is left: no positive evidence anywhere, so the map is empty.
  close(r.cam.data, [0, 0, 0, 0]);
  acts.dispose();
});

test('ablatedBatch zeroes one channel per row, or sets it to ablationValue', () => {
  const acts = tf.tensor4d([A]);
  const b = ablatedBatch(acts, [1, 0]);
  assert.deepEqual(b.shape, [2, 2, 2, 3]);
  const means = tf.tidy(() => tf.mean(b, [1, 2]).arraySync()) as number[][];
  close(means[0]!, [0.25, 0, 1]);
  close(means[1]!, [0, 0.5, 1]);
  b.dispose();
  // Ablating to 1: channel 1's mean becomes 1, so y_1 = y − 2·0.5 + 2·1 = 2.5.
  const v = ablatedBatch(acts, [1], 1);
  close(linearHead(v).dataSync(), [2.5]);
  v.dispose();
  acts.dispose();
});

// A non-linear head (3×3 conv, ReLU, mean, linear), so rows really go through a network together.
function convHead(
  k: number,
  seed: number,
): { head: (x: tf.Tensor4D) => tf.Tensor; dispose: () => void; calls: () => number } {
  const rng = makeRng(seed);
  const w = tf.randomNormal([3, 3, k, 4], 0, 0.2, 'float32', tfSeed(rng));
  const v = tf.tensor1d([1, 0.5, -0.25, 0.75]);
  let calls = 0;
  return {
    head: (x) => {
      calls++;
      return tf.tidy(() =>
        tf.sum(tf.mul(tf.mean(tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, 'same')), [1, 2]), v), 1).add(1),
      );
    },
    dispose: () => {
      w.dispose();
      v.dispose();
    },
    calls: () => calls,
  };
}

test('batching does not change the answer: batchSize 1, 7 and 64 give the same weights and map', async () => {
  const k = 70;
  const acts = tf.tidy(() => tf.relu(tf.randomNormal([1, 6, 6, k], 0, 1, 'float32', 11))) as tf.Tensor4D;
  const h = convHead(k, 3);
  const runs = [];
  for (const batchSize of [1, 7, 64]) {
    const before = h.calls();
    runs.push(await ablationCam({ activations: acts, head: h.head, imageSize: [24, 24], batchSize }));
    assert.equal(h.calls() - before, 1 + Math.ceil(k / batchSize)); // the unablated pass + the batches
  }
  for (const r of runs.slice(1)) {
    close(r.weights, Array.from(runs[0]!.weights), 1e-5);
    close(r.cam.data, Array.from(runs[0]!.cam.data), 1e-5);
  }
  assert.ok(runs[0]!.weights.some((x) => x !== 0));
  h.dispose();
  acts.dispose();
});

test('no tensor leaks, also when the head fails', async () => {
  const acts = tf.tidy(() => tf.relu(tf.randomNormal([1, 5, 5, 9], 0, 1, 'float32', 5))) as tf.Tensor4D;
  const h = convHead(9, 4);
  await withoutLeaks('ablationCam', () =>
    ablationCam({ activations: acts, head: h.head, imageSize: [20, 20], batchSize: 4, channelFraction: 0.5 }),
  );
  const before = tensorCount();
  let rows = 0;
  const bad = (x: tf.Tensor4D): number[] => (rows++ === 0 ? [1] : new Array(x.shape[0] + 1).fill(1));
  await assert.rejects(
    () => ablationCam({ activations: acts, head: bad, imageSize: [5, 5], batchSize: 4 }),
    /returned 5 scores for 4 rows/,
  );
  await assert.rejects(
    () => ablationCam({ activations: acts, head: () => [NaN], imageSize: [5, 5] }),
    /non-finite/,
  );
  assert.equal(tensorCount(), before);
  h.dispose();
  acts.dispose();
});

test('a zero target score (nothing to explain) gives zero weights and an empty map, not NaN', async () => {
  const acts = tf.tensor4d([A]);
  const r = await ablationCam({
    activations: acts,
    head: (x) => new Array(x.shape[0]).fill(0),
    imageSize: [3, 3],
  });
  assert.equal(r.score, 0);
  close(r.weights, [0, 0, 0]);
  assert.ok(r.cam.data.every((v) => v === 0));
  await assert.rejects(
    () =>
      ablationCam({
        activations: tf.zeros([2, 2, 2, 3]) as tf.Tensor4D,
        head: linearHead,
        imageSize: [2, 2],
      }),
    /\[1, h, w, K\]/,
  );
  await assert.rejects(
    () => ablationCam({ activations: acts, head: linearHead, imageSize: [2, 2], batchSize: 0 }),
    /batchSize/,
  );
  acts.dispose();
});

test('ablationCamTargets: one sweep, T maps, each identical to ablationCam on that target; head shape errors are clear', async () => {
  const acts = tf.tensor4d([A]);
  // Target 0: the linear head; target 1: the same with coefficients reversed.
  const rev = [...COEF].reverse();
  const both = async (b: tf.Tensor4D): Promise<number[][]> => {
    const m = tf.tidy(() => tf.mean(b, [1, 2]).arraySync()) as number[][];
    return m.map((r) => [
      r.reduce((s, v, k) => s + v * COEF[k]!, 0),
      r.reduce((s, v, k) => s + v * rev[k]!, 0),
    ]);
  };
  const [r0, r1] = await ablationCamTargets({
    activations: acts,
    head: both,
    targets: 2,
    imageSize: [4, 4],
    batchSize: 2,
  });
  const single0 = await ablationCam({ activations: acts, head: linearHead, imageSize: [4, 4], batchSize: 2 });
  close(r0!.weights, Array.from(single0.weights));
  close(r0!.cam.data, Array.from(single0.cam.data));
  // Target 1: y = −0.5·0.25 + 2·0.5 + 4·1 = 4.875; w_k = rev_k·mean_k / y.
  close(r1!.weights, [-0.125 / 4.875, 1 / 4.875, 4 / 4.875]);
  await assert.rejects(
    ablationCamTargets({
      activations: acts,
      head: async (b) => Array.from({ length: b.shape[0] }, () => [1]),
      targets: 2,
      imageSize: [2, 2],
    }),
    /1 scores for 2 targets/,
  );
  acts.dispose();
});

test("normaliseInBox: zero outside the box, min-max inside it (the authors' norm-in-bbox display)", () => {
  const m = normaliseInBox(
    { data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]), width: 3, height: 3 },
    [1, 1, 3, 3],
  );
  // Pixels (1,1)=4, (2,1)=5, (1,2)=7, (2,2)=8 are inside: (v − 4) / 4.
  close(m.data, [0, 0, 0, 0, 0, 0.25, 0, 0.75, 1]);
});
