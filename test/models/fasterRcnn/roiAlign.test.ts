import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  mapRoiLevels,
  multiLevelRoiAlign,
  roiAlign,
  roiAlignPlan,
  roiAlignPlanReference,
} from '../../../src/models/fasterRcnn/roiAlign.js';
import { nativeTest } from '../../backend/helpers.js';
import { makeRng } from '../../../src/rng.js';
import { assertAllClose, loadReference } from '../../helpers/reference.js';

// Outputs are float32 from torchvision; we accumulate in float32 too but in another order, so a
// few ulps of the largest magnitudes (|x| < ~3 here) is the honest tolerance.
const TOL = 2e-5;

test('roiAlign reproduces torchvision 0.14.1 roi_align on every reference case (NHWC)', () => {
  const ref = loadReference('roi_align');
  assert.ok(ref.cases.length > 0);
  for (const c of ref.cases) {
    const i = c.input;
    const before = tf.memory().numTensors;
    const feats = tf.tensor4d(i.features_nhwc);
    const out = roiAlign(feats, i.rois, {
      outputSize: i.output_size,
      spatialScale: i.spatial_scale,
      samplingRatio: i.sampling_ratio,
      aligned: i.aligned,
    });
    assert.deepEqual(
      out.shape,
      [i.rois.length, i.output_size[0], i.output_size[1], i.features_nhwc[0][0][0].length],
      c.name,
    );
    assertAllClose(out.arraySync(), c.expected.output_nhwc, TOL, c.name);
    tf.dispose([feats, out]);
    assert.equal(tf.memory().numTensors, before, `${c.name}: tensors leaked`);
  }
});

test('roiAlign gradient is the exact transpose of the (linear) forward map', () => {
  // RoIAlign is linear in the features, so d sum(out * R) / dF[j] = L(F + e_j) - L(F) exactly
  // (up to float32 rounding). Boxes cover inside, border-straddling and outside cases.
  const f = tf.randomNormal([2, 5, 6, 2], 0, 1, 'float32', 7) as tf.Tensor4D;
  const rois = [
    [0, 1, 1, 9, 7],
    [1, -3, 2, 30, 12],
    [0, 10, 10, 40, 40],
    [1, 2.5, 3.5, 3, 4],
  ];
  const opts = {
    outputSize: [2, 3] as [number, number],
    spatialScale: 0.5,
    samplingRatio: -1,
    aligned: true,
  };
  const r = tf.randomNormal([4, 2, 3, 2], 0, 1, 'float32', 9);
  const loss = (x: tf.Tensor) => tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, rois, opts), r));
  const grad = tf.grad(loss)(f);
  const g = grad.dataSync();
  const base = loss(f).dataSync()[0]!;
  const fv = f.dataSync();
  for (let j = 0; j < f.size; j++) {
    const e = fv.slice();
    e[j]! += 1;
    const bumped = tf.tensor4d(e, f.shape);
    const diff = loss(bumped).dataSync()[0]! - base;
    assert.ok(Math.abs(diff - g[j]!) < 1e-4, `grad[${j}] = ${g[j]} vs difference ${diff}`);
    bumped.dispose();
  }
  tf.dispose([f, r, grad]);
});

nativeTest(
  'roiAlign: the native loops give the same bits as the JavaScript ones, forward and backward',
  () => {
    // Enough RoIs x channels (> 2^16 multiply-adds) that the native side splits the channels across threads.
    const f = tf.randomNormal([2, 20, 24, 48], 0, 1, 'float32', 3) as tf.Tensor4D;
    const rng = makeRng(4);
    const rois = Array.from({ length: 40 }, (_, k) => {
      const x = rng.uniform(-10, 90);
      const y = rng.uniform(-10, 70);
      return [k % 2, x, y, x + rng.uniform(1, 60), y + rng.uniform(1, 60)];
    });
    const opts = {
      outputSize: [7, 7] as [number, number],
      spatialScale: 0.25,
      samplingRatio: 0,
      aligned: true,
    };
    const r = tf.randomNormal([40, 7, 7, 48], 0, 1, 'float32', 5);
    const run = (loops: 'auto' | 'js') => {
      const out = roiAlign(f, rois, opts, loops);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, rois, opts, loops), r)))(
        f,
      );
      const v = { out: out.dataSync(), grad: g.dataSync() };
      tf.dispose([out, g]);
      return v;
    };
    const native = run('auto');
    const js = run('js');
    assert.deepEqual(native.out, js.out);
    assert.deepEqual(native.grad, js.grad);
    tf.dispose([f, r]);
  },
);

