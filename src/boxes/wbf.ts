/**
 * Weighted Boxes Fusion (Solovyev, Wang & Gabruseva 2021) with the semantics of ensemble_boxes 1.0.9
 * (ZFTurbo/Weighted-Boxes-Fusion). Boxes are `[x1, y1, x2, y2]` normalised to [0, 1]; the pixel-space
 * helper for VinDr-CXR's three readers is `fuseReaderBoxes` in `readers.ts`.
 */
import { assertIouThreshold } from './iou.js';

/** How a fused box's confidence is computed from its cluster (ensemble_boxes `conf_type`). */
export type ConfType = 'avg' | 'max' | 'box_and_model_avg' | 'absent_model_aware_avg';

/** Options of {@link weightedBoxesFusion}. */
export interface WbfOptions {
  /** One weight per model (default all 1). */
  weights?: number[];
  /** A box joins a cluster only if its IoU with the cluster's current fused box is > iouThr (default 0.55). */
  iouThr?: number;
  /** Boxes with score < skipBoxThr are ignored (default 0). */
  skipBoxThr?: number;
  /** Default 'avg'. */
  confType?: ConfType;
  /** ensemble_boxes `allows_overflow` (only for 'avg'): let a score exceed 1 when a model gives several boxes to one cluster. Default false. */
  allowsOverflow?: boolean;
  /**
   * Called once per repaired or dropped input box (swapped corners, coordinates outside [0, 1],
   * zero area), with a message naming the model and box index. Without it, repairs are silent.
   */
  onWarning?: (message: string) => void;
}

/** Fused output, sorted by descending score. */
export interface WbfResult {
  /** `[K][4]` fused normalised `[x1, y1, x2, y2]`. */
  boxes: number[][];
  /** `[K]` fused confidences. */
  scores: number[];
  /** `[K]` class ids. */
  labels: number[];
}

const CONF_TYPES: readonly ConfType[] = ['avg', 'max', 'box_and_model_avg', 'absent_model_aware_avg'];
const f32 = Math.fround;

/** One input box after filtering: the peer's row [label, score*weight, weight, model, x1, y1, x2, y2]. */
interface Entry {
  label: number;
  score: number;
  weight: number;
  model: number;
  box: number[];
}

/** A cluster's current fused box (same layout; coordinates and score float32-rounded once fused). */
interface Fused {
  score: number;
  weight: number;
  box: number[];
  members: Entry[];
}

const clampWarn = (v: number, name: string, warn: ((m: string) => void) | null, where: string): number => {
  if (v < 0) {
    warn?.(`${where}: ${name} < 0, set to 0`);
    return 0;
  }
  if (v > 1) {
    warn?.(`${where}: ${name} > 1, set to 1 (are the boxes normalised to [0, 1]?)`);
    return 1;
  }
  return v;
};

