import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import {
  compareBackends,
  countCalls,
  input,
  int,
  mulberry32,
  pick,
  nativeTest,
  withGrads,
  type Rng,
} from './helpers.js';

interface ConvCase {
  x: number[];
  f: number[];
  stride: number;
  dilation: number;
  pad: 'same' | 'valid' | number;
}

/** A random conv that tfjs accepts: dilation only with stride 1, 'valid' only where the filter fits. */
function convCase(rng: Rng): ConvCase {
  const fh = pick(rng, [1, 1, 2, 3, 3, 5]);
  const stride = int(rng, 1, 2);
  const dilation = stride === 1 ? pick(rng, [1, 1, 2]) : 1;
  const pad = pick(rng, ['same', 'valid', 0, 1, 2] as const);
  // tfjs sizes numeric padding from the filter height alone, so keep those filters square.
  const fw = typeof pad === 'number' ? fh : pick(rng, [fh, fh, 1, 3]);
  const need = (k: number) => (k - 1) * dilation + 1;
  const h = Math.max(
    int(rng, 1, 11),
    pad === 'valid' ? need(fh) : 1,
    typeof pad === 'number' ? need(fh) - 2 * pad : 1,
  );
  const w = Math.max(
    int(rng, 1, 11),
    pad === 'valid' ? need(fw) : 1,
    typeof pad === 'number' ? need(fw) - 2 * pad : 1,
  );
  return { x: [int(rng, 1, 3), h, w, int(rng, 1, 6)], f: [fh, fw, 0, int(rng, 1, 6)], stride, dilation, pad };
}

nativeTest('Conv2D and both gradients equal the cpu kernels on 150 random shapes', () => {
  const rng = mulberry32(1);
  let native = 0;
  let withGradients = 0;
  for (let i = 0; i < 150; i++) {
    const c = convCase(rng);
    c.f[2] = c.x[3];
    const conv = (x: tf.Tensor, f: tf.Tensor) =>
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation);
    const what = `conv2d ${JSON.stringify(c)}`;
    const inputs = [input(rng, c.x), input(rng, c.f)];
    // tfjs differentiates convolutions only without dilation.
    const fn = c.dilation === 1 ? withGrads(conv, i) : conv;
    if (c.dilation === 1) withGradients++;
    native += countCalls('Conv2D', () => compareBackends(inputs, fn, what)).native;
  }
  assert.ok(withGradients >= 100, `only ${withGradients} cases checked gradients`);
  assert.ok(native >= 150, `Conv2D ran natively ${native} times`);
});

nativeTest('gradient kernels run natively (no fallback) on a ResNet-like stride-2 and 1x1 set', () => {
  const rng = mulberry32(2);
  const shapes: ConvCase[] = [
    { x: [2, 9, 9, 4], f: [3, 3, 4, 5], stride: 2, dilation: 1, pad: 1 },
    { x: [1, 8, 8, 6], f: [1, 1, 6, 3], stride: 1, dilation: 1, pad: 0 },
    { x: [3, 7, 7, 2], f: [1, 1, 2, 4], stride: 2, dilation: 1, pad: 0 },
    { x: [1, 12, 12, 3], f: [7, 7, 3, 4], stride: 2, dilation: 1, pad: 3 },
  ];
  for (const c of shapes) {
    const conv = (x: tf.Tensor, f: tf.Tensor) =>
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad);
    const inputs = [input(rng, c.x), input(rng, c.f)];
    const bi = countCalls('Conv2DBackpropInput', () =>
      compareBackends(inputs, withGrads(conv, 7), JSON.stringify(c)),
    );
    const bf = countCalls('Conv2DBackpropFilter', () =>
      compareBackends(inputs, withGrads(conv, 7), JSON.stringify(c)),
    );
    assert.deepEqual(bi, { native: 1, fallback: 0 });
    assert.deepEqual(bf, { native: 1, fallback: 0 });
  }
});

nativeTest('FusedConv2D with bias and relu equals the cpu kernel on 40 random shapes', () => {
  const rng = mulberry32(3);
  let native = 0;
  for (let i = 0; i < 40; i++) {
    const c = convCase(rng);
    c.f[2] = c.x[3];
    const activation = pick(rng, ['linear', 'relu'] as const);
    const fused = (x: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: f as tf.Tensor4D,
        strides: c.stride,
        pad: c.pad,
        dilations: c.dilation,
        bias: b,
        activation,
      });
    const inputs = [input(rng, c.x), input(rng, c.f), input(rng, [c.f[3]])];
    native += countCalls('FusedConv2D', () =>
      compareBackends(inputs, fused, `fused ${activation} ${JSON.stringify(c)}`),
    ).native;
  }
  assert.equal(native, 40);
});

nativeTest(
  'stride-1 "same" convolutions on images of 28 px and more (the shifted-GEMM path) equal the cpu kernels, with gradients, on 12 shapes',
  () => {
    const rng = mulberry32(4);
    for (let i = 0; i < 12; i++) {
      // Square and non-square odd filters, an even one (padding 0 on top, 1 below), 'same' and
      // the equivalent numeric padding, and sizes on both sides of the 28 px threshold.
      const [fh, fw] = pick(rng, [
        [3, 3],
        [3, 3],
        [5, 5],
        [3, 1],
        [1, 3],
        [2, 2],
      ] as const);
      const pad = fh === fw && fh % 2 === 1 && i % 3 === 0 ? (fh - 1) / 2 : ('same' as const);
      const c: ConvCase = {
        x: [int(rng, 1, 2), int(rng, 27, 33), int(rng, 28, 33), int(rng, 1, 5)],
        f: [fh, fw, 0, int(rng, 1, 5)],
        stride: 1,
        dilation: 1,
        pad,
      };
      c.f[2] = c.x[3];
      const conv = (x: tf.Tensor, f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, c.pad);
      const calls = countCalls('Conv2D', () =>
        compareBackends(
          [input(rng, c.x), input(rng, c.f)],
          withGrads(conv, 40 + i),
          `shifted ${JSON.stringify(c)}`,
        ),
      );
      assert.equal(calls.native, 2);
    }
  },
);
