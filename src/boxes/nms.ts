/**
 * Non-maximum suppression.
 *
 * - `nms`, `batchedNms`: torchvision 0.14 `ops.nms` / `ops.batched_nms` semantics, used by the
 *   detector on pixel boxes.
 * - `ensembleNms`, `softNms`: ensemble_boxes 1.0.9 `nms` / `soft_nms` semantics, the baselines WBF
 *   is compared against (lists of models, normalised [0, 1] boxes, per-label output).
 *
 * All boxes are `[x1, y1, x2, y2]`.
 */
import { assertBox, assertIouThreshold, boxArea, normalizeCorners } from './iou.js';

function checkParallel(boxes: number[][], scores: ArrayLike<number>, where: string): void {
  if (!Array.isArray(boxes)) throw new TypeError(`${where}: boxes must be an array of [x1, y1, x2, y2]`);
  if (boxes.length !== scores.length) {
    throw new RangeError(`${where}: ${boxes.length} boxes but ${scores.length} scores`);
  }
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i];
    // The message is built only for a bad box: the RPN checks tens of thousands per step.
    if (!(
      Array.isArray(b) &&
      b.length === 4 &&
      Number.isFinite(b[0]) &&
      Number.isFinite(b[1]) &&
      Number.isFinite(b[2]) &&
      Number.isFinite(b[3])
    )) {
      assertBox(b, `${where}: boxes[${i}]`);
    }
    if (!Number.isFinite(scores[i]))
      throw new TypeError(`${where}: scores[${i}] is not a finite number (${scores[i]})`);
  }
}

/** Greedy NMS (torchvision's strict `>` threshold) over boxes `[from, to)` of flat arrays, visited in index order; kept indices appended to `keep`. */
export function greedyRun(
  x1: Float64Array,
  y1: Float64Array,
  x2: Float64Array,
  y2: Float64Array,
  area: Float64Array,
  from: number,
  to: number,
  iouThr: number,
  limit: number,
  suppressed: Uint8Array,
  keep: number[],
): void {
  let kept = 0;
  for (let a = from; a < to; a++) {
    if (suppressed[a]) continue;
    if (kept >= limit) break;
    keep.push(a);
    kept++;
    const ax1 = x1[a]!,
      ay1 = y1[a]!,
      ax2 = x2[a]!,
      ay2 = y2[a]!,
      aa = area[a]!;
    for (let b = a + 1; b < to; b++) {
      if (suppressed[b]) continue;
      const iw = Math.min(ax2, x2[b]!) - Math.max(ax1, x1[b]!);
      if (!(iw > 0)) continue;
      const ih = Math.min(ay2, y2[b]!) - Math.max(ay1, y1[b]!);
      if (!(ih > 0)) continue;
      const inter = iw * ih;
      const union = aa + area[b]! - inter;
      // Strictly greater: a box at exactly the threshold survives (torchvision's `ovr > thr`).
      if ((union > 0 ? inter / union : 0) > iouThr) suppressed[b] = 1;
    }
  }
}

/** Greedy NMS over `order` (indices, best first); returns the kept indices in that order. */
// `limit`: stop once that many are kept (the rest of `order` could only rank after them).
function greedy(boxes: number[][], order: number[], iouThr: number, limit = Infinity): number[] {
  const n = order.length;
  // Flat copies in visiting order, so the O(n²) loop reads typed arrays only (the RPN runs it on
  // thousands of boxes per image). The arithmetic is iou()'s, so the same boxes are suppressed.
  const x1 = new Float64Array(n);
  const y1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const y2 = new Float64Array(n);
  const area = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    const b = boxes[order[a]!]!;
    x1[a] = b[0]!;
    y1[a] = b[1]!;
    x2[a] = b[2]!;
    y2[a] = b[3]!;
    area[a] = boxArea(b);
  }
  const kept: number[] = [];
  greedyRun(x1, y1, x2, y2, area, 0, n, iouThr, limit, new Uint8Array(n), kept);
  return kept.map((a) => order[a]!);
}

