/** Kernel throughput: 3x3/1x1/7x7 convolutions (forward, input and filter gradients) and sgemm. */
import * as tf from '@tensorflow/tfjs';
import { ACCELERATED_BACKEND } from '../src/backend/index.js';
import { peerName, runPeer } from './peer.js';
import { faster, timeIt, type BenchGroup, type BenchResult } from './registry.js';

interface ConvSpec {
  name: string;
  n: number;
  h: number;
  w: number;
  c: number;
  k: number;
  f: number;
  stride: number;
  pad: number;
}

/** ResNet-50 layers at batch 8, 224 px input. */
const CONVS: ConvSpec[] = [
  { name: 'conv3x3 b8 56x56 64->64', n: 8, h: 56, w: 56, c: 64, k: 64, f: 3, stride: 1, pad: 1 },
  { name: 'conv1x1 b8 56x56 64->256', n: 8, h: 56, w: 56, c: 64, k: 256, f: 1, stride: 1, pad: 0 },
  { name: 'conv3x3/2 b8 56x56 128->128', n: 8, h: 56, w: 56, c: 128, k: 128, f: 3, stride: 2, pad: 1 },
  { name: 'conv3x3 b8 14x14 256->256', n: 8, h: 14, w: 14, c: 256, k: 256, f: 3, stride: 1, pad: 1 },
  { name: 'conv7x7/2 b8 224x224 3->64', n: 8, h: 224, w: 224, c: 3, k: 64, f: 7, stride: 2, pad: 3 },
];
const MATMULS = [1024];

function ours(c: ConvSpec): { forward: number; input_grad: number; filter_grad: number } {
  const x = tf.randomNormal([c.n, c.h, c.w, c.c], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([c.f, c.f, c.c, c.k], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.conv2d(x, w, c.stride, c.pad);
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
  const flop = 2 * y.size * c.c * c.f * c.f;
  const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
  const run = (f: () => tf.Tensor) => flop / timeIt(() => f().dispose()) / 1e9;
  const result = {
    forward: run(() => tf.conv2d(x, w, c.stride, c.pad)),
    input_grad: run(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy, filter: w },
            { ...attrs, inputShape: x.shape },
          ) as tf.Tensor,
    ),
    filter_grad: run(
      () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
    ),
  };
  tf.dispose([x, w, y, dy]);
  return result;
}

export const convBench: BenchGroup = {
  id: 'conv',
  description: 'convolution and matmul kernels, GFLOP/s',
  async run() {
    await tf.setBackend(ACCELERATED_BACKEND);
    const peer = runPeer('conv.py', { convs: CONVS, matmuls: MATMULS });
    const peerConvs = peer.ok ? (peer.data.convs as Record<string, number>[]) : [];
    const peerMatmuls = peer.ok ? (peer.data.matmuls as number[]) : [];
    if (!peer.ok) console.warn(`peer failed: ${peer.reason}`);
    const results: BenchResult[] = [];
    CONVS.forEach((c, i) => {
      const r = ours(c);
      for (const op of ['forward', 'input_grad', 'filter_grad'] as const) {
        results.push(faster(`${c.name} ${op}`, r[op], 'GFLOP/s', peerName, peerConvs[i]?.[op] ?? null));
      }
    });
    MATMULS.forEach((n, i) => {
      const a = tf.randomNormal([n, n], 0, 1, 'float32', 4);
      const b = tf.randomNormal([n, n], 0, 1, 'float32', 5);
      const gflops = (2 * n ** 3) / timeIt(() => tf.matMul(a, b).dispose()) / 1e9;
      tf.dispose([a, b]);
      results.push(faster(`matmul ${n}x${n}x${n}`, gflops, 'GFLOP/s', peerName, peerMatmuls[i] ?? null));
    });
    return results;
  },
};
