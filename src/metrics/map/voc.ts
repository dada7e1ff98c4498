/**
 * VOC-style AP of one class, reproducing MMDetection v3.3.0 `eval_map` (`tpfp_default` matching,
 * `average_precision` in 'area' and '11points' modes), including its float32 arithmetic.
 */
import { byScoreDesc, type ClassEvaluation, type ClassImage } from './common.js';

const f32 = Math.fround;
const EPS32 = 1.1920928955078125e-7; // np.finfo(np.float32).eps

/** mmdet `bbox_overlaps` for one pair, in float32 with the union clamped to >= 1e-6. */
function overlapF32(a: number[], b: number[], e: number): number {
  const ax1 = f32(a[0]!),
    ay1 = f32(a[1]!),
    ax2 = f32(a[2]!),
    ay2 = f32(a[3]!);
  const bx1 = f32(b[0]!),
    by1 = f32(b[1]!),
    bx2 = f32(b[2]!),
    by2 = f32(b[3]!);
  const area1 = f32(f32(f32(ax2 - ax1) + e) * f32(f32(ay2 - ay1) + e));
  const area2 = f32(f32(f32(bx2 - bx1) + e) * f32(f32(by2 - by1) + e));
  const w = Math.max(f32(f32(Math.min(ax2, bx2) - Math.max(ax1, bx1)) + e), 0);
  const h = Math.max(f32(f32(Math.min(ay2, by2) - Math.max(ay1, by1)) + e), 0);
  const overlap = f32(w * h);
  const union = Math.max(f32(f32(area1 + area2) - overlap), f32(1e-6));
  return f32(overlap / union);
}

/**
 * Evaluates one class. Per image, each detection (by descending score) takes the GT it overlaps
 * most (first on ties, regular GTs before ignored ones); IoU >= thr makes it a TP if that GT is
 * still free, an FP if it was taken, and nothing if the GT is ignored; below thr it is an FP.
 */
export function vocClassAp(
  classId: number,
  images: ClassImage[],
  iouThr: number,
  maxDets: number,
  mode: 'area' | '11points',
  legacy: boolean,
): ClassEvaluation {
  const e = legacy ? 1 : 0;
  const scores: number[] = [],
    tps: number[] = [],
    fps: number[] = [];
  let numGts = 0;
  for (const im of images) {
    const regular: number[][] = [],
      ign: number[][] = [];
    im.gtBoxes.forEach((b, k) => (im.gtIgnore[k] ? ign : regular).push(b));
    numGts += regular.length;
    const gts = regular.concat(ign);
    const keep = byScoreDesc(im.detScores).slice(0, maxDets);
    const kept = new Set(keep);
    // mmdet concatenates each image's tp/fp in detection input order before the global sort
    const tp = new Map<number, number>(),
      fp = new Map<number, number>();
    const covered = new Uint8Array(gts.length);
    for (const i of keep) {
      tp.set(i, 0);
      fp.set(i, 0);
      if (gts.length === 0) {
        fp.set(i, 1);
        continue;
      }
      let best = -Infinity,
        arg = 0;
      for (let g = 0; g < gts.length; g++) {
        const v = overlapF32(im.detBoxes[i]!, gts[g]!, e);
        if (v > best) {
          best = v;
          arg = g;
        }
      }
      if (best >= iouThr) {
        if (arg >= regular.length) continue; // matched an ignored ("difficult") GT: neither
        if (!covered[arg]) {
          covered[arg] = 1;
          tp.set(i, 1);
        } else fp.set(i, 1);
      } else fp.set(i, 1);
    }
    for (let i = 0; i < im.detScores.length; i++) {
      if (!kept.has(i)) continue;
      scores.push(im.detScores[i]!);
      tps.push(tp.get(i)!);
      fps.push(fp.get(i)!);
    }
  }
  const recall: number[] = [],
    precision: number[] = [];
  let ctp = 0,
    cfp = 0;
  for (const i of byScoreDesc(scores)) {
    ctp += tps[i]!;
    cfp += fps[i]!;
    recall.push(ctp / Math.max(numGts, EPS32));
    precision.push(f32(ctp / Math.max(ctp + cfp, EPS32)));
  }
  let ap: number;
  if (mode === 'area') {
    const mrec = [0, ...recall, 1],
      mpre = [0, ...precision, 0];
    for (let i = mpre.length - 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1]!, mpre[i]!);
    let s = 0;
    for (let i = 0; i + 1 < mrec.length; i++)
      if (mrec[i + 1] !== mrec[i]) s += (mrec[i + 1]! - mrec[i]!) * mpre[i + 1]!;
    ap = f32(s);
  } else {
    let s = 0;
    for (let k = 0; k <= 10; k++) {
      const thr = k * 0.1; // np.arange(0, 1 + 1e-3, 0.1): 0.30000000000000004, ...
      let m = 0;
      for (let i = 0; i < recall.length; i++) if (recall[i]! >= thr && precision[i]! > m) m = precision[i]!;
      s = f32(s + m);
    }
    ap = f32(s / 11);
  }
  // eval_map: a class without GT still gets its (zero) AP; the mean skips it by num_gts.
  return { classId, ap: numGts > 0 ? ap : 0, numGts, numDets: scores.length, recall, precision };
}
