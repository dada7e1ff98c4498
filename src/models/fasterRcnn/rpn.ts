/**
 * Region proposal network (MMDetection `RPNHead` with `faster_rcnn_r50_fpn` settings): a shared 3x3
 * conv + ReLU on every pyramid level, a 1x1 objectness conv (one sigmoid logit per anchor) and a
 * 1x1 box-delta conv; training targets from IoU matching of anchors; proposals by per-level top-k,
 * decoding, NMS across levels (boxes of different levels never suppress each other) and a cap.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../rng.js';
import { batchedNms, greedyRun } from '../../boxes/nms.js';
import { decodeBoxes, encodeBoxes } from './boxCoder.js';
import { iouMatrix, matchPredictions } from './matcher.js';
import { conv, makeConv, type ConvParams } from './nn.js';
import { samplePositiveNegative } from './sampler.js';

/** RPN settings (prefix `rpn` in {@link FasterRcnnOptions}); defaults are MMDetection's. */
export interface RpnOptions {
  /** Pyramid channels (input and 3x3 conv width). */
  channels: number;
  /** Anchors per cell. */
  anchorsPerCell: number;
  /** IoU assigner: positive at >= fgIouThr, negative below bgIouThr (0.7 / 0.3). */
  fgIouThr: number;
  bgIouThr: number;
  /** Low-quality matches only for ground truths whose best anchor IoU reaches this (0.3). */
  minPosIou: number;
  /** Anchors sampled per image and their positive fraction (256, 0.5). */
  batchSizePerImage: number;
  positiveFraction: number;
  /** Top-k anchors per level before NMS: 2000 training, 1000 testing. */
  preNmsTopNTrain: number;
  preNmsTopNTest: number;
  /** Proposals kept per image after NMS (1000 both). */
  postNmsTopNTrain: number;
  postNmsTopNTest: number;
  /** NMS IoU threshold (0.7). */
  nmsThr: number;
  /** Target stds of the RPN box coder ([1, 1, 1, 1]). */
  targetStds: [number, number, number, number];
}

/** Raw RPN outputs for a batch, levels concatenated in anchor order (level, y, x, anchor). */
export interface RpnOutputs {
  /** `[N, T]` objectness logits. */
  logits: tf.Tensor2D;
  /** `[N, T, 4]` deltas `(dx, dy, dw, dh)`. */
  deltas: tf.Tensor3D;
  /** Anchors per level (T = their sum). */
  countsPerLevel: number[];
}

/** The RPN head's weights and its target / proposal logic. */
export class RpnHead {
  readonly conv: ConvParams;
  readonly cls: ConvParams;
  readonly reg: ConvParams;

  constructor(
    readonly opts: RpnOptions,
    rng: Rng,
  ) {
    const r = rng.fork('rpn');
    const init = { kind: 'normal' as const, std: 0.01 };
    this.conv = makeConv('rpn_head.rpn_conv', 3, opts.channels, opts.channels, init, r);
    this.cls = makeConv('rpn_head.rpn_cls', 1, opts.channels, opts.anchorsPerCell, init, r);
    this.reg = makeConv('rpn_head.rpn_reg', 1, opts.channels, opts.anchorsPerCell * 4, init, r);
  }

  /** @param feats P2..P6 `[N, Hl, Wl, C]`. */
  forward(feats: tf.Tensor4D[]): RpnOutputs {
    const countsPerLevel = feats.map((f) => f.shape[1] * f.shape[2] * this.opts.anchorsPerCell);
    const out = tf.tidy(() => {
      const logits: tf.Tensor2D[] = [];
      const deltas: tf.Tensor3D[] = [];
      for (const f of feats) {
        const [n, h, w] = f.shape;
        const t = tf.relu(conv(f, this.conv));
        // NHWC channels a (logits) and a*4 + k (deltas) line up with the anchor order y, x, a
        logits.push(tf.reshape(conv(t, this.cls), [n, h * w * this.opts.anchorsPerCell]));
        deltas.push(tf.reshape(conv(t, this.reg), [n, h * w * this.opts.anchorsPerCell, 4]));
      }
      return { logits: tf.concat(logits, 1), deltas: tf.concat(deltas, 1) };
    });
    return { ...out, countsPerLevel };
  }

