import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACCELERATED_BACKEND,
  convBatchNormEval,
  setConvBatchNormFusion,
  type BatchNormEvalParams,
} from '../../src/backend/index.js';
import { ResNet } from '../../src/models/resnet.js';
import { makeRng } from '../../src/rng.js';
import { extractFeatures } from '../../src/train/linearEval.js';
import {
  compareBackends,
  countCalls,
  int,
  mulberry32,
  nativeTest,
  pick,
  randomValues,
  type Rng,
} from './helpers.js';

const KERNEL = 'CxrConvBatchNormEval';

/**
 * Equal bit for bit (so -0 stays -0), except that a NaN only has to be a NaN: when both summands
 * of the residual add are NaN, x86 returns the first operand's NaN and the compiler may order a
 * commutative add either way, so the sign bit of such a NaN is not the kernels' to keep. A NaN
 * activation fails a run whatever its sign (and prints the same in every table).
 */
function assertSameBits(got: Float32Array, ref: Float32Array, what: string): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const r = new Uint32Array(ref.buffer, ref.byteOffset, ref.length);
  let nans = 0;
  for (let i = 0; i < r.length; i++) {
    if (Number.isNaN(ref[i])) {
      assert.ok(Number.isNaN(got[i]), `${what}: element ${i} is ${got[i]}, not NaN`);
      nans++;
      continue;
    }
    if (g[i] !== r[i])
      assert.fail(
        `${what}: element ${i} is ${got[i]} (0x${g[i]!.toString(16)}), not ${ref[i]} (0x${r[i]!.toString(16)})`,
      );
  }
  if (nans === 0) assert.deepEqual(got, ref, what);
}

/** Values with the specials relu and the add must keep: ±0, ±Infinity, NaN, and tiny ones. */
function withSpecials(rng: Rng, v: Float32Array): Float32Array {
  const special = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 1e-30];
  for (let i = 0; i < v.length; i++) if (rng() < 0.08) v[i] = pick(rng, special);
  return v;
}

interface Case {
  x: tf.Tensor4D;
  filter: tf.Tensor4D;
  stride: number;
  pad: 'valid' | number;
  bn: BatchNormEvalParams;
  relu: boolean;
  residual?: tf.Tensor4D;
  label: string;
}

/** A random case on the active backend: odd sizes, 1×1 to 7×7 filters, strides 1 and 2, parameters of length c or 1. */
function randomCase(rng: Rng, i: number, specials: boolean, direct = false): Case {
  const big = i % 15 === 0;
  const n = int(rng, 1, 3);
  const h = big ? int(rng, 14, 33) : int(rng, 1, 13);
  const w = big ? int(rng, 14, 33) : int(rng, 1, 13);
  const f = pick(rng, [1, 1, 3, 3, 5, 7]);
  // direct: shapes the direct convolution takes (16/32/64 channels out, at most 448 taps, not 1x1 stride 1)
  const cin = direct
    ? int(rng, 1, Math.floor(448 / (f * f)))
    : big
      ? pick(rng, [16, 32, 64])
      : int(rng, 1, 9);
  const cout = direct ? pick(rng, [16, 32, 64]) : big ? pick(rng, [16, 64, 128]) : int(rng, 1, 9);
  const stride = direct && f === 1 ? 2 : pick(rng, [1, 2]);
  const pad: 'valid' | number = rng() < 0.4 ? 'valid' : int(rng, 0, 3);
  const outH = Math.floor((h + 2 * (pad === 'valid' ? 0 : pad) - f) / stride) + 1;
  const outW = Math.floor((w + 2 * (pad === 'valid' ? 0 : pad) - f) / stride) + 1;
  const xv = randomValues(rng, n * h * w * cin);
  // tf.batchNorm wants the four parameters of one rank: [c] (the model's) or [1, 1, 1, c]; each of length c or 1.
  const rank4 = rng() < 0.2;
  const param = (positive: boolean): tf.Tensor => {
    const len = rng() < 0.15 ? 1 : cout;
    const v = randomValues(rng, len).map((a) => (positive ? Math.abs(a) + 0.05 : a));
    return tf.tensor(v, rank4 ? [1, 1, 1, len] : [len]);
  };
  const bn: BatchNormEvalParams = {
    mean: param(false),
    variance: param(true),
    scale: param(false),
    offset: param(false),
    eps: pick(rng, [1e-5, 1e-3]),
  };
  const withResidual = outH > 0 && outW > 0 && rng() < 0.5;
  const residual = withResidual
    ? tf.tensor4d(
        specials
          ? withSpecials(rng, randomValues(rng, n * outH * outW * cout))
          : randomValues(rng, n * outH * outW * cout),
        [n, outH, outW, cout],
      )
    : undefined;
  const relu = rng() < 0.7;
  return {
    x: tf.tensor4d(specials ? withSpecials(rng, xv) : xv, [n, h, w, cin]),
    filter: tf.tensor4d(randomValues(rng, f * f * cin * cout), [f, f, cin, cout]),
    stride,
    pad,
    bn,
    relu,
    residual,
    label: `case ${i}: x [${n},${h},${w},${cin}], filter ${f}x${f}x${cout}, stride ${stride}, pad ${pad}, relu ${relu}, residual ${withResidual}`,
  };
}

