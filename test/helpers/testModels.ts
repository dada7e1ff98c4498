/**
 * BENCH/TEST MODEL ONLY — not the project's ResNet (that is src/models/resnet.ts).
 * A compact NHWC ResNet with bottleneck blocks (torchvision's v1.5 layout: stride on the
 * 3x3 conv), convolutions without bias, training-mode batch norm via batchNormTrain, global
 * average pooling, a linear head, softmax cross-entropy and SGD with momentum (momentumOptimizer). Depth and
 * width are parameters so tests can train a tiny one and the bench a ResNet-50.
 */
import * as tf from '@tensorflow/tfjs';
import { addRelu } from '../../src/backend/addRelu.js';
import { batchNormTrain } from '../../src/backend/batchNorm.js';

export interface ResNetSpec {
  /** Bottleneck blocks per stage; ResNet-50 is [3, 4, 6, 3]. */
  blocks: number[];
  /** Bottleneck width of the first stage (64 in ResNet-50); doubles every stage. */
  width: number;
  classes: number;
  inputChannels: number;
}

export const RESNET50: ResNetSpec = { blocks: [3, 4, 6, 3], width: 64, classes: 1000, inputChannels: 3 };

interface ConvBn {
  w: tf.Variable;
  gamma: tf.Variable;
  beta: tf.Variable;
  stride: number;
  pad: number;
}
interface Block {
  c1: ConvBn;
  c2: ConvBn;
  c3: ConvBn;
  down?: ConvBn;
}

export interface ResNet {
  spec: ResNetSpec;
  variables: tf.Variable[];
  /** x: [batch, height, width, inputChannels] → logits [batch, classes]. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

/** Builds a ResNet with He-normal convolutions drawn from tfjs's seeded generator. */
export function createResNet(spec: ResNetSpec, seed: number): ResNet {
  const variables: tf.Variable[] = [];
  let nextSeed = seed;
  const variable = (t: tf.Tensor) => {
    const v = tf.variable(t);
    t.dispose();
    variables.push(v);
    return v;
  };
  const convBn = (k: number, cin: number, cout: number, stride: number, pad: number): ConvBn => ({
    w: variable(tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cin)), 'float32', nextSeed++)),
    gamma: variable(tf.ones([cout])),
    beta: variable(tf.zeros([cout])),
    stride,
    pad,
  });
  const stem = convBn(7, spec.inputChannels, spec.width, 2, 3);
  const blocks: Block[] = [];
  let cin = spec.width;
  spec.blocks.forEach((count, stage) => {
    const width = spec.width * 2 ** stage;
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const block: Block = {
        c1: convBn(1, cin, width, 1, 0),
        c2: convBn(3, width, width, stride, 1),
        c3: convBn(1, width, 4 * width, 1, 0),
      };
      if (stride !== 1 || cin !== 4 * width) block.down = convBn(1, cin, 4 * width, stride, 0);
      blocks.push(block);
      cin = 4 * width;
    }
  });
  const fcW = variable(tf.randomNormal([cin, spec.classes], 0, Math.sqrt(1 / cin), 'float32', nextSeed++));
  const fcB = variable(tf.zeros([spec.classes]));

  const apply = (p: ConvBn, x: tf.Tensor4D, relu: boolean): tf.Tensor4D => {
    const z = tf.conv2d(x, p.w as tf.Tensor4D, p.stride, p.pad);
    return batchNormTrain(z, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, 1e-5, { relu }).y as tf.Tensor4D;
  };

  return {
    spec,
    variables,
    logits(x) {
      let h = apply(stem, x, true);
      h = tf.maxPool(h, 3, 2, 1);
      for (const b of blocks) {
        const main = apply(b.c3, apply(b.c2, apply(b.c1, h, true), true), false);
        const short = b.down ? apply(b.down, h, false) : h;
        h = addRelu(main, short);
      }
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      return tf.add(tf.matMul(pooled, fcW as tf.Tensor2D), fcB);
    },
    dispose() {
      for (const v of variables) v.dispose();
    },
  };
}

/**
 * One SGD-with-momentum step on (x, labels); returns the loss before the update.
 * labels: one-hot [batch, classes].
 */
export function trainStep(
  model: ResNet,
  optimizer: tf.Optimizer,
  x: tf.Tensor4D,
  labels: tf.Tensor2D,
): number {
  const loss = optimizer.minimize(
    () => tf.losses.softmaxCrossEntropy(labels, model.logits(x)) as tf.Scalar,
    true,
    model.variables,
  );
  if (loss == null) throw new Error('trainStep: optimizer returned no loss');
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}
