/**
 * The direct convolution for narrow outputs (native/src/conv_direct.cc): every output element is
 * one fused multiply-add chain over the taps in im2col's order (kh, kw, c) starting from +0. Checked
 * bit for bit against that chain computed exactly in JavaScript, against plain tfjs within float32
 * rounding, and against the im2col + GEMM path it replaces (bit for bit where that GEMM is
 * OpenBLAS's SkylakeX kernel, which sums these dot products in the same order).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { loadNative } from '../../src/backend/native.js';
import { ACCELERATED_BACKEND } from '../../src/backend/index.js';
import { assertClose, input, int, mulberry32, nativeTest, pick, runOn, type Rng } from './helpers.js';

interface DirectCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid' | number;
}

/** fma(a, b, c) rounded once to float32: a*b is exact in double, TwoSum gives p + c = s + e exactly. */
function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const e = p - (s - bb) + (c - bb);
  const f = Math.fround(s);
  if (e === 0 || f === s) return f;
  // s is not a float; fround(s) is the float nearest p + c unless s lies exactly halfway between
  // two floats (a midpoint is a double, so no other double lies between s and p + c): then e decides.
  const g = 2 * s - f;
  if (Math.fround(g) !== g || Math.abs(g - s) !== Math.abs(s - f)) return f;
  return e > 0 ? Math.max(f, g) : Math.min(f, g);
}

/** The chain, from tfjs's geometry: out-of-image taps multiply 0 like im2col's zero columns. */
function fmaChainConv(
  x: Float32Array,
  w: Float32Array,
  c: DirectCase,
): { shape: number[]; values: Float32Array } {
  const [n, h, wd, ch] = c.x;
  const [fh, fw, , k] = c.f;
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.stride, 1, c.pad);
  const { outHeight: oh, outWidth: ow } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const out = new Float32Array(n * oh * ow * k);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++)
        for (let o = 0; o < k; o++) {
          let acc = 0;
          for (let i = 0; i < fh; i++)
            for (let j = 0; j < fw; j++)
              for (let q = 0; q < ch; q++) {
                const iy = y * c.stride - pt + i;
                const ix = xo * c.stride - pl + j;
                const v = iy < 0 || iy >= h || ix < 0 || ix >= wd ? 0 : x[((b * h + iy) * wd + ix) * ch + q];
                acc = fmaf(v, w[((i * fw + j) * ch + q) * k + o], acc);
              }
          out[((b * oh + y) * ow + xo) * k + o] = acc;
        }
  return { shape: [n, oh, ow, k], values: out };
}

/**
 * A convolution the direct kernel takes: k of 1, 2 or 4 vectors over at most 576 taps, or a multiple of
 * four vectors over at most 64 taps (pointwise stride 1 included).
 */
function directCase(rng: Rng, lanes: number): DirectCase {
  const fh = pick(rng, [1, 1, 2, 3, 3, 5, 7]);
  const stride = int(rng, 1, 2);
  const pad =
    fh === 1 && stride === 1
      ? pick(rng, ['same', 'valid', 0] as const)
      : pick(rng, ['same', 'valid', 0, 1, 3] as const);
  const maxC = Math.floor(576 / (fh * fh));
  const c = Math.max(1, Math.min(pick(rng, [int(rng, 1, 40), int(rng, 1, 40), int(rng, 1, 40), maxC]), maxC));
  const wide = fh * fh * c <= 64 && int(rng, 0, 3) === 0;
  const k = wide ? lanes * 4 * pick(rng, [2, 3, 4]) : lanes * pick(rng, [1, 1, 2, 4]);
  const size = Math.max(int(rng, 1, 23), pad === 'valid' ? fh : typeof pad === 'number' ? fh - 2 * pad : 1);
  return {
    x: [int(rng, 1, 3), size, Math.max(size + int(rng, -3, 3), fh), c],
    f: [fh, fh, c, k],
    stride,
    pad,
  };
}

/** Whether OpenBLAS SkylakeX sums the case in the direct kernel's order: not past 448 taps (it splits them in two blocks). */
function gemmSameChain(c: DirectCase): boolean {
  const [fh, fw, ch] = c.f;
  return fh * fw * ch <= 448;
}

function conv(c: DirectCase) {
  return (x: tf.Tensor, f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad);
}