  variables(): tf.Variable[] {
    return [this.conv, this.cls, this.reg].flatMap((p) => [p.w, p.b]);
  }

  /**
   * RPN losses: sigmoid cross-entropy on sampled anchors and L1 on the deltas of the positive
   * ones, both divided by the number of sampled anchors in the batch (MMDetection's avg_factor).
   * Computed densely with 0/1 weights, because gathering the sampled rows would route the
   * gradient through tfjs's slow unsortedSegmentSum.
   * @param anchors all anchors flat `[T * 4]`, shared by the batch.
   * @param gtBoxes per image `[M][4]` boxes `[x1, y1, x2, y2]` in input pixels.
   */
  loss(
    out: RpnOutputs,
    anchors: Float32Array,
    gtBoxes: number[][][],
    rng: Rng,
  ): { cls: tf.Scalar; box: tf.Scalar } {
    const [n, t] = out.logits.shape;
    const labels = new Float32Array(n * t);
    const weights = new Float32Array(n * t);
    const targets = new Float32Array(n * t * 4);
    const boxWeights = new Float32Array(n * t * 4);
    let sampled = 0;
    gtBoxes.forEach((gts, img) => {
      let matches: Int32Array;
      if (gts.length === 0) matches = new Int32Array(t).fill(-1);
      else {
        matches = matchPredictions(iouMatrix(gts.flat(), anchors), gts.length, t, {
          high: this.opts.fgIouThr,
          low: this.opts.bgIouThr,
          allowLowQualityMatches: true,
          lowQualityMinIou: this.opts.minPosIou,
        });
      }
      const { pos, neg } = samplePositiveNegative(
        matches,
        { num: this.opts.batchSizePerImage, positiveFraction: this.opts.positiveFraction },
        rng,
      );
      sampled += pos.length + neg.length;
      for (const i of neg) weights[img * t + i] = 1;
      if (pos.length === 0) return;
      const gtFlat = pos.flatMap((i) => gts[matches[i]!]!);
      const refFlat = pos.flatMap((i) => Array.from(anchors.subarray(i * 4, i * 4 + 4)));
      const enc = encodeBoxes(gtFlat, refFlat, { stds: this.opts.targetStds });
      pos.forEach((i, j) => {
        const o = img * t + i;
        labels[o] = 1;
        weights[o] = 1;
        for (let k = 0; k < 4; k++) {
          targets[o * 4 + k] = enc[j * 4 + k]!;
          boxWeights[o * 4 + k] = 1;
        }
      });
    });
    const avg = Math.max(sampled, 1);
    return tf.tidy(() => {
      const x = out.logits;
      const y = tf.tensor2d(labels, [n, t]);
      // numerically stable BCE with logits: max(x, 0) - x*y + log(1 + exp(-|x|))
      const bce = tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
      const cls = tf.div(tf.sum(tf.mul(bce, tf.tensor2d(weights, [n, t]))), avg) as tf.Scalar;
      const l1 = tf.abs(tf.sub(out.deltas, tf.tensor3d(targets, [n, t, 4])));
      const box = tf.div(tf.sum(tf.mul(l1, tf.tensor3d(boxWeights, [n, t, 4]))), avg) as tf.Scalar;
      return { cls, box };
    });
  }

  /**
   * Proposals per image (no gradient): per level the top-k anchors by objectness, decoded and
   * clipped to the image, zero-size boxes dropped, NMS at `nmsThr` with levels kept apart, then
   * the best `postNmsTopN`. The same result as {@link rpnProposalsReference} (tested equal), in
   * typed arrays: the top-k by one numeric sort of packed keys instead of a comparator sort, and
   * NMS on the levels' runs, which are already in score order.
   * @param anchorsPerLevel per level flat `[Tl * 4]`.
   * @param imageSizesHw per image the unpadded size to clip to.
   * @returns per image `[P][4]` boxes `[x1, y1, x2, y2]` in input pixels, best first, and scores.
   */
  proposals(
    out: RpnOutputs,
    anchorsPerLevel: Float32Array[],
    imageSizesHw: [number, number][],
    training: boolean,
  ): { boxes: number[][]; scores: number[] }[] {
    return fastProposals(this.opts, out, anchorsPerLevel, imageSizesHw, training);
  }
}

