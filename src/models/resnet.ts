/**
 * ResNet with bottleneck blocks (torchvision's ResNet-50 "v1.5": the stride of a down-sampling
 * block sits in its 3×3 conv), written with explicit variables so that BatchNorm modes, freezing,
 * named parameters and checkpoints stay simple. Smaller variants for `smoke`/`demo` come from the
 * same code with fewer blocks and a narrower stem (`BackboneConfig`).
 *
 * Tensors are NHWC. Parameter names follow torchvision (`conv1.weight`, `bn1.running_mean`,
 * `layer1.0.conv1.weight`, `layer1.0.downsample.0.weight`, `layer1.0.downsample.1.weight`,
 * `fc.weight`); layouts are tfjs (conv HWIO, linear `[in, out]`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';
import { tfSeed } from '../rng.js';
import { addRelu, convBatchNormEval, tapeRecording } from '../backend/index.js';
import { BN_EPS, ParamStore, addBatchNorm, batchNorm, kaimingNormalConv, linearUniform } from './params.js';

export interface ResNetOptions {
  /** Bottleneck blocks per stage; ResNet-50 is [3, 4, 6, 3]. */
  blocks: [number, number, number, number];
  /** Stem width; stage i has `width·2^i` inner channels and 4× that out. ResNet-50: 64. */
  width: number;
  /** Input channels: 1 for radiographs, 3 for RGB. */
  inChannels: number;
  /** Adds `fc` (a linear classifier on the pooled features) with this many outputs; 0 = none. */
  numClasses?: number;
  /** Zero-init the last BN gamma of each block so blocks start as identities (torchvision option). */
  zeroInitResidual?: boolean;
  /**
   * `v1.5` (torchvision, default): stride in the 3×3 conv. `v1` (Keras ResNet50, the original paper):
   * stride in the first 1×1 conv. Same parameters, different graph; Keras weights need `v1`.
   */
  variant?: 'v1.5' | 'v1';
}

/** What `forward` returns: the FPN inputs (strides 4, 8, 16, 32) and the pooled features. */
export interface ResNetFeatures {
  /** [N, H/4, W/4, 4·width] */
  c2: tf.Tensor4D;
  /** [N, H/8, W/8, 8·width] */
  c3: tf.Tensor4D;
  /** [N, H/16, W/16, 16·width] */
  c4: tf.Tensor4D;
  /** [N, H/32, W/32, 32·width] */
  c5: tf.Tensor4D;
  /** [N, 32·width] global average of c5. */
  pooled: tf.Tensor2D;
  /** [N, numClasses] when the model has `fc`. */
  logits?: tf.Tensor2D;
}

export interface ForwardOptions {
  /** Training mode: BatchNorm uses (and updates) batch statistics. */
  training: boolean;
  /** In training mode, leave the running statistics unchanged (e.g. for a probe pass). */
  updateStats?: boolean;
  /** In training mode, every BatchNorm passes its batch mean, biased variance and values per channel here. */
  onBatchStats?: (prefix: string, mean: tf.Tensor1D, variance: tf.Tensor1D, count: number) => void;
}

const EXPANSION = 4;

/** A bottleneck ResNet backbone (optionally with a classifier head `fc`). */
export class ResNet {
  readonly store = new ParamStore();
  readonly options: Required<ResNetOptions>;
  /** Channels of c2..c5. */
  readonly featureChannels: [number, number, number, number];

