/**
 * Named parameters: every model keeps its tensors in a `ParamStore` under torchvision's names
 * (`layer1.0.conv1.weight`, `bn1.running_mean`, `fc.weight`), so that checkpoints, weight import,
 * freezing and optimizers all address them the same way.
 *
 * Layouts are TensorFlow.js ones: conv kernels HWIO `[kh, kw, in, out]`, linear weights
 * `[in, out]` (torch's OIHW and `[out, in]` are converted on import, see weights.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain, updateRunningStats } from '../backend/index.js';

/** weight: conv/linear kernels; bias: linear/conv biases; norm: BatchNorm gamma/beta; buffer: running stats. */
export type ParamKind = 'weight' | 'bias' | 'norm' | 'buffer';

export interface NamedParam {
  name: string;
  kind: ParamKind;
  variable: tf.Variable;
}

// tfjs variable names must be unique process-wide; a counter keeps two models of one kind apart.
let storeCounter = 0;

/** A flat, ordered map from parameter name to `tf.Variable`. */
export class ParamStore {
  private readonly entries = new Map<string, NamedParam>();
  private readonly frozen = new Set<string>();
  private readonly uid = `p${++storeCounter}`;

  /** Adds a parameter (takes ownership of `init`); buffers are never trainable. */
  add(name: string, init: tf.Tensor, kind: ParamKind): tf.Variable {
    if (this.entries.has(name)) throw new Error(`ParamStore: duplicate parameter ${name}`);
    const variable = tf.variable(init, kind !== 'buffer', `${this.uid}/${name}`);
    init.dispose();
    this.entries.set(name, { name, kind, variable });
    return variable;
  }

  /** The variable called `name`; throws with the name when absent. */
  get(name: string): tf.Variable {
    const e = this.entries.get(name);
    if (!e) throw new Error(`ParamStore: no parameter ${name}`);
    return e.variable;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Every parameter and buffer, in creation order (the order torchvision's state_dict uses). */
  all(): NamedParam[] {
    return [...this.entries.values()];
  }

  /** Parameters an optimizer should update: not buffers, not frozen. */
  trainable(): NamedParam[] {
    return this.all().filter((p) => p.kind !== 'buffer' && !this.frozen.has(p.name));
  }

  /** Freezes every parameter whose name passes `filter` (all when omitted), e.g. the backbone for a linear probe. */
  freeze(filter: (name: string) => boolean = () => true): void {
    for (const p of this.all()) if (filter(p.name)) this.frozen.add(p.name);
  }

  unfreeze(filter: (name: string) => boolean = () => true): void {
    for (const name of [...this.frozen]) if (filter(name)) this.frozen.delete(name);
  }

  isFrozen(name: string): boolean {
    return this.frozen.has(name);
  }

  /** Number of scalars in trainable-kind parameters (buffers excluded). */
  countParameters(): number {
    return this.all()
      .filter((p) => p.kind !== 'buffer')
      .reduce((s, p) => s + p.variable.size, 0);
  }

  dispose(): void {
    for (const p of this.entries.values()) p.variable.dispose();
    this.entries.clear();
  }
}

/** Kaiming-normal init, fan_out mode, ReLU gain (torchvision's ResNet conv init). Shape HWIO. */
export function kaimingNormalConv(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const fanOut = shape[0] * shape[1] * shape[3];
  return tf.randomNormal(shape, 0, Math.sqrt(2 / fanOut), 'float32', seed);
}

/** torch.nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight `[in, out]` and bias. */
export function linearUniform(shape: number[], fanIn: number, seed: number): tf.Tensor {
  const b = 1 / Math.sqrt(fanIn);
  return tf.randomUniform(shape, -b, b, 'float32', seed);
}

/** BatchNorm constants shared with PyTorch: running stats move by `momentum` of the batch value. */
export const BN_MOMENTUM = 0.1;
export const BN_EPS = 1e-5;

/** Registers `<prefix>.weight/bias/running_mean/running_var` for a BatchNorm over `channels`. */
export function addBatchNorm(
  store: ParamStore,
  prefix: string,
  channels: number,
  gammaInit = 1,
  affine = true,
): void {
  if (affine) {
    store.add(`${prefix}.weight`, tf.fill([channels], gammaInit), 'norm');
    store.add(`${prefix}.bias`, tf.zeros([channels]), 'norm');
  }
  store.add(`${prefix}.running_mean`, tf.zeros([channels]), 'buffer');
  store.add(`${prefix}.running_var`, tf.ones([channels]), 'buffer');
}

/**
 * BatchNorm over the last axis of x (`[N,H,W,C]` or `[N,C]`), as torch.nn.BatchNorm2d/1d.
 * Training: batch statistics (biased variance in the normalisation) and, unless `updateStats` is
 * false, running stats updated with momentum 0.1 using the UNBIASED batch variance, as PyTorch does.
 * Eval: running statistics. `relu` applies a relu to the output (fused on the native backend).
 */
export function batchNorm(
  store: ParamStore,
  prefix: string,
  x: tf.Tensor,
  training: boolean,
  updateStats = true,
  opts: {
    relu?: boolean;
    /** Training mode: receives this call's batch mean and biased variance and the values per channel (BatchNorm re-estimation). */
    onStats?: (prefix: string, mean: tf.Tensor1D, variance: tf.Tensor1D, count: number) => void;
  } = {},
): tf.Tensor {
  const gamma = store.get(`${prefix}.weight`) as tf.Tensor1D;
  const beta = store.get(`${prefix}.bias`) as tf.Tensor1D;
  const rm = store.get(`${prefix}.running_mean`);
  const rv = store.get(`${prefix}.running_var`);
  if (!training) {
    const y = tf.batchNorm(x, rm, rv, beta, gamma, BN_EPS);
    return opts.relu ? tf.relu(y) : y;
  }
  // With `relu`, the native backend normalises and rectifies in one pass, and differentiates both in one.
  const { y, mean, variance } = batchNormTrain(x, gamma, beta, BN_EPS, { relu: opts.relu ?? false });
  const n = x.size / x.shape[x.shape.length - 1]!;
  opts.onStats?.(prefix, mean, variance, n);
  if (updateStats && !updateRunningStats(rm, rv, mean, variance, n, BN_MOMENTUM)) {
    tf.tidy(() => {
      // Running statistics are state, not on the loss's path, so the tape never differentiates them.
      const m = mean;
      const v = tf.mul(variance, n > 1 ? n / (n - 1) : 1);
      rm.assign(tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(m, BN_MOMENTUM)));
      rv.assign(tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(v, BN_MOMENTUM)));
    });
  }
  return y;
}