/** fn with the fusion off (the separate ops), whatever it throws. */
function separateOps<T>(fn: () => T): T {
  setConvBatchNormFusion(false);
  try {
    return fn();
  } finally {
    setConvBatchNormFusion(true);
  }
}

function disposeCase(c: Case): void {
  tf.dispose([
    c.x,
    c.filter,
    c.bn.mean,
    c.bn.variance,
    c.bn.scale,
    c.bn.offset,
    ...(c.residual ? [c.residual] : []),
  ]);
}

function run(c: Case): Float32Array {
  const y = convBatchNormEval(c.x, c.filter, c.stride, c.pad, c.bn, { relu: c.relu, residual: c.residual });
  const v = Float32Array.from(y.dataSync());
  y.dispose();
  return v;
}

for (const [what, seed, direct] of [
  ['200 shapes', 1401, false],
  ['120 shapes the direct convolution takes (batch norm on rows in cache, conv2dBnAct)', 1402, true],
] as const)
  nativeTest(
    `the fused eval conv + batch norm kernel equals Conv2D, FusedBatchNorm, Relu / CxrAddRelu / Add bit for bit, on ${what}`,
    () => {
      tf.setBackend(ACCELERATED_BACKEND);
      const rng = mulberry32(seed);
      let fused = 0;
      let cases = 0;
      for (let i = 0; i < (direct ? 120 : 200); i++) {
        const c = randomCase(rng, i, i % 4 === 3, direct);
        const info = tf.backend_util.computeConv2DInfo(c.x.shape, c.filter.shape, c.stride, 1, c.pad);
        if (info.outHeight <= 0 || info.outWidth <= 0) {
          disposeCase(c);
          continue;
        }
        const before = tf.memory().numTensors;
        setConvBatchNormFusion(false);
        const separate = countCalls(KERNEL, () => run(c));
        assert.equal(separate.native, 0, `${c.label}: fusion off runs the separate ops`);
        {
          const ref = run(c);
          setConvBatchNormFusion(true);
          // Twice: the second run's output buffer comes from the pool, with the first run's values in it.
          for (let k = 0; k < 2; k++) {
            const calls = countCalls(KERNEL, () => assertSameBits(run(c), ref, c.label));
            assert.equal(calls.native, 1, `${c.label}: the fused kernel ran`);
            fused += calls.native;
          }
          setConvBatchNormFusion(false);
        }
        setConvBatchNormFusion(true);
        assert.equal(tf.memory().numTensors, before, `${c.label}: tensors leaked`);
        disposeCase(c);
        cases++;
      }
      assert.ok(cases >= (direct ? 80 : 150), `${cases} cases had an output`);
      assert.equal(fused, 2 * cases);
    },
  );

nativeTest(
  'convBatchNormEval (fused, cxr-cpu) equals the separate ops on plain tfjs (cpu) on 60 shapes',
  () => {
    const rng = mulberry32(1402);
    let done = 0;
    for (let i = 0; i < 60; i++) {
      tf.setBackend(ACCELERATED_BACKEND);
      const c = randomCase(rng, i, false);
      const info = tf.backend_util.computeConv2DInfo(c.x.shape, c.filter.shape, c.stride, 1, c.pad);
      const inputs = [
        c.x,
        c.filter,
        c.bn.mean,
        c.bn.variance,
        c.bn.scale,
        c.bn.offset,
        ...(c.residual ? [c.residual] : []),
      ].map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
      const { stride, pad, relu, label } = c;
      const eps = c.bn.eps;
      disposeCase(c);
      if (info.outHeight <= 0 || info.outWidth <= 0) continue;
      const calls = countCalls(KERNEL, () =>
        compareBackends(
          inputs,
          (x, filter, mean, variance, scale, offset, residual) =>
            convBatchNormEval(
              x as tf.Tensor4D,
              filter as tf.Tensor4D,
              stride,
              pad,
              { mean, variance, scale, offset, eps },
              {
                relu,
                residual: residual as tf.Tensor4D | undefined,
              },
            ),
          label,
          1e-4,
        ),
      );
      assert.equal(calls.native, 1, `${label}: fused on cxr-cpu, separate ops on cpu`);
      done++;
    }
    assert.ok(done >= 45);
  },
);

