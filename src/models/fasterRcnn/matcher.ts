/**
 * IoU assignment of predictions (anchors, proposals) to ground-truth boxes: torchvision's
 * `Matcher`, which is MMDetection's `MaxIoUAssigner` up to the low-quality rule (see
 * {@link MatcherOptions.lowQualityMinIou}).
 */

/** Match value of a prediction whose best IoU is below `low` (a negative). */
export const BELOW_LOW = -1;
/** Match value of a prediction whose best IoU is in [low, high) (ignored). */
export const BETWEEN = -2;

/** Thresholds of {@link matchPredictions}. */
export interface MatcherOptions {
  /** IoU at or above which a prediction is matched (RPN 0.7, box head 0.5). */
  high: number;
  /** IoU below which a prediction is negative (RPN 0.3, box head 0.5). */
  low: number;
  /** Give every ground truth its best prediction(s) even below `high` (RPN: true). */
  allowLowQualityMatches: boolean;
  /**
   * Only for ground truths whose best IoU reaches this (MMDetection `min_pos_iou`, 0.3 for the
   * RPN). Default 0: torchvision, which restores matches even when the best IoU is 0.
   */
  lowQualityMinIou?: number;
}

/**
 * Matches each of N predictions to at most one of M ground truths.
 *
 * Per prediction, the ground truth of highest IoU (first index on ties); below `low` gives -1,
 * in [low, high) gives -2, else that index. With low-quality matches, every prediction whose IoU
 * equals some ground truth's best IoU (ties included) gets back its own best ground truth.
 *
 * @param iou flat `[M * N]` row-major IoU matrix, ground truths by predictions.
 * @returns `Int32Array[N]`: ground-truth index, {@link BELOW_LOW} or {@link BETWEEN}.
 * @throws when M or N is 0 (as torchvision; callers handle images without boxes themselves).
 */
export function matchPredictions(
  iou: ArrayLike<number>,
  m: number,
  n: number,
  opts: MatcherOptions,
): Int32Array {
  if (m === 0) throw new Error('matchPredictions: no ground-truth boxes (M = 0)');
  if (n === 0) throw new Error('matchPredictions: no predictions (N = 0)');
  if (iou.length !== m * n)
    throw new Error(`matchPredictions: iou has ${iou.length} values, expected ${m} x ${n}`);
  if (opts.low > opts.high) throw new Error(`matchPredictions: low ${opts.low} > high ${opts.high}`);
  // Comparisons in float32, as the peers do with float32 tensors (float32(0.7) >= 0.7).
  const high = Math.fround(opts.high);
  const low = Math.fround(opts.low);
  const best = new Float32Array(n).fill(-Infinity);
  const arg = new Int32Array(n);
  for (let g = 0; g < m; g++) {
    for (let p = 0; p < n; p++) {
      const v = iou[g * n + p]!;
      if (v > best[p]!) {
        best[p] = v;
        arg[p] = g;
      }
    }
  }
  const matches = new Int32Array(n);
  for (let p = 0; p < n; p++) matches[p] = best[p]! < low ? BELOW_LOW : best[p]! < high ? BETWEEN : arg[p]!;
  if (opts.allowLowQualityMatches) {
    const minIou = opts.lowQualityMinIou ?? 0;
    for (let g = 0; g < m; g++) {
      let gBest = -Infinity;
      for (let p = 0; p < n; p++) gBest = Math.max(gBest, iou[g * n + p]!);
      if (gBest < minIou) continue;
      for (let p = 0; p < n; p++) if (iou[g * n + p] === gBest) matches[p] = arg[p]!;
    }
  }
  return matches;
}

/**
 * IoU of every ground truth with every prediction, flat and row-major (`[M * N]`), boxes
 * `[x1, y1, x2, y2]` given flat. Zero-area pairs give 0 (never NaN), which only matters for
 * degenerate predictions that can never be positives anyway.
 */
export function iouMatrix(gts: ArrayLike<number>, preds: ArrayLike<number>): Float32Array {
  const m = gts.length / 4;
  const n = preds.length / 4;
  const out = new Float32Array(m * n);
  for (let g = 0; g < m; g++) {
    const gx1 = gts[g * 4]!,
      gy1 = gts[g * 4 + 1]!,
      gx2 = gts[g * 4 + 2]!,
      gy2 = gts[g * 4 + 3]!;
    const ga = (gx2 - gx1) * (gy2 - gy1);
    for (let p = 0; p < n; p++) {
      const o = p * 4;
      const iw = Math.min(gx2, preds[o + 2]!) - Math.max(gx1, preds[o]!);
      if (iw <= 0) continue;
      const ih = Math.min(gy2, preds[o + 3]!) - Math.max(gy1, preds[o + 1]!);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const union = ga + (preds[o + 2]! - preds[o]!) * (preds[o + 3]! - preds[o + 1]!) - inter;
      out[g * n + p] = union > 0 ? inter / union : 0;
    }
  }
  return out;
}
