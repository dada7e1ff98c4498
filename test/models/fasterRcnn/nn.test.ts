import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { conv, makeConv } from '../../../src/models/fasterRcnn/nn.js';
import { makeRng } from '../../../src/rng.js';

test('conv: gradients (im2col filter gradient) equal tfjs conv2d gradients, k 1 and 3, stride 1 and 2, odd sizes', () => {
  const rng = makeRng(1);
  for (const [k, stride, h, w] of [
    [3, 1, 7, 6],
    [3, 2, 7, 9],
    [1, 1, 5, 5],
    [3, 2, 8, 8],
  ] as const) {
    const p = makeConv(`t${k}${stride}${h}`, k, 3, 4, { kind: 'xavier' }, rng);
    const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const r = tf.randomNormal([2, Math.ceil(h / stride), Math.ceil(w / stride), 4], 0, 1, 'float32', 4);
    const ours = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
      tf.sum(tf.mul(conv(a as tf.Tensor4D, { w: f as tf.Variable, b: p.b }, stride), r)),
    )([x, p.w]);
    const theirs = tf.grads((a: tf.Tensor, f: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, stride, 'same'), r)),
    )([x, p.w]);
    for (let i = 0; i < 2; i++) {
      const d = tf.max(tf.abs(tf.sub(ours[i]!, theirs[i]!))).dataSync()[0]!;
      assert.ok(d < 1e-4, `k${k} s${stride} ${h}x${w} grad ${i}: max diff ${d}`);
    }
    tf.dispose([x, r, ...ours, ...theirs, p.w, p.b]);
  }
});