/** Indices sorted by descending score; equal scores keep input order (torchvision's stable CPU sort). */
function byScoreStable(scores: ArrayLike<number>, idx?: number[]): number[] {
  const order = idx ? idx.slice() : Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * Non-maximum suppression with torchvision semantics.
 *
 * @param boxes `[N][4]` boxes `[x1, y1, x2, y2]` (any unit). Swapped corners are put in order first
 *   (torchvision assumes `x1 <= x2`, `y1 <= y2`; TensorFlow.js normalises, and so do we).
 * @param scores `[N]` confidence per box.
 * @param iouThr in [0, 1]; a box is suppressed when its IoU with an already kept box is STRICTLY
 *   greater than `iouThr`.
 * @returns indices into `boxes` of the kept boxes, highest score first; equal scores keep input order.
 */
export function nms(boxes: number[][], scores: ArrayLike<number>, iouThr: number): number[] {
  checkParallel(boxes, scores, 'nms');
  assertIouThreshold(iouThr, 'nms');
  const fixed = boxes.map(normalizeCorners);
  return greedy(fixed, byScoreStable(scores), iouThr);
}

/**
 * Per-class NMS (torchvision `batched_nms`): boxes of different `labels` never suppress each other.
 *
 * @param boxes `[N][4]` boxes `[x1, y1, x2, y2]`.
 * @param scores `[N]` confidences.
 * @param labels `[N]` class ids (any numbers; compared for equality).
 * @param iouThr in [0, 1], strict suppression as in {@link nms}.
 * @param limit keep at most this many (the same as slicing the full result, with less work).
 * @returns kept indices of all classes merged, by descending score (ties: input order).
 */
export function batchedNms(
  boxes: number[][],
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  iouThr: number,
  limit = Infinity,
): number[] {
  checkParallel(boxes, scores, 'batchedNms');
  if (labels.length !== boxes.length)
    throw new RangeError(`batchedNms: ${boxes.length} boxes but ${labels.length} labels`);
  assertIouThreshold(iouThr, 'batchedNms');
  const fixed = boxes.map(normalizeCorners);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < boxes.length; i++) {
    const g = groups.get(labels[i]!);
    if (g) g.push(i);
    else groups.set(labels[i]!, [i]);
  }
  const keep: number[] = [];
  // A group's boxes after its first `limit` kept ones rank below `limit` others, so they are never in the result.
  for (const idx of groups.values()) keep.push(...greedy(fixed, byScoreStable(scores, idx), iouThr, limit));
  // One global stable order, as torchvision's coordinate-offset trick produces.
  keep.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return keep.length > limit ? keep.slice(0, limit) : keep;
}

/** Result of the ensemble_boxes-style functions: boxes grouped by ascending label. */
export interface EnsembleNmsResult {
  /** `[K][4]` normalised `[x1, y1, x2, y2]`, clipped to [0, 1] with corners in order. */
  boxes: number[][];
  /** `[K]` the kept boxes' (weighted) input scores. */
  scores: number[];
  /** `[K]` class ids, ascending; within a label, in the order the boxes were kept. */
  labels: number[];
}

/** Options shared by {@link ensembleNms} and {@link softNms}. */
export interface EnsembleNmsOptions {
  /** IoU threshold in [0, 1] (default 0.5). */
  iouThr?: number;
  /** One weight per model: model i's scores become `score * w_i / sum(w)`. Default: unweighted. */
  weights?: number[];
}

interface Flat {
  boxes: number[][];
  scores: number[];
  labels: number[];
}

/** ensemble_boxes `prepare_boxes` after concatenation: clip to [0, 1], order corners, drop zero area. */
function flattenModels(
  boxesList: number[][][],
  scoresList: number[][],
  labelsList: number[][],
  weights: number[] | undefined,
  where: string,
): Flat {
  if (boxesList.length !== scoresList.length || boxesList.length !== labelsList.length) {
    throw new RangeError(`${where}: boxesList, scoresList and labelsList must have one entry per model`);
  }
  let wsum = 0;
  if (weights !== undefined) {
    if (weights.length !== boxesList.length)
      throw new RangeError(`${where}: ${weights.length} weights for ${boxesList.length} models`);
    for (const w of weights) wsum += w;
  }
  const out: Flat = { boxes: [], scores: [], labels: [] };
  const clip = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let m = 0; m < boxesList.length; m++) {
    const bs = boxesList[m]!,
      ss = scoresList[m]!,
      ls = labelsList[m]!;
    if (bs.length !== ss.length || bs.length !== ls.length) {
      throw new RangeError(
        `${where}: model ${m} has ${bs.length} boxes, ${ss.length} scores, ${ls.length} labels`,
      );
    }
    for (let j = 0; j < bs.length; j++) {
      assertBox(bs[j], `${where}: boxesList[${m}][${j}]`);
      const b = normalizeCorners(bs[j]!.map(clip));
      if ((b[2] - b[0]) * (b[3] - b[1]) === 0) continue;
      out.boxes.push(b);
      out.scores.push(weights === undefined ? ss[j]! : (ss[j]! * weights[m]!) / wsum);
      out.labels.push(ls[j]!);
    }
  }
  return out;
}

/** Runs `perLabel` on each label's boxes (ascending label) and concatenates the kept ones. */
function perLabelAscending(
  flat: Flat,
  perLabel: (idx: number[]) => { keep: number[]; extra?: number[] },
  extra?: number[],
): EnsembleNmsResult {
  const res: EnsembleNmsResult = { boxes: [], scores: [], labels: [] };
  const labels = [...new Set(flat.labels)].sort((a, b) => a - b);
  for (const l of labels) {
    const idx: number[] = [];
    for (let i = 0; i < flat.labels.length; i++) if (flat.labels[i] === l) idx.push(i);
    const { keep, extra: ex } = perLabel(idx);
    for (let k = 0; k < keep.length; k++) {
      const i = idx[keep[k]!]!;
      res.boxes.push(flat.boxes[i]!.slice());
      res.scores.push(flat.scores[i]!);
      res.labels.push(l);
      if (extra && ex) extra.push(ex[k]!);
    }
  }
  return res;
}