test('roiAlign: an RoI of one whole cell with one sample reads that cell; no RoIs gives [0, ph, pw, C]', () => {
  // aligned=true shifts by half a cell, so box [2, 1, 3, 2] at scale 1 has its single sample at the
  // centre (2, 1) of the sampled area, i.e. exactly on feature cell (y=1, x=2).
  const f = tf.tensor4d([...Array(12).keys()], [1, 3, 4, 1]);
  const out = roiAlign(f, [[0, 2, 1, 3, 2]], {
    outputSize: [1, 1],
    spatialScale: 1,
    samplingRatio: 1,
    aligned: true,
  });
  assert.deepEqual(out.arraySync(), [[[[6]]]]);
  const none = roiAlign(f, [], { outputSize: [7, 7], spatialScale: 1, samplingRatio: 0, aligned: true });
  assert.deepEqual(none.shape, [0, 7, 7, 1]);
  assert.throws(
    () =>
      roiAlign(f, [[1, 0, 0, 1, 1]], {
        outputSize: [1, 1],
        spatialScale: 1,
        samplingRatio: 1,
        aligned: true,
      }),
    /batch index/,
  );
  tf.dispose([f, out, none]);
});

test('mapRoiLevels reproduces the MMDetection level rule (det_components.json roi_level_mapping)', () => {
  const c = loadReference('det_components').cases.find((x) => x.name === 'roi_level_mapping');
  assert.ok(c);
  assert.deepEqual(mapRoiLevels(c.input.boxes_xyxy), c.expected.mmdet_level_index_float64);
});

test('multiLevelRoiAlign pools each RoI from its own level and keeps input order', () => {
  // Level l is filled with the constant l + 1, so each output equals its RoI's level + 1.
  const feats = [80, 40, 20, 10].map((s, l) => tf.fill([1, s, s, 1], l + 1) as tf.Tensor4D);
  const rois = [
    [0, 0, 0, 300, 300],
    [0, 0, 0, 20, 20],
    [0, 0, 0, 150, 150],
    [0, 0, 0, 60, 60],
  ];
  const out = multiLevelRoiAlign(feats, rois, {
    strides: [4, 8, 16, 32],
    outputSize: [2, 2],
    samplingRatio: 2,
    aligned: false,
    finestScale: 56,
  });
  const firstCell = (out.arraySync() as number[][][][]).map((r) => r[0]![0]![0]);
  assert.deepEqual(firstCell, [3, 1, 2, 1]);
  // and the gradient reaches every level that was used (each output cell is a mean: weights sum to 1)
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(
      multiLevelRoiAlign([a, b, c, feats[3]!] as tf.Tensor4D[], rois, {
        strides: [4, 8, 16, 32],
        outputSize: [2, 2],
        samplingRatio: 2,
        aligned: false,
        finestScale: 56,
      }),
    ),
  )(feats.slice(0, 3));
  const sums = grads.map((g) => g.sum().dataSync()[0]!);
  assert.deepEqual(
    sums.map((v) => Math.round(v)),
    [8, 4, 4],
  ); // 2 RoIs x 4 cells on P2, 1 x 4 on P3, P4
  tf.dispose([...feats, out, ...grads]);
});