nativeTest(
  'under a gradient tape convBatchNormEval runs the separate ops, and its gradients are theirs',
  () => {
    tf.setBackend(ACCELERATED_BACKEND);
    const rng = mulberry32(1403);
    const x = tf.tensor4d(randomValues(rng, 2 * 9 * 9 * 3), [2, 9, 9, 3]);
    const filter = tf.tensor4d(randomValues(rng, 3 * 3 * 3 * 5), [3, 3, 3, 5]);
    const residual = tf.tensor4d(randomValues(rng, 2 * 5 * 5 * 5), [2, 5, 5, 5]);
    const bn: BatchNormEvalParams = {
      mean: tf.tensor1d(randomValues(rng, 5)),
      variance: tf.tensor1d(randomValues(rng, 5).map((v) => Math.abs(v) + 0.1)),
      scale: tf.tensor1d(randomValues(rng, 5)),
      offset: tf.tensor1d(randomValues(rng, 5)),
      eps: 1e-5,
    };
    const fusedLoss = (a: tf.Tensor, f: tf.Tensor, r: tf.Tensor) =>
      tf.sum(
        tf.square(
          convBatchNormEval(a as tf.Tensor4D, f as tf.Tensor4D, 2, 1, bn, {
            relu: true,
            residual: r as tf.Tensor4D,
          }),
        ),
      );
    const refLoss = (a: tf.Tensor, f: tf.Tensor, r: tf.Tensor) =>
      tf.sum(
        tf.square(
          tf.relu(
            tf.add(
              tf.batchNorm(
                tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 1),
                bn.mean,
                bn.variance,
                bn.offset,
                bn.scale,
                bn.eps,
              ),
              r,
            ),
          ),
        ),
      );
    let got: tf.Tensor[] = [];
    const calls = countCalls(KERNEL, () => {
      got = tf.grads(fusedLoss)([x, filter, residual]);
    });
    assert.equal(calls.native, 0, 'no fused kernel under the tape');
    const ref = tf.grads(refLoss)([x, filter, residual]);
    got.forEach((g, i) =>
      assertSameBits(g.dataSync() as Float32Array, ref[i]!.dataSync() as Float32Array, `gradient ${i}`),
    );
    // Outside the tape the same call is fused, with the same value.
    const outside = countCalls(KERNEL, () => {
      const a = fusedLoss(x, filter, residual);
      const b = refLoss(x, filter, residual);
      assertSameBits(a.dataSync() as Float32Array, b.dataSync() as Float32Array, 'value');
      tf.dispose([a, b]);
    });
    assert.equal(outside.native, 1);
    tf.dispose([x, filter, residual, bn.mean, bn.variance, bn.scale, bn.offset, ...got, ...ref]);
  },
);

/** A ResNet with non-trivial running statistics, gamma and beta, so eval-mode batch norm does real work. */
function scrambled(opts: ConstructorParameters<typeof ResNet>[0], seed: number): ResNet {
  const m = new ResNet(opts, makeRng(seed));
  const rng = mulberry32(seed);
  for (const { name, variable: v } of m.store.all()) {
    if (!/(running_mean|running_var|bn\d\.weight|bn\d\.bias|downsample\.1\.(weight|bias))$/.test(name))
      continue;
    const vals = randomValues(rng, v.size).map((a) =>
      name.endsWith('running_var') ? Math.abs(a) + 0.05 : a,
    );
    v.assign(tf.tensor(vals, v.shape));
  }
  return m;
}

