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
  const n = taken.get(name) ?? 0;
  taken.set(name, n + 1);
  return n === 0 ? name : `${name}_${n}`;
}

function draw(shape: number[], fanIn: number, fanOut: number, init: Init, rng: Rng): tf.Tensor {
  if (init.kind === 'normal') return tf.randomNormal(shape, 0, init.std, 'float32', tfSeed(rng));
  const a = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform(shape, -a, a, 'float32', tfSeed(rng));
}

/** A `k x k` convolution `cin -> cout` with zero bias. */
export function makeConv(name: string, k: number, cin: number, cout: number, init: Init, rng: Rng): ConvParams {
  return tf.tidy(() => ({
    w: tf.variable(draw([k, k, cin, cout], k * k * cin, k * k * cout, init, rng), true, uniqueName(`${name}.weight`)),
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

/** `x` `[N, H, W, cin]` -> `[N, H', W', cout]`, 'same' padding (k = 1 or 3). */
export function conv(x: tf.Tensor4D, p: ConvParams, stride = 1): tf.Tensor4D {
  return tf.add(tf.conv2d(x, p.w as tf.Tensor4D, stride, 'same'), p.b);
}

/** `x` `[K, in]` -> `[K, out]`. */
export function dense(x: tf.Tensor2D, p: DenseParams): tf.Tensor2D {
  return tf.add(tf.matMul(x, p.w as tf.Tensor2D), p.b);
}