/** {@link RpnHead.proposals} written plainly (arrays of boxes, comparator sorts, `batchedNms`): the reference the fast path is tested against. */
export function rpnProposalsReference(
  opts: RpnOptions,
  out: RpnOutputs,
  anchorsPerLevel: Float32Array[],
  imageSizesHw: [number, number][],
  training: boolean,
): { boxes: number[][]; scores: number[] }[] {
  const [n, t] = out.logits.shape;
  const logits = out.logits.dataSync();
  const deltas = out.deltas.dataSync();
  const preK = training ? opts.preNmsTopNTrain : opts.preNmsTopNTest;
  const postK = training ? opts.postNmsTopNTrain : opts.postNmsTopNTest;
  const result: { boxes: number[][]; scores: number[] }[] = [];
  for (let img = 0; img < n; img++) {
    const boxes: number[][] = [];
    const scores: number[] = [];
    const levels: number[] = [];
    let offset = 0;
    anchorsPerLevel.forEach((anchors, level) => {
      const count = anchors.length / 4;
      const base = img * t + offset;
      const order = Array.from({ length: count }, (_, i) => i);
      // sorting logits = sorting sigmoid scores; ties keep anchor order
      order.sort((a, b) => logits[base + b]! - logits[base + a]! || a - b);
      const top = order.slice(0, Math.min(preK, count));
      const refs = new Float32Array(top.length * 4);
      const d = new Float32Array(top.length * 4);
      top.forEach((i, j) => {
        refs.set(anchors.subarray(i * 4, i * 4 + 4), j * 4);
        d.set(deltas.subarray((base + i) * 4, (base + i) * 4 + 4), j * 4);
      });
      const dec = decodeBoxes(d, refs, { stds: opts.targetStds }, imageSizesHw[img]);
      top.forEach((i, j) => {
        const b = Array.from(dec.subarray(j * 4, j * 4 + 4));
        if (!(b[2]! - b[0]! > 0 && b[3]! - b[1]! > 0)) return;
        boxes.push(b);
        scores.push(1 / (1 + Math.exp(-logits[base + i]!)));
        levels.push(level);
      });
      offset += count;
    });
    const keep = batchedNms(boxes, scores, levels, opts.nmsThr, postK);
    result.push({ boxes: keep.map((i) => boxes[i]!), scores: keep.map((i) => scores[i]!) });
  }
  return result;
}

const KEY_SHIFT = 2 ** 21;
const keyBits = new Float32Array(1);
const keyWord = new Uint32Array(keyBits.buffer);

/**
 * Indices of the `k` largest of `v[base .. base + count)`, largest first, equal values in index
 * order (the comparator sort's order: `-0` equals `0`). Each value becomes one float64 key, its
 * float32 bits mapped to an order-preserving integer (inverted, so ascending = largest first)
 * times 2^21 plus the index, exact below 2^53, so one numeric sort orders values and ties at once.
 */
export function topKDescending(v: ArrayLike<number>, base: number, count: number, k: number): Int32Array {
  if (count >= KEY_SHIFT) throw new RangeError(`topKDescending: ${count} values, at most ${KEY_SHIFT - 1}`);
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    keyBits[0] = v[base + i]! + 0; // -0 -> +0
    const u = keyWord[0]!;
    // ascending integer order = ascending float order; then inverted for largest first
    const asc = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
    keys[i] = (0xffffffff - asc) * KEY_SHIFT + i;
  }
  keys.sort();
  const m = Math.min(k, count);
  const out = new Int32Array(m);
  for (let j = 0; j < m; j++) out[j] = keys[j]! % KEY_SHIFT;
  return out;
}