test('multiLevelRoiAlign with every RoI on one level equals roiAlign on it (no permutation), values and gradient', () => {
  const feats = [24, 12, 6, 3].map(
    (s, l) => tf.randomNormal([2, s, s, 5], 0, 1, 'float32', 30 + l) as tf.Tensor4D,
  );
  const opts = {
    strides: [4, 8, 16, 32],
    outputSize: [3, 3] as [number, number],
    samplingRatio: 0,
    aligned: true,
    finestScale: 56,
  };
  // all small boxes: level 0 (P2), as at the demo's 96 px
  const rng = makeRng(8);
  const rois = Array.from({ length: 9 }, (_, k) => {
    const x = rng.uniform(0, 60);
    const y = rng.uniform(0, 60);
    return [k % 2, x, y, x + rng.uniform(2, 30), y + rng.uniform(2, 30)];
  });
  const r = tf.randomNormal([9, 3, 3, 5], 0, 1, 'float32', 40);
  const level0 = { outputSize: opts.outputSize, spatialScale: 1 / 4, samplingRatio: 0, aligned: true };
  const multi = (x: tf.Tensor) =>
    tf.sum(tf.mul(multiLevelRoiAlign([x as tf.Tensor4D, ...feats.slice(1)], rois, opts), r));
  const single = (x: tf.Tensor) => tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, rois, level0), r));
  const a = multiLevelRoiAlign(feats, rois, opts);
  const b = roiAlign(feats[0]!, rois, level0);
  assert.deepEqual(a.dataSync(), b.dataSync());
  const ga = tf.grad(multi)(feats[0]!);
  const gb = tf.grad(single)(feats[0]!);
  assert.deepEqual(ga.dataSync(), gb.dataSync());
  assert.ok(ga.abs().sum().dataSync()[0]! > 0);
  tf.dispose([...feats, r, a, b, ga, gb]);
});

test('roiAlignPlan (typed arrays) equals the plain plan, entry for entry, on 200 random RoI sets', () => {
  const rng = makeRng(21);
  let entries = 0;
  for (let c = 0; c < 200; c++) {
    const shape = [1 + rng.int(3), 1 + rng.int(30), 1 + rng.int(30), 4];
    const [n, h, w] = shape as [number, number, number, number];
    const stride = [1, 4, 8, 16, 32][c % 5]!;
    const rois = Array.from({ length: rng.int(12) }, (_, k) => {
      const x = rng.uniform(-0.3, 1.1) * w * stride;
      const y = rng.uniform(-0.3, 1.1) * h * stride;
      // tiny, zero-size, inverted, huge and integer-aligned boxes
      const kind = k % 5;
      const bw =
        kind === 0
          ? rng.uniform(0, 2)
          : kind === 1
            ? 0
            : kind === 2
              ? -rng.uniform(0, 5)
              : rng.uniform(1, 2 * w * stride);
      const bh = kind === 4 ? Math.round(rng.uniform(1, h * stride)) : rng.uniform(0.5, 1.5 * h * stride);
      const x1 = kind === 4 ? Math.round(x) : x;
      return [rng.int(n), x1, y, x1 + bw, y + bh];
    });
    const opts = {
      outputSize: [
        [7, 7],
        [2, 3],
        [1, 1],
        [5, 4],
      ][c % 4] as [number, number],
      spatialScale: 1 / stride,
      samplingRatio: [0, 0, 2, 1, 3][c % 5]!,
      aligned: c % 3 !== 0,
    };
    const got = roiAlignPlan(shape, rois, opts);
    const want = roiAlignPlanReference(shape, rois, opts);
    assert.deepEqual(got.start, want.start, `case ${c}: start`);
    assert.deepEqual(got.pos, want.pos, `case ${c}: pos`);
    assert.deepEqual(got.weight, want.weight, `case ${c}: weight`);
    entries += got.pos.length;
  }
  assert.ok(entries > 10000, `only ${entries} plan entries`);
});
