/**
 * The few parameterised layers the detector needs, as explicit `tf.Variable`s with seeded
 * initialisers (no tf.layers: the training step owns the variables, names follow MMDetection's
 * module paths so checkpoints read like theirs).
 */
import * as tf from '@tensorflow/tfjs';
import { tfSeed, type Rng } from '../../rng.js';

/** A convolution: filter `[kh, kw, cin, cout]` (tfjs layout) and bias `[cout]`. */
export interface ConvParams {
  w: tf.Variable;
  b: tf.Variable;
}

/** A fully connected layer: weight `[in, out]`, bias `[out]`. */
export interface DenseParams {
  w: tf.Variable;
  b: tf.Variable;
}

/** How to draw initial weights: Xavier-uniform (MMDetection's FPN, box head) or normal(0, std). */
export type Init = { kind: 'xavier' } | { kind: 'normal'; std: number };

const taken = new Map<string, number>();

// tfjs variable names are global: a second model's `neck.fpn_convs.0.conv.weight` becomes
// `neck.fpn_convs.0.conv.weight_1` (checkpoint code strips the suffix).
function uniqueName(name: string): string {
  let n = taken.get(name) ?? 0;
  // names another copy of this module registered (bench/detectionBuildAb.ts loads two builds) are skipped
  while (tf.engine().registeredVariables[n === 0 ? name : `${name}_${n}`] != null) n++;
  taken.set(name, n + 1);
  return n === 0 ? name : `${name}_${n}`;
}

function draw(shape: number[], fanIn: number, fanOut: number, init: Init, rng: Rng): tf.Tensor {
  if (init.kind === 'normal') return tf.randomNormal(shape, 0, init.std, 'float32', tfSeed(rng));
  const a = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform(shape, -a, a, 'float32', tfSeed(rng));
}

/** A `k x k` convolution `cin -> cout` with zero bias. */
export function makeConv(
  name: string,
  k: number,
  cin: number,
  cout: number,
  init: Init,
  rng: Rng,
): ConvParams {
  return tf.tidy(() => ({
    w: tf.variable(
      draw([k, k, cin, cout], k * k * cin, k * k * cout, init, rng),
      true,
      uniqueName(`${name}.weight`),
    ),
    b: tf.variable(tf.zeros([cout]), true, uniqueName(`${name}.bias`)),
  }));
}

/** A dense layer `nIn -> nOut` with zero bias. */
export function makeDense(name: string, nIn: number, nOut: number, init: Init, rng: Rng): DenseParams {
  return tf.tidy(() => ({
    w: tf.variable(draw([nIn, nOut], nIn, nOut, init, rng), true, uniqueName(`${name}.weight`)),
    b: tf.variable(tf.zeros([nOut]), true, uniqueName(`${name}.bias`)),
  }));
}

// The 'same' patches of x as rows: [N * H' * W', k * k * cin], in the filter's (ky, kx, c) order.
function im2col(x: tf.Tensor4D, k: number, stride: number, outH: number, outW: number): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const padH = Math.max((outH - 1) * stride + k - h, 0);
  const padW = Math.max((outW - 1) * stride + k - w, 0);
  const xp = tf.pad(x, [
    [0, 0],
    [Math.floor(padH / 2), padH - Math.floor(padH / 2)],
    [Math.floor(padW / 2), padW - Math.floor(padW / 2)],
    [0, 0],
  ]);
  const taps: tf.Tensor4D[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      // plain slices where possible: the CPU StridedSlice kernel is generic and several times slower
      taps.push(
        stride === 1
          ? tf.slice(xp, [0, ky, kx, 0], [n, outH, outW, c])
          : (tf.stridedSlice(
              xp,
              [0, ky, kx, 0],
              [n, ky + (outH - 1) * stride + 1, kx + (outW - 1) * stride + 1, c],
              [1, stride, stride, 1],
            ) as tf.Tensor4D),
      );
    }
  }
  return tf.reshape(taps.length === 1 ? taps[0]! : tf.concat(taps, 3), [n * outH * outW, k * k * c]);
}

/**
 * `tf.conv2d` ('same') whose filter gradient is one matmul of the im2col patches with dy: the tfjs
 * CPU kernel Conv2DBackpropFilter runs at ~0.01 GFLOP/s here (docs/ARCHITECTURE.md, "Backends") and dominated a training
 * step ~20x over everything else.
 */
function conv2dSame(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D {
  // Only plain tfjs `cpu` needs the detour: cxr-cpu and tfjs-node have fast native filter gradients.
  if (tf.getBackend() !== 'cpu') return tf.conv2d(x, filter, stride, 'same');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[2] as tf.GradSaveFunc;
    const value = tf.conv2d(args[0] as tf.Tensor4D, args[1] as tf.Tensor4D, stride, 'same');
    save([args[0] as tf.Tensor, args[1] as tf.Tensor]);
    const [, outH, outW] = value.shape;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const xi = saved[0] as tf.Tensor4D;
      const f = saved[1] as tf.Tensor4D;
      const [k, , cin, cout] = f.shape;
      const dx = tf.conv2dTranspose(dy as tf.Tensor4D, f, xi.shape, stride, 'same');
      const cols = im2col(xi, k, stride, outH, outW);
      const df = tf.reshape(tf.matMul(cols, tf.reshape(dy, [-1, cout]), true, false), [k, k, cin, cout]);
      return [dx, df];
    };
    return { value, gradFunc };
  });
  return op(x, filter) as tf.Tensor4D;
}

/** `x` `[N, H, W, cin]` -> `[N, ceil(H/stride), ceil(W/stride), cout]`, 'same' padding. */
export function conv(x: tf.Tensor4D, p: ConvParams, stride = 1): tf.Tensor4D {
  return tf.add(conv2dSame(x, p.w as tf.Tensor4D, stride), p.b);
}

/** `x` `[K, in]` -> `[K, out]`. */
export function dense(x: tf.Tensor2D, p: DenseParams): tf.Tensor2D {
  return tf.add(tf.matMul(x, p.w as tf.Tensor2D), p.b);
}