function bitsEqual(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  assert.equal(ua.length, ub.length, `${what}: length`);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} is ${a[i]}, expected ${b[i]}`);
  }
}

function directLanes(): number {
  const lanes = loadNative().addon?.info().directConvLanes ?? 0;
  assert.ok(lanes === 16 || lanes === 8, `no direct convolution kernel on this CPU (lanes ${lanes})`);
  return lanes;
}

function withDirect<T>(on: boolean, f: () => T): T {
  const addon = loadNative().addon;
  assert.ok(addon?.setConvDirect, 'addon without setConvDirect: rebuild it (npm run build:native)');
  // On: wherever the kernels apply, also where the system BLAS measured faster (mode 2).
  const was = addon.setConvDirect(on ? 2 : 0);
  try {
    return f();
  } finally {
    addon.setConvDirect(was);
  }
}

nativeTest(
  'the direct convolution is the fused multiply-add chain in im2col order, bit for bit, on 120 random shapes',
  () => {
    const lanes = directLanes();
    const rng = mulberry32(21);
    for (let i = 0; i < 120; i++) {
      const c = directCase(rng, lanes);
      const what = `direct conv ${JSON.stringify(c)}`;
      const inputs = [input(rng, c.x), input(rng, c.f)];
      const [got] = withDirect(true, () => runOn(ACCELERATED_BACKEND, inputs, conv(c)));
      const want = fmaChainConv(inputs[0].values, inputs[1].values, c);
      assert.deepEqual(got.shape, want.shape, `${what}: shape`);
      bitsEqual(got.values, want.values, what);
      // and tfjs's own kernel agrees within float32 rounding (a different summation order)
      assertClose(got, runOn('cpu', inputs, conv(c))[0], what);
    }
  },
);

nativeTest(
  'the direct convolution against the im2col + GEMM path: equal bit for bit with OpenBLAS SkylakeX, close otherwise',
  () => {
    const lanes = directLanes();
    const info = loadNative().addon!.info();
    const sameOrder = info.gemm === 'openblas' && / SkylakeX /.test(info.blas) && lanes === 16;
    const rng = mulberry32(22);
    for (let i = 0; i < 60; i++) {
      const c = directCase(rng, lanes);
      const what = `direct vs GEMM ${JSON.stringify(c)} (${info.gemm})`;
      const inputs = [input(rng, c.x), input(rng, c.f)];
      const [direct] = withDirect(true, () => runOn(ACCELERATED_BACKEND, inputs, conv(c)));
      const [gemm] = withDirect(false, () => runOn(ACCELERATED_BACKEND, inputs, conv(c)));
      if (sameOrder && gemmSameChain(c)) bitsEqual(direct.values, gemm.values, what);
      else assertClose(direct, gemm, what);
    }
  },
);

nativeTest('convolutions the direct kernel does not take give the same output with it on or off', () => {
  directLanes();
  const rng = mulberry32(23);
  const cases: DirectCase[] = [
    { x: [2, 9, 9, 72], f: [3, 3, 72, 16], stride: 1, pad: 'same' }, // 648 taps
    { x: [2, 9, 9, 8], f: [3, 3, 8, 128], stride: 1, pad: 'same' }, // 128 channels out over 72 taps
    { x: [2, 9, 9, 96], f: [1, 1, 96, 128], stride: 1, pad: 'valid' }, // 128 channels out over 96 taps
    { x: [2, 9, 9, 16], f: [1, 1, 16, 80], stride: 1, pad: 'valid' }, // 80 channels: not whole blocks of 4 vectors
    { x: [2, 9, 9, 5], f: [3, 3, 5, 20], stride: 2, pad: 1 }, // 20 channels: not whole vectors
  ];
  for (const c of cases) {
    const inputs = [input(rng, c.x), input(rng, c.f)];
    const [on] = withDirect(true, () => runOn(ACCELERATED_BACKEND, inputs, conv(c)));
    const [off] = withDirect(false, () => runOn(ACCELERATED_BACKEND, inputs, conv(c)));
    bitsEqual(on.values, off.values, `outside the direct kernel ${JSON.stringify(c)}`);
  }
});

/** A stride-1 convolution whose input gradient the direct kernel takes: c of 1, 2 or 4 vectors, k <= 64, not pointwise. */
function dxCase(rng: Rng, lanes: number): DirectCase {
  const c = lanes * pick(rng, [1, 1, 2, 4]);
  const fh = pick(rng, [2, 3, 3, 5, 7]);
  const pad = pick(rng, ['same', 'same', 'valid', 0, 1, 2] as const);
  // tfjs sizes both axes by the filter's height under a numeric padding: square filters there.
  const fw = typeof pad === 'number' ? fh : pick(rng, [fh, fh, 1, 3]);
  const k = pick(rng, [1, 3, 16, 16, 32, 64, int(rng, 1, 64)]);
  const min = pad === 'valid' || pad === 0 ? fh : typeof pad === 'number' ? Math.max(1, fh - 2 * pad) : 1;
  const h = Math.max(int(rng, 1, 20), min);
  const w = Math.max(
    h + int(rng, -4, 4),
    pad === 'valid' || pad === 0 ? fw : typeof pad === 'number' ? Math.max(1, fw - 2 * pad) : 1,
  );
  const info = tf.backend_util.computeConv2DInfo([1, h, w, c], [fh, fw, c, k], 1, 1, pad);
  const perImage = info.outHeight * info.outWidth * fh * fw * c * k;
  const n = Math.min(64, Math.ceil(1.2e6 / perImage) + int(rng, 0, 2));
  return { x: [n, h, w, c], f: [fh, fw, c, k], stride: 1, pad };
}

/**
 * The input gradient as im2col's GEMM + col2im sums it: per pixel, the taps inside dy in (kh, kw)
 * order, each a fused multiply-add chain over k from +0, added to +0 in float32.
 */
function chainBackpropInput(dy: Float32Array, w: Float32Array, c: DirectCase): Float32Array {
  const [n, h, wd, ch] = c.x;
  const [fh, fw, , k] = c.f;
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, 1, 1, c.pad);
  const { outHeight: oh, outWidth: ow } = info;
  const [pt, pl] = [info.padInfo.top, info.padInfo.left];
  const dx = new Float32Array(n * h * wd * ch);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < wd; x++)
        for (let q = 0; q < ch; q++) {
          let acc = 0;
          for (let i = 0; i < fh; i++) {
            const oy = y + pt - i;
            if (oy < 0 || oy >= oh) continue;
            for (let j = 0; j < fw; j++) {
              const ox = x + pl - j;
              if (ox < 0 || ox >= ow) continue;
              let chain = 0;
              for (let o = 0; o < k; o++)
                chain = fmaf(
                  dy[((b * oh + oy) * ow + ox) * k + o]!,
                  w[((i * fw + j) * ch + q) * k + o]!,
                  chain,
                );
              acc = Math.fround(acc + chain);
            }
          }
          dx[((b * h + y) * wd + x) * ch + q] = acc;
        }
  return dx;
}

function backpropInput(c: DirectCase) {
  return (dy: tf.Tensor, f: tf.Tensor) =>
    tf.conv2dTranspose(dy as tf.Tensor4D, f as tf.Tensor4D, c.x, 1, c.pad as 'same' | 'valid' | number);
}

function dyShape(c: DirectCase): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, 1, 1, c.pad);
  return [c.x[0], info.outHeight, info.outWidth, c.f[3]];
}

nativeTest(
  "the direct input gradient is col2im's sum of fused multiply-add chains, bit for bit, on 120 random shapes; tfjs agrees within rounding",
  () => {
    const lanes = directLanes();
    const info = loadNative().addon!.info();
    const sameOrder = info.gemm === 'openblas' && / SkylakeX /.test(info.blas) && lanes === 16;
    const rng = mulberry32(31);
    let taken = 0;
    for (let i = 0; i < 120; i++) {
      // Batches large enough that the product is past OpenBLAS's small-matrix kernel (m·n·k > 100³):
      // the only shapes the direct kernel takes (a few tiny images stay below it, and off it).
      const c = dxCase(rng, lanes);
      const ds = dyShape(c);
      const large = ds[0]! * ds[1]! * ds[2]! * c.f[0] * c.f[1] * c.f[2] * c.f[3] > 1e6;
      const what = `input gradient ${JSON.stringify(c)}${large ? '' : ' (small: GEMM path)'}`;
      const inputs = [input(rng, ds), input(rng, c.f)];
      const [got] = withDirect(true, () => runOn(ACCELERATED_BACKEND, inputs, backpropInput(c)));
      const [gemm] = withDirect(false, () => runOn(ACCELERATED_BACKEND, inputs, backpropInput(c)));
      assert.deepEqual(got.shape, c.x, `${what}: shape`);
      assertClose(got, runOn('cpu', inputs, backpropInput(c))[0], what);
      if (!large) {
        bitsEqual(got.values, gemm.values, `${what}: on and off`);
        continue;
      }
      taken++;
      bitsEqual(got.values, chainBackpropInput(inputs[0].values, inputs[1].values, c), what);
      // and the im2col + GEMM + col2im path it replaces
      if (sameOrder) bitsEqual(got.values, gemm.values, `${what} vs GEMM`);
      else assertClose(got, gemm, `${what} vs GEMM`);
    }
    assert.ok(taken >= 100, `only ${taken} of the shapes were large enough for the direct kernel`);
  },
);

nativeTest(
  'a pointwise input gradient is the direct forward kernel on the transposed filter: per pixel one chain over k, bit for bit, on 60 random shapes',
  () => {
    const lanes = directLanes();
    const rng = mulberry32(33);
    for (let i = 0; i < 60; i++) {
      // dx = dy w^T, a pointwise convolution from k channels onto c: c of 1, 2 or 4 vectors over any
      // k up to 576, or a multiple of four vectors over k <= 64.
      const wide = int(rng, 0, 3) === 0;
      const ch = wide ? lanes * 4 * pick(rng, [2, 3]) : lanes * pick(rng, [1, 1, 2, 4]);
      const k = wide ? int(rng, 1, 64) : pick(rng, [1, 3, 16, 64, int(rng, 1, 576)]);
      const h = int(rng, 1, 12);
      const c: DirectCase = {
        x: [int(rng, 1, 4), h, Math.max(1, h + int(rng, -3, 3)), ch],
        f: [1, 1, ch, k],
        stride: 1,
        pad: pick(rng, ['same', 'valid', 0] as const),
      };
      const what = `pointwise input gradient ${JSON.stringify(c)}`;
      const inputs = [input(rng, dyShape(c)), input(rng, c.f)];
      const [got] = withDirect(true, () => runOn(ACCELERATED_BACKEND, inputs, backpropInput(c)));
      assert.deepEqual(got.shape, c.x, `${what}: shape`);
      bitsEqual(got.values, chainBackpropInput(inputs[0].values, inputs[1].values, c), what);
      assertClose(got, runOn('cpu', inputs, backpropInput(c))[0], what);
    }
  },
);

nativeTest('input gradients the direct kernel does not take are the same with it on or off', () => {
  directLanes();
  const rng = mulberry32(32);
  const cases: DirectCase[] = [
    { x: [2, 9, 9, 16], f: [3, 3, 16, 128], stride: 1, pad: 'same' }, // 128-term chains
    { x: [2, 9, 9, 128], f: [3, 3, 128, 16], stride: 1, pad: 'same' }, // 128 channels in
    { x: [2, 9, 9, 20], f: [3, 3, 20, 16], stride: 1, pad: 'same' }, // 20 channels: not whole vectors
    { x: [2, 9, 9, 20], f: [1, 1, 20, 16], stride: 1, pad: 'valid' }, // pointwise onto 20 channels
    { x: [2, 9, 9, 128], f: [1, 1, 128, 96], stride: 1, pad: 'valid' }, // pointwise onto 128 channels from 96
  ];
  for (const c of cases) {
    const inputs = [input(rng, dyShape(c)), input(rng, c.f)];
    const [on] = withDirect(true, () => runOn(ACCELERATED_BACKEND, inputs, backpropInput(c)));
    const [off] = withDirect(false, () => runOn(ACCELERATED_BACKEND, inputs, backpropInput(c)));
    bitsEqual(on.values, off.values, `outside the direct input gradient ${JSON.stringify(c)}`);
  }
});

/**
 * OpenBLAS 0.3.21's blocks of a TN product's summed dimension k (m·n·k > 100³: 448 while at least
 * 896 remain, then two halves (l + 1) / 2 or the rest whole; else its small-matrix kernel's one
 * chain), or null where the kernel declines (an odd split, on which OpenBLAS's drivers differ).
 */
function openblasBlocks(m: number, n: number, k: number): [number, number][] | null {
  if (m * n * k <= 1e6) return [[0, k]];
  const out: [number, number][] = [];
  for (let ls = 0; ls < k;) {
    let l = k - ls;
    if (l >= 896) l = 448;
    else if (l > 448) {
      if (l % 8 !== 0) return null;
      l /= 2;
    }
    out.push([ls, l]);
    ls += l;
  }
  return out;
}

/** The filter gradient as that GEMM sums col^T · dy: per block a fused multiply-add chain from +0, the blocks added to +0. */
function chainBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  c: DirectCase,
  blocks: [number, number][],
): Float32Array {
  const [, h, wd, ch] = c.x;
  const [fh, fw, , k] = c.f;
  const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.stride, 1, c.pad);
  const { outHeight: oh, outWidth: ow } = info;
  const [pt, pl] = [info.padInfo.top, info.padInfo.left];
  const rows = fh * fw * ch;
  const dw = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const [i, j, q] = [Math.floor(r / (fw * ch)), Math.floor(r / ch) % fw, r % ch];
    for (let o = 0; o < k; o++) {
      let acc = 0;
      for (const [start, len] of blocks) {
        let chain = 0;
        for (let p = start; p < start + len; p++) {
          const [b, y, xo] = [Math.floor(p / (oh * ow)), Math.floor(p / ow) % oh, p % ow];
          const iy = y * c.stride - pt + i;
          const ix = xo * c.stride - pl + j;
          const v = iy < 0 || iy >= h || ix < 0 || ix >= wd ? 0 : x[((b * h + iy) * wd + ix) * ch + q]!;
          chain = fmaf(v, dy[p * k + o]!, chain);
        }
        acc = Math.fround(acc + chain);
      }
      dw[r * k + o] = acc;
    }
  }
  return dw;
}

function backpropFilter(c: DirectCase) {
  return (x: tf.Tensor, dy: tf.Tensor) =>
    tf.engine().runKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      {
        strides: c.stride,
        pad: c.pad,
        dataFormat: 'NHWC',
        filterShape: c.f,
      },
    ) as tf.Tensor;
}

nativeTest(
  "the direct filter gradient is OpenBLAS's blocked sum of fused multiply-add chains, bit for bit, on 40 random shapes; tfjs agrees within rounding",
  () => {
    const lanes = directLanes();
    const info = loadNative().addon!.info();
    const sameOrder = info.gemm === 'openblas' && / SkylakeX /.test(info.blas) && lanes === 16;
    const rng = mulberry32(41);
    let [taken, blocked] = [0, 0];
    for (let i = 0; i < 40; i++) {
      const k = pick(rng, [16, 32, 32, 64]);
      const fh = pick(rng, [1, 1, 2, 3, 3, 5, 7]);
      const stride = int(rng, 1, 2);
      const pad = pick(
        rng,
        fh === 1 ? (['same', 'valid', 0] as const) : (['same', 'valid', 0, 1, 3] as const),
      );
      const ch = Math.max(1, Math.min(int(rng, 1, pick(rng, [24, 24, 64])), Math.floor(576 / (fh * fh))));
      const size = Math.max(
        int(rng, 3, 18),
        pad === 'valid' || pad === 0 ? fh : typeof pad === 'number' ? Math.max(1, fh - 2 * pad) : 1,
      );
      const perImage = tf.backend_util.computeConv2DInfo(
        [1, size, size, ch],
        [fh, fh, ch, k],
        stride,
        1,
        pad,
      );
      // Every other shape with more than 896 pixels, so that OpenBLAS cuts the sum into blocks.
      const pixelsPerImage = perImage.outHeight * perImage.outWidth;
      const n = i % 2 ? Math.min(64, Math.ceil(int(rng, 900, 3000) / pixelsPerImage)) : int(rng, 1, 12);
      const c: DirectCase = { x: [n, size, size, ch], f: [fh, fh, ch, k], stride, pad };
      const conv2dInfo = tf.backend_util.computeConv2DInfo(c.x, c.f, stride, 1, pad);
      const pixels = c.x[0] * conv2dInfo.outHeight * conv2dInfo.outWidth;
      const blocks = openblasBlocks(fh * fh * ch, k, pixels);
      const what = `filter gradient ${JSON.stringify(c)}, ${pixels} pixels${blocks ? ` in ${blocks.length} block(s)` : ' (declined)'}`;
      const inputs = [input(rng, c.x), input(rng, [c.x[0], conv2dInfo.outHeight, conv2dInfo.outWidth, k])];
      const [got] = withDirect(true, () => runOn(ACCELERATED_BACKEND, inputs, backpropFilter(c)));
      const [gemm] = withDirect(false, () => runOn(ACCELERATED_BACKEND, inputs, backpropFilter(c)));
      assertClose(got, runOn('cpu', inputs, backpropFilter(c))[0], what);
      // k of 1, 2 or 4 vectors (64 channels are 8 vectors of AVX2: not taken there)
      if (!blocks || ![1, 2, 4].includes(k / lanes)) {
        bitsEqual(got.values, gemm.values, `${what}: on and off`);
        continue;
      }
      taken++;
      blocked += blocks.length > 1 ? 1 : 0;
      bitsEqual(got.values, chainBackpropFilter(inputs[0].values, inputs[1].values, c, blocks), what);
      if (sameOrder) bitsEqual(got.values, gemm.values, `${what} vs GEMM`);
      else assertClose(got, gemm, `${what} vs GEMM`);
    }
    assert.ok(
      taken >= (lanes === 16 ? 30 : 20) && blocked >= 8,
      `${taken} shapes taken, ${blocked} of them in several blocks`,
    );
  },
);
