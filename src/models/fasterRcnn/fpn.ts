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

/**
 * Nearest-neighbour resize to `[h, w]` with torch's `F.interpolate(mode='nearest')` rule (source index
 * `floor(dst * in / out)`), built from ops whose gradients are right: tfjs 4.22's
 * `ResizeNearestNeighborGrad` is wrong for batches of more than one image (relative error ~1 against the
 * explicit sum; found by the torchvision detector-step parity test), which corrupted the FPN's
 * top-down gradient. An exact 2× (every level of an input padded to a multiple of 32) repeats rows
 * and columns by concatenation; any other size gathers.
 */
export function upsampleNearest(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, ih, iw, c] = x.shape;
    if (h === 2 * ih && w === 2 * iw) {
      const rows = tf.reshape(
        tf.concat([tf.reshape(x, [n, ih, 1, iw * c]), tf.reshape(x, [n, ih, 1, iw * c])], 2),
        [n * h, iw, 1, c],
      );
      return tf.reshape(tf.concat([rows, rows], 2), [n, h, w, c]);
    }
    const idx = (out: number, inp: number) =>
      tf.tensor1d(
        Array.from({ length: out }, (_, d) => Math.min(inp - 1, Math.floor((d * inp) / out))),
        'int32',
      );
    return tf.gather(tf.gather(x, idx(h, ih), 1), idx(w, iw), 2) as tf.Tensor4D;
  });
}

/** The pyramid: lateral and output convolutions, Xavier-uniform as MMDetection initialises them. */
export class Fpn {
  readonly lateral: ConvParams[];
  readonly output: ConvParams[];

  constructor(
    readonly opts: FpnOptions,
    rng: Rng,
  ) {
    const r = rng.fork('fpn');
    this.lateral = opts.inChannels.map((c, i) =>
      makeConv(`neck.lateral_convs.${i}.conv`, 1, c, opts.outChannels, { kind: 'xavier' }, r),
    );
    this.output = opts.inChannels.map((_, i) =>
      makeConv(`neck.fpn_convs.${i}.conv`, 3, opts.outChannels, opts.outChannels, { kind: 'xavier' }, r),
    );
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
        lat[i - 1] = tf.add(lat[i - 1]!, upsampleNearest(lat[i]!, h, w));
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