nativeTest(
  'ResNet eval-mode forward: fused kernels give the separate ops’ c2..c5, pooled features and logits bit for bit',
  () => {
    tf.setBackend(ACCELERATED_BACKEND);
    const rng = mulberry32(1404);
    const variants: ConstructorParameters<typeof ResNet>[0][] = [
      { blocks: [2, 2, 2, 2], width: 4, inChannels: 1 },
      { blocks: [1, 2, 1, 1], width: 3, inChannels: 3, numClasses: 5, variant: 'v1' },
      { blocks: [1, 1, 1, 1], width: 5, inChannels: 1, numClasses: 2, zeroInitResidual: true },
    ];
    for (const [vi, opts] of variants.entries()) {
      const m = scrambled(opts, 40 + vi);
      for (const [n, size] of [
        [3, 64],
        [2, 37],
        [1, 33],
      ] as const) {
        const x = tf.tensor4d(randomValues(rng, n * size * size * opts.inChannels), [
          n,
          size,
          size,
          opts.inChannels,
        ]);
        const outputs = (): Float32Array[] =>
          tf.tidy(() => {
            const f = m.forward(x, { training: false });
            return [f.c2, f.c3, f.c4, f.c5, f.pooled, ...(f.logits ? [f.logits] : [])].map((t) =>
              Float32Array.from(t.dataSync()),
            );
          });
        setConvBatchNormFusion(false);
        const ref = outputs();
        setConvBatchNormFusion(true);
        const calls = countCalls(KERNEL, () => {
          const got = outputs();
          got.forEach((g, i) => assertSameBits(g, ref[i]!, `variant ${vi}, ${n}x${size}: output ${i}`));
        });
        // Every conv of the network ran fused: stem + 3 per block + one downsample per stage.
        const blocks = opts.blocks.reduce((a, b) => a + b, 0);
        assert.equal(calls.native, 1 + 3 * blocks + 4, `variant ${vi}: convolutions fused`);
        x.dispose();
      }
      m.dispose();
    }
  },
);

nativeTest(
  'extractFeatures gives the same features with the fused kernels as with the separate ops, and as forward() batch by batch',
  () => {
    tf.setBackend(ACCELERATED_BACKEND);
    const m = scrambled({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1 }, 7);
    const images = tf.tensor4d(randomValues(mulberry32(1405), 11 * 32 * 32), [11, 32, 32, 1]);
    setConvBatchNormFusion(false);
    const ref = extractFeatures(m, images, 4);
    setConvBatchNormFusion(true);
    const before = tf.memory().numTensors;
    const got = extractFeatures(m, images, 4);
    assert.equal(tf.memory().numTensors, before, 'extractFeatures leaked tensors');
    assertSameBits(got, ref, 'features');
    // Hand-cut batches: 4 + 4 + 3 images, each row the pooled output of its own batch's forward.
    const byBatch = tf.tidy(() =>
      [0, 4, 8].flatMap((s) =>
        Array.from(m.forward(images.slice(s, Math.min(4, 11 - s)), { training: false }).pooled.dataSync()),
      ),
    );
    assertSameBits(got, Float32Array.from(byBatch), 'features by batch');
    assert.equal(got.length, 11 * m.outChannels);
    images.dispose();
    m.dispose();
  },
);

test('convBatchNormEval on plain tfjs is tf.batchNorm(tf.conv2d()) then relu(+ residual): a hand-computed case', () => {
  tf.setBackend('cpu');
  // 1×1 conv of a [1, 1, 2, 1] image by weight 2: [2, -4]; (y - 1) * 0.5 / sqrt(4 + 0) + 3 = [3.25, 1.75];
  // + residual [-4, 1] = [-0.75, 2.75]; relu: [0, 2.75].
  const y = convBatchNormEval(
    tf.tensor4d([1, -2], [1, 1, 2, 1]),
    tf.tensor4d([2], [1, 1, 1, 1]),
    1,
    'valid',
    {
      mean: tf.tensor1d([1]),
      variance: tf.tensor1d([4]),
      scale: tf.tensor1d([0.5]),
      offset: tf.tensor1d([3]),
      eps: 0,
    },
    { relu: true, residual: tf.tensor4d([-4, 1], [1, 1, 2, 1]) },
  );
  assert.deepEqual(Array.from(y.dataSync()), [0, 2.75]);
});

nativeTest('FusedBatchNorm (eval-mode tf.batchNorm) writes every element of a recycled output buffer', () => {
  const rng = mulberry32(1406);
  for (const shape of [
    [2, 7, 5, 3],
    [1, 16, 16, 64],
    [5, 11],
  ]) {
    const size = shape.reduce((a, b) => a * b, 1);
    const c = shape[shape.length - 1]!;
    const inputs = [
      { shape, values: randomValues(rng, size) },
      { shape: [c], values: randomValues(rng, c) },
      { shape: [c], values: randomValues(rng, c).map((v) => Math.abs(v) + 0.1) },
      { shape: [c], values: randomValues(rng, c) },
      { shape: [c], values: randomValues(rng, c) },
    ];
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => {
      // A disposed output of the same length first: its storage (full of 1e30) goes to the pool, and
      // the batch norm's output is made in it.
      tf.dispose(tf.add(tf.mul(x, 0), 1e30));
      return tf.batchNorm(x, m, v, o, s, 1e-5);
    };
    const calls = countCalls('FusedBatchNorm', () =>
      compareBackends(inputs, f, `FusedBatchNorm ${shape}`, 1e-5),
    );
    assert.equal(calls.native, 1);
  }
});