/** ensemble_boxes `prefilter_boxes`: repairs boxes and groups them by label (first-seen order). */
function prefilter(
  boxesList: number[][][],
  scoresList: number[][],
  labelsList: number[][],
  weights: number[],
  thr: number,
  warn: ((m: string) => void) | null,
): Map<number, Entry[]> {
  const byLabel = new Map<number, Entry[]>();
  for (let t = 0; t < boxesList.length; t++) {
    const bs = boxesList[t]!,
      ss = scoresList[t]!,
      ls = labelsList[t]!;
    if (bs.length !== ss.length || bs.length !== ls.length) {
      throw new RangeError(
        `weightedBoxesFusion: model ${t} has ${bs.length} boxes, ${ss.length} scores, ${ls.length} labels`,
      );
    }
    for (let j = 0; j < bs.length; j++) {
      const score = ss[j]!;
      if (score < thr) continue;
      const b = bs[j]!;
      if (!b || b.length !== 4 || !b.every(Number.isFinite))
        throw new TypeError(`weightedBoxesFusion: boxesList[${t}][${j}] is not 4 finite numbers`);
      if (!Number.isFinite(score))
        throw new TypeError(`weightedBoxesFusion: scoresList[${t}][${j}] is not finite`);
      const where = `model ${t} box ${j}`;
      let [x1, y1, x2, y2] = b as [number, number, number, number];
      if (x2 < x1) {
        warn?.(`${where}: x2 < x1, swapped`);
        [x1, x2] = [x2, x1];
      }
      if (y2 < y1) {
        warn?.(`${where}: y2 < y1, swapped`);
        [y1, y2] = [y2, y1];
      }
      x1 = clampWarn(x1, 'x1', warn, where);
      x2 = clampWarn(x2, 'x2', warn, where);
      y1 = clampWarn(y1, 'y1', warn, where);
      y2 = clampWarn(y2, 'y2', warn, where);
      if ((x2 - x1) * (y2 - y1) === 0) {
        warn?.(`${where}: zero-area box skipped`);
        continue;
      }
      const label = Math.trunc(ls[j]!);
      const e: Entry = {
        label,
        score: score * weights[t]!,
        weight: weights[t]!,
        model: t,
        box: [x1, y1, x2, y2],
      };
      const list = byLabel.get(label);
      if (list) list.push(e);
      else byLabel.set(label, [e]);
    }
  }
  return byLabel;
}

/**
 * Descending by key; among equal keys the LATER item comes first. The peer reverses numpy's
 * ascending argsort, which is stable for the small per-image arrays WBF sees.
 */
function descLaterFirst<T>(items: T[], key: (x: T) => number): T[] {
  const idx = items.map((_, i) => i);
  idx.sort((a, b) => key(items[b]!) - key(items[a]!) || b - a);
  return idx.map((i) => items[i]!);
}

/**
 * ensemble_boxes `get_weighted_box`: score-weighted mean of the members' coordinates. The peer
 * accumulates in a float32 array, so rounding is reproduced with Math.fround at the same steps.
 */
function fuseCluster(members: Entry[], confType: ConfType): Fused {
  const acc = [0, 0, 0, 0];
  let conf = 0,
    w = 0,
    max = -Infinity;
  for (const m of members) {
    for (let k = 0; k < 4; k++) acc[k] = f32(acc[k]! + m.score * m.box[k]!);
    conf += m.score;
    w += m.weight;
    if (m.score > max) max = m.score;
  }
  const c32 = f32(conf);
  return {
    score: f32(confType === 'max' ? max : conf / members.length),
    weight: f32(w),
    box: acc.map((a) => f32(a / c32)),
    members,
  };
}

function overlap(a: number[], b: number[]): number {
  const iw = Math.max(Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!), 0);
  const ih = Math.max(Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!), 0);
  const inter = iw * ih;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

/**
 * Weighted Boxes Fusion of several models' predictions for ONE image (ensemble_boxes 1.0.9).
 *
 * Per label, boxes are visited by descending `score * weight`; each joins the existing cluster whose
 * current fused box it overlaps most if that IoU is STRICTLY greater than `iouThr`, else starts a new
 * cluster; the cluster's fused box is recomputed after each join. Scores are then rescaled by how
 * many models agree (see `confType`). Input boxes with swapped corners are repaired, coordinates
 * are clipped to [0, 1] and zero-area boxes dropped (reported through `onWarning`).
 *
 * @param boxesList `[models][N_m][4]` normalised `[x1, y1, x2, y2]`.
 * @param scoresList `[models][N_m]` confidences.
 * @param labelsList `[models][N_m]` integer class ids.
 * @returns fused boxes, scores and labels by descending score (ties: the later-built cluster first,
 *   as the peer's reversed stable sort gives).
 *
 * @example
 * // Two of three readers box the same nodule (class 8; IoU 0.74 > 0.5); the third drew nothing.
 * const fused = weightedBoxesFusion(
 *   [[[0.1, 0.1, 0.3, 0.3]], [[0.12, 0.1, 0.32, 0.28]], []],
 *   [[1], [1], []],
 *   [[8], [8], []],
 *   { iouThr: 0.5 },
 * );
 * // fused.boxes ≈ [[0.11, 0.1, 0.31, 0.29]] (the mean corners), fused.scores ≈ [2 / 3] (two readers of three)
 */