  /** Builds and initialises the model: Kaiming-normal (fan_out, ReLU) convs, BN γ=1 β=0, seeded from `rng`. */
  constructor(opts: ResNetOptions, rng: Rng) {
    this.options = { numClasses: 0, zeroInitResidual: false, variant: 'v1.5', ...opts };
    const { blocks, width, inChannels } = this.options;
    if (blocks.length !== 4 || blocks.some((b) => !(b >= 1)))
      throw new Error(`ResNet: blocks must be four counts >= 1, got ${blocks}`);
    if (!(width >= 1) || !(inChannels >= 1)) throw new Error(`ResNet: width and inChannels must be >= 1`);
    const s = this.store;
    const seed = (): number => tfSeed(rng);
    s.add('conv1.weight', kaimingNormalConv([7, 7, inChannels, width], seed()), 'weight');
    addBatchNorm(s, 'bn1', width);
    let cin = width;
    const channels: number[] = [];
    for (let stage = 0; stage < 4; stage++) {
      const planes = width * 2 ** stage;
      const cout = planes * EXPANSION;
      for (let b = 0; b < blocks[stage]!; b++) {
        const p = `layer${stage + 1}.${b}`;
        s.add(`${p}.conv1.weight`, kaimingNormalConv([1, 1, cin, planes], seed()), 'weight');
        addBatchNorm(s, `${p}.bn1`, planes);
        s.add(`${p}.conv2.weight`, kaimingNormalConv([3, 3, planes, planes], seed()), 'weight');
        addBatchNorm(s, `${p}.bn2`, planes);
        s.add(`${p}.conv3.weight`, kaimingNormalConv([1, 1, planes, cout], seed()), 'weight');
        addBatchNorm(s, `${p}.bn3`, cout, this.options.zeroInitResidual ? 0 : 1);
        if (b === 0 && (stage > 0 || cin !== cout)) {
          s.add(`${p}.downsample.0.weight`, kaimingNormalConv([1, 1, cin, cout], seed()), 'weight');
          addBatchNorm(s, `${p}.downsample.1`, cout);
        }
        cin = cout;
      }
      channels.push(cout);
    }
    this.featureChannels = channels as [number, number, number, number];
    if (this.options.numClasses > 0) {
      s.add('fc.weight', linearUniform([cin, this.options.numClasses], cin, seed()), 'weight');
      s.add('fc.bias', linearUniform([this.options.numClasses], cin, seed()), 'bias');
    }
  }

  /** Width of `pooled` (2048 for ResNet-50). */
  get outChannels(): number {
    return this.featureChannels[3];
  }

  /**
   * x: `[N, H, W, inChannels]` float32 (H, W multiples of 32 keep every stride exact).
   * Returns new tensors the caller owns (call inside `tf.tidy` or dispose them).
   */
  forward(x: tf.Tensor4D, opts: ForwardOptions): ResNetFeatures {
    if (x.rank !== 4 || x.shape[3] !== this.options.inChannels) {
      throw new Error(`ResNet.forward: expected [N,H,W,${this.options.inChannels}], got [${x.shape}]`);
    }
    return tf.tidy((): tf.TensorContainer => {
      const s = this.store;
      const { bn, conv, convBnEval } = this.ops(opts);
      // Explicit symmetric padding as torch (tfjs 'same' pads asymmetrically at stride 2).
      let h = convBnEval
        ? convBnEval('conv1.weight', 'bn1', x, 2, 3, true)
        : bn('bn1', conv('conv1.weight', x, 2, 3), true);
      h = tf.maxPool(h, 3, 2, 1);
      const feats = this.stagesFrom(h, 0, opts);
      const pooled = tf.mean(feats[3]!, [1, 2]) as tf.Tensor2D;
      const out: ResNetFeatures = { c2: feats[0]!, c3: feats[1]!, c4: feats[2]!, c5: feats[3]!, pooled };
      if (s.has('fc.weight')) {
        out.logits = tf.add(
          tf.matMul(pooled, s.get('fc.weight') as tf.Tensor2D),
          s.get('fc.bias'),
        ) as tf.Tensor2D;
      }
      return out as unknown as tf.TensorContainer;
    }) as unknown as ResNetFeatures;
  }