function fastProposals(
  opts: RpnOptions,
  out: RpnOutputs,
  anchorsPerLevel: Float32Array[],
  imageSizesHw: [number, number][],
  training: boolean,
): { boxes: number[][]; scores: number[] }[] {
  const [n, t] = out.logits.shape;
  const logits = out.logits.dataSync();
  const deltas = out.deltas.dataSync();
  const preK = training ? opts.preNmsTopNTrain : opts.preNmsTopNTest;
  const postK = training ? opts.postNmsTopNTrain : opts.postNmsTopNTest;
  const cap = anchorsPerLevel.reduce((a, l) => a + Math.min(preK, l.length / 4), 0);
  const x1 = new Float64Array(cap);
  const y1 = new Float64Array(cap);
  const x2 = new Float64Array(cap);
  const y2 = new Float64Array(cap);
  const area = new Float64Array(cap);
  const score = new Float64Array(cap);
  const suppressed = new Uint8Array(cap);
  const result: { boxes: number[][]; scores: number[] }[] = [];
  for (let img = 0; img < n; img++) {
    suppressed.fill(0);
    let m = 0;
    let offset = 0;
    const runs: number[] = [0];
    for (const anchors of anchorsPerLevel) {
      const count = anchors.length / 4;
      const base = img * t + offset;
      const top = topKDescending(logits, base, count, preK);
      const refs = new Float32Array(top.length * 4);
      const d = new Float32Array(top.length * 4);
      for (let j = 0; j < top.length; j++) {
        const i = top[j]!;
        for (let c = 0; c < 4; c++) {
          refs[j * 4 + c] = anchors[i * 4 + c]!;
          d[j * 4 + c] = deltas[(base + i) * 4 + c]!;
        }
      }
      const dec = decodeBoxes(d, refs, { stds: opts.targetStds }, imageSizesHw[img]);
      const runStart = m;
      let sorted = true;
      for (let j = 0; j < top.length; j++) {
        const bx1 = dec[j * 4]!,
          by1 = dec[j * 4 + 1]!,
          bx2 = dec[j * 4 + 2]!,
          by2 = dec[j * 4 + 3]!;
        if (!(bx2 - bx1 > 0 && by2 - by1 > 0)) continue;
        const s = 1 / (1 + Math.exp(-logits[base + top[j]!]!));
        if (!Number.isFinite(s)) throw new TypeError(`RPN proposals: score of anchor ${top[j]} is ${s}`);
        if (m > runStart && s > score[m - 1]!) sorted = false;
        x1[m] = bx1;
        y1[m] = by1;
        x2[m] = bx2;
        y2[m] = by2;
        const w = bx2 - bx1;
        const h = by2 - by1;
        area[m] = w > 0 && h > 0 ? w * h : 0;
        score[m] = s;
        m++;
      }
      // Sigmoid keeps the logits' order; should Math.exp ever break it, sort the run as batchedNms would.
      if (!sorted) sortRun(runStart, m, x1, y1, x2, y2, area, score);
      runs.push(m);
      offset += count;
    }
    const keep: number[] = [];
    for (let r = 0; r + 1 < runs.length; r++)
      greedyRun(x1, y1, x2, y2, area, runs[r]!, runs[r + 1]!, opts.nmsThr, postK, suppressed, keep);
    // batchedNms's one global stable order: by score, ties by position (keep is ascending)
    keep.sort((a, b) => score[b]! - score[a]! || a - b);
    const kept = keep.length > postK ? keep.slice(0, postK) : keep;
    result.push({
      boxes: kept.map((i) => [x1[i]!, y1[i]!, x2[i]!, y2[i]!]),
      scores: kept.map((i) => score[i]!),
    });
  }
  return result;
}

/** Stable sort of positions `[from, to)` of the flat box arrays by descending score. */
function sortRun(
  from: number,
  to: number,
  ...cols: [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array]
): void {
  const score = cols[5];
  const order = Array.from({ length: to - from }, (_, i) => from + i);
  order.sort((a, b) => score[b]! - score[a]! || a - b);
  for (const c of cols) {
    const copy = order.map((i) => c[i]!);
    copy.forEach((v, j) => (c[from + j] = v));
  }
}
