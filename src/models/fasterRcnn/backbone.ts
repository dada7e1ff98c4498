/**
 * What the detector needs from a backbone: the four ResNet stage outputs C2–C5 (strides 4, 8, 16,
 * 32). `src/models/resnet.ts` satisfies it; {@link makeTinyBackbone} is a small stand-in for tests,
 * smoke runs and benches.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import { conv, makeConv, type ConvParams } from './nn.js';

/** A feature extractor with FPN inputs at strides 4, 8, 16, 32. */
export interface Backbone {
  /** `x` `[N, H, W, 3]` -> C2 `[N, H/4, W/4, channels[0]]` ... C5 `[N, H/32, W/32, channels[3]]` (ceil). */
  forward(
    x: tf.Tensor4D,
    opts: { training: boolean },
  ): { c2: tf.Tensor4D; c3: tf.Tensor4D; c4: tf.Tensor4D; c5: tf.Tensor4D };
  /** Channels of C2, C3, C4, C5 (ResNet-50: 256, 512, 1024, 2048). */
  channels: [number, number, number, number];
  /** The variables the optimiser updates (frozen ones left out). */
  trainableVariables(): tf.Variable[];
}

/**
 * A plain strided-conv backbone: a stride-2 stem then one stride-2 3x3 conv + ReLU per stage.
 * @param widths channels of C2–C5 (default `[8, 16, 24, 32]`).
 */
export function makeTinyBackbone(
  rng: Rng,
  widths: [number, number, number, number] = [8, 16, 24, 32],
  inChannels = 3,
): Backbone {
  const r = rng.fork('tinyBackbone');
  const stem = makeConv('stem', 3, inChannels, widths[0], { kind: 'xavier' }, r);
  const stages: ConvParams[] = [];
  let cin = widths[0];
  widths.forEach((w, i) => {
    stages.push(makeConv(`layer${i + 1}`, 3, cin, w, { kind: 'xavier' }, r));
    cin = w;
  });
  return {
    channels: widths,
    forward(x) {
      return tf.tidy(() => {
        let h = tf.relu(conv(x, stem, 2));
        const outs: tf.Tensor4D[] = [];
        for (const s of stages) {
          h = tf.relu(conv(h, s, 2));
          outs.push(h);
        }
        // stem (stride 2) + one halving per stage puts C2..C5 at strides 4..32, as in a ResNet
        return { c2: outs[0]!, c3: outs[1]!, c4: outs[2]!, c5: outs[3]! };
      });
    },
    trainableVariables: () => [stem.w, stem.b, ...stages.flatMap((s) => [s.w, s.b])],
  };
}