  /**
   * Runs stages `first`..3 (torchvision `layer{first+1}`..`layer4`) on `h`, the input of stage
   * `first` (for `first` 0: the max-pooled stem output). Returns the output of each stage run. Used
   * to continue the network from an intermediate layer (Ablation-CAM). The caller owns the tensors.
   */
  stagesFrom(h: tf.Tensor4D, first: number, opts: ForwardOptions): tf.Tensor4D[] {
    if (!(Number.isInteger(first) && first >= 0 && first <= 3))
      throw new Error(`ResNet.stagesFrom: first stage must be 0..3, got ${first}`);
    return tf.tidy(() => {
      const s = this.store;
      const { bn, conv, convBnEval } = this.ops(opts);
      const feats: tf.Tensor4D[] = [];
      for (let stage = first; stage < 4; stage++) {
        for (let b = 0; b < this.options.blocks[stage]!; b++) {
          const p = `layer${stage + 1}.${b}`;
          const stride = b === 0 && stage > 0 ? 2 : 1;
          const [s1, s2] = this.options.variant === 'v1' ? [stride, 1] : [1, stride];
          const down = s.has(`${p}.downsample.0.weight`);
          if (convBnEval) {
            // Inference without a tape: each conv with its batch norm, relu and residual in one kernel.
            let o = convBnEval(`${p}.conv1.weight`, `${p}.bn1`, h, s1, 0, true);
            o = convBnEval(`${p}.conv2.weight`, `${p}.bn2`, o, s2, 1, true);
            const identity = down
              ? convBnEval(`${p}.downsample.0.weight`, `${p}.downsample.1`, h, stride, 0)
              : h;
            h = convBnEval(`${p}.conv3.weight`, `${p}.bn3`, o, 1, 0, true, identity);
            continue;
          }
          let o = bn(`${p}.bn1`, conv(`${p}.conv1.weight`, h, s1, 0), true);
          o = bn(`${p}.bn2`, conv(`${p}.conv2.weight`, o, s2, 1), true);
          o = bn(`${p}.bn3`, conv(`${p}.conv3.weight`, o, 1, 0));
          const identity = down ? bn(`${p}.downsample.1`, conv(`${p}.downsample.0.weight`, h, stride, 0)) : h;
          h = addRelu(o, identity);
        }
        feats.push(h);
      }
      return feats;
    });
  }

  private ops(opts: ForwardOptions): {
    bn: (prefix: string, t: tf.Tensor, relu?: boolean) => tf.Tensor4D;
    conv: (name: string, t: tf.Tensor4D, stride: number, pad: number) => tf.Tensor4D;
    /**
     * Eval mode while no gradient tape records: conv + batch norm (+ residual) (+ relu) as one op,
     * the same numbers as `bn(conv(...))` and `addRelu` (convBatchNormEval). Null otherwise, where
     * the separate ops run (under a tape, in the order their gradients have always been taken).
     */
    convBnEval:
      | ((
          name: string,
          prefix: string,
          t: tf.Tensor4D,
          stride: number,
          pad: number,
          relu?: boolean,
          residual?: tf.Tensor4D,
        ) => tf.Tensor4D)
      | null;
  } {
    const s = this.store;
    const upd = opts.updateStats ?? true;
    return {
      bn: (prefix, t, relu = false) =>
        batchNorm(s, prefix, t, opts.training, upd, { relu, onStats: opts.onBatchStats }) as tf.Tensor4D,
      conv: (name, t, stride, pad) =>
        tf.conv2d(t, s.get(name) as tf.Tensor4D, stride, pad === 0 ? 'valid' : pad) as tf.Tensor4D,
      convBnEval:
        opts.training || tapeRecording()
          ? null
          : (name, prefix, t, stride, pad, relu = false, residual) =>
              convBatchNormEval(
                t,
                s.get(name) as tf.Tensor4D,
                stride,
                pad === 0 ? 'valid' : pad,
                {
                  mean: s.get(`${prefix}.running_mean`),
                  variance: s.get(`${prefix}.running_var`),
                  scale: s.get(`${prefix}.weight`),
                  offset: s.get(`${prefix}.bias`),
                  eps: BN_EPS,
                },
                { relu, residual },
              ),
    };
  }

  /** Trainable variables (not frozen, not running statistics), for optimizers. */
  parameters(): tf.Variable[] {
    return this.store.trainable().map((p) => p.variable);
  }

  /** Freezes everything but `fc` (linear probe). */
  freezeBackbone(): void {
    this.store.freeze((n) => !n.startsWith('fc.'));
  }

  dispose(): void {
    this.store.dispose();
  }
}