function ensembleOverlap(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

/**
 * Hard NMS over several models' predictions, per label, with ensemble_boxes 1.0.9 `nms` semantics.
 *
 * Differences from {@link nms}: coordinates are clipped to [0, 1]; zero-area boxes are dropped;
 * equal scores are visited LAST-input-first (the peer reverses a stable ascending sort); output is
 * grouped by ascending label. Where the peer raises on all-empty input, this returns empty arrays.
 *
 * @param boxesList `[models][N_m][4]` normalised `[x1, y1, x2, y2]`.
 * @param scoresList `[models][N_m]`; @param labelsList `[models][N_m]` integer class ids.
 */
export function ensembleNms(
  boxesList: number[][][],
  scoresList: number[][],
  labelsList: number[][],
  opts: EnsembleNmsOptions = {},
): EnsembleNmsResult {
  const iouThr = opts.iouThr ?? 0.5;
  assertIouThreshold(iouThr, 'ensembleNms');
  const flat = flattenModels(boxesList, scoresList, labelsList, opts.weights, 'ensembleNms');
  return perLabelAscending(flat, (idx) => {
    const order = idx.map((_, k) => k).sort((a, b) => flat.scores[idx[b]!]! - flat.scores[idx[a]!]! || b - a);
    const keep: number[] = [];
    let rest = order;
    while (rest.length > 0) {
      const i = rest[0]!;
      keep.push(i);
      const bi = flat.boxes[idx[i]!]!;
      rest = rest.slice(1).filter((j) => ensembleOverlap(bi, flat.boxes[idx[j]!]!) <= iouThr);
    }
    return { keep };
  });
}

/** Options of {@link softNms}. */
export interface SoftNmsOptions extends EnsembleNmsOptions {
  /** 'linear' (peer method 1) or 'gaussian' (peer method 2, the default). */
  method?: 'linear' | 'gaussian';
  /** Gaussian width: weight = exp(-iou² / sigma). Default 0.5. */
  sigma?: number;
  /** Boxes whose decayed score ends at or below this are dropped. Default 0.001. */
  thresh?: number;
}

/**
 * Soft-NMS (Bodla et al. 2017) per label, with ensemble_boxes 1.0.9 `soft_nms` semantics: instead of
 * removing overlapping boxes, their scores decay (linear: by `1 - iou` when `iou > iouThr`;
 * gaussian: by `exp(-iou² / sigma)`), and boxes whose decayed score is `<= thresh` are dropped.
 *
 * Like the peer, `scores` holds the ORIGINAL (weighted) scores of the kept boxes; the decayed ones
 * are in `decayedScores` (same order). Output grouped by ascending label, and within a label in the
 * order the boxes were selected.
 *
 * @param boxesList `[models][N_m][4]` normalised `[x1, y1, x2, y2]`; clipped, zero-area dropped.
 */
export function softNms(
  boxesList: number[][][],
  scoresList: number[][],
  labelsList: number[][],
  opts: SoftNmsOptions = {},
): EnsembleNmsResult & { decayedScores: number[] } {
  const iouThr = opts.iouThr ?? 0.5;
  const sigma = opts.sigma ?? 0.5;
  const thresh = opts.thresh ?? 0.001;
  const method = opts.method ?? 'gaussian';
  assertIouThreshold(iouThr, 'softNms');
  if (!(sigma > 0)) throw new RangeError(`softNms: sigma must be > 0, got ${sigma}`);
  if (method !== 'linear' && method !== 'gaussian')
    throw new RangeError(`softNms: unknown method ${String(method)}`);
  const flat = flattenModels(boxesList, scoresList, labelsList, opts.weights, 'softNms');
  const decayed: number[] = [];
  const res = perLabelAscending(
    flat,
    (idx) => {
      // pos[p] = which of this label's boxes sits at position p; the peer swaps rows in place.
      const pos = idx.map((_, k) => k);
      const sc = idx.map((i) => flat.scores[i]!);
      const n = pos.length;
      for (let i = 0; i < n; i++) {
        let maxPos = i + 1,
          maxScore = i + 1 < n ? sc[i + 1]! : -Infinity;
        for (let j = i + 2; j < n; j++)
          if (sc[j]! > maxScore) {
            maxScore = sc[j]!;
            maxPos = j;
          }
        if (i + 1 < n && sc[i]! < maxScore) {
          [pos[i], pos[maxPos]] = [pos[maxPos]!, pos[i]!];
          [sc[i], sc[maxPos]] = [sc[maxPos]!, sc[i]!];
        }
        const bi = flat.boxes[idx[pos[i]!]!]!;
        for (let j = i + 1; j < n; j++) {
          const o = ensembleOverlap(bi, flat.boxes[idx[pos[j]!]!]!);
          const w = method === 'linear' ? (o > iouThr ? 1 - o : 1) : Math.exp(-(o * o) / sigma);
          sc[j] = w * sc[j]!;
        }
      }
      const keep: number[] = [],
        extra: number[] = [];
      for (let p = 0; p < n; p++)
        if (sc[p]! > thresh) {
          keep.push(pos[p]!);
          extra.push(sc[p]!);
        }
      return { keep, extra };
    },
    decayed,
  );
  return { ...res, decayedScores: decayed };
}
