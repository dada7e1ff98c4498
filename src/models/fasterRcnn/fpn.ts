/**
 * Feature pyramid network (Lin et al. 2017) as MMDetection's `FPN(in_channels, 256, num_outs=5)`:
 * 1x1 lateral convs, top-down nearest upsampling to the finer map's exact size, 3x3 output convs,
 * and P6 = max-pool(kernel 1, stride 2) of P5 for the RPN's largest anchors.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import { conv, makeConv, type ConvParams } from './nn.js';

/** FPN sizes. */
export interface FpnOptions {
  /** Channels of C2..C5. */
  inChannels: number[];
  /** Channels of every P level (MMDetection: 256). */
  outChannels: number;
}

/** The pyramid: lateral and output convolutions, Xavier-uniform as MMDetection initialises them. */
export class Fpn {
  readonly lateral: ConvParams[];
  readonly output: ConvParams[];

  constructor(readonly opts: FpnOptions, rng: Rng) {
    const r = rng.fork('fpn');
    this.lateral = opts.inChannels.map((c, i) => makeConv(`neck.lateral_convs.${i}.conv`, 1, c, opts.outChannels, { kind: 'xavier' }, r));
    this.output = opts.inChannels.map((_, i) => makeConv(`neck.fpn_convs.${i}.conv`, 3, opts.outChannels, opts.outChannels, { kind: 'xavier' }, r));
  }

  /**
   * @param feats C2..C5, each `[N, Hi, Wi, inChannels[i]]`, finest first.
   * @returns P2..P6, each `[N, Hi, Wi, outChannels]`; P6 is `[N, ceil(H5/2), ceil(W5/2), C]`.
   */
  forward(feats: tf.Tensor4D[]): tf.Tensor4D[] {
    return tf.tidy(() => {
      const lat = feats.map((f, i) => conv(f, this.lateral[i]!));
      for (let i = lat.length - 1; i > 0; i--) {
        const [, h, w] = lat[i - 1]!.shape;
        lat[i - 1] = tf.add(lat[i - 1]!, tf.image.resizeNearestNeighbor(lat[i]!, [h, w]));
      }
      const outs = lat.map((l, i) => conv(l, this.output[i]!));
      outs.push(tf.maxPool(outs[outs.length - 1]!, 1, 2, 'valid'));
      return outs;
    });
  }

  variables(): tf.Variable[] {
    return [...this.lateral, ...this.output].flatMap((p) => [p.w, p.b]);
  }
}