export function weightedBoxesFusion(
  boxesList: number[][][],
  scoresList: number[][],
  labelsList: number[][],
  opts: WbfOptions = {},
): WbfResult {
  const iouThr = opts.iouThr ?? 0.55;
  const skipBoxThr = opts.skipBoxThr ?? 0;
  const confType = opts.confType ?? 'avg';
  assertIouThreshold(iouThr, 'weightedBoxesFusion');
  if (!CONF_TYPES.includes(confType))
    throw new RangeError(
      `weightedBoxesFusion: unknown confType '${String(confType)}' (one of ${CONF_TYPES.join(', ')})`,
    );
  if (
    !Array.isArray(boxesList) ||
    boxesList.length !== scoresList.length ||
    boxesList.length !== labelsList.length
  ) {
    throw new RangeError(
      'weightedBoxesFusion: boxesList, scoresList and labelsList must have one entry per model',
    );
  }
  const nModels = boxesList.length;
  const weights = opts.weights ?? new Array<number>(nModels).fill(1);
  if (weights.length !== nModels)
    throw new RangeError(`weightedBoxesFusion: ${weights.length} weights for ${nModels} models`);
  if (!weights.every((w) => Number.isFinite(w) && w > 0))
    throw new RangeError('weightedBoxesFusion: weights must be finite and > 0');
  let wSum = 0,
    wMax = -Infinity;
  for (const w of weights) {
    wSum += w;
    if (w > wMax) wMax = w;
  }

  const byLabel = prefilter(boxesList, scoresList, labelsList, weights, skipBoxThr, opts.onWarning ?? null);
  const all: { label: number; score: number; box: number[] }[] = [];
  for (const [label, entries] of byLabel) {
    const clusters: Fused[] = [];
    for (const e of descLaterFirst(entries, (x) => x.score)) {
      let best = -1,
        bestIou = -Infinity;
      for (let c = 0; c < clusters.length; c++) {
        const v = overlap(clusters[c]!.box, e.box);
        if (v > bestIou) {
          bestIou = v;
          best = c;
        }
      }
      if (best >= 0 && bestIou > iouThr) {
        const members = clusters[best]!.members;
        members.push(e);
        clusters[best] = fuseCluster(members, confType);
      } else {
        // A fresh cluster is the box itself at full (float64) precision, as in the peer.
        clusters.push({ score: e.score, weight: e.weight, box: e.box.slice(), members: [e] });
      }
    }
    for (const c of clusters) {
      const n = c.members.length;
      let s = c.score;
      if (confType === 'box_and_model_avg') {
        s = (s * n) / c.weight;
        const seen = new Map<number, number>();
        for (const m of c.members) if (!seen.has(m.model)) seen.set(m.model, m.weight);
        let present = 0;
        for (const w of seen.values()) present += w;
        s = (s * present) / wSum;
      } else if (confType === 'absent_model_aware_avg') {
        const models = new Set(c.members.map((m) => m.model));
        let absent = 0;
        for (let t = 0; t < nModels; t++) if (!models.has(t)) absent += weights[t]!;
        s = (s * n) / (c.weight + absent);
      } else if (confType === 'max') {
        s = s / wMax;
      } else if (!opts.allowsOverflow) {
        s = (s * Math.min(nModels, n)) / wSum;
      } else {
        s = (s * n) / wSum;
      }
      all.push({ label, score: s, box: c.box });
    }
  }
  const sorted = descLaterFirst(all, (x) => x.score);
  return {
    boxes: sorted.map((x) => x.box),
    scores: sorted.map((x) => x.score),
    labels: sorted.map((x) => x.label),
  };
}
