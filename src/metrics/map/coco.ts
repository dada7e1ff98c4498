/**
 * COCO-style AP of one class at one IoU threshold, reproducing pycocotools `COCOeval` (bbox):
 * `evaluateImg` matching and `accumulate`'s 101-point interpolated precision.
 */
import { byScoreDesc, type ClassEvaluation, type ClassImage } from './common.js';

/** COCO's area range 'all' = [0, 1e5²]: only boxes with negative area (x2 < x1) fall outside. */
const AREA_MAX = 1e10;

/**
 * recThrs = np.linspace(0, 1, 101), which is i * 0.01 (ten of them one ulp above i / 100, so a
 * recall of exactly 0.35 does not reach threshold 35), last value exactly 1.
 */
const REC_THRS = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));

const area = (b: number[]) => (b[2]! - b[0]!) * (b[3]! - b[1]!);

/** maskApi.c `bbIou`: IoU, or intersection / detection area against a crowd box. */
function bbIou(d: number[], g: number[], crowd: boolean): number {
  const w = Math.min(d[2]!, g[2]!) - Math.max(d[0]!, g[0]!);
  if (w <= 0) return 0;
  const h = Math.min(d[3]!, g[3]!) - Math.max(d[1]!, g[1]!);
  if (h <= 0) return 0;
  const inter = w * h;
  return inter / (crowd ? area(d) : area(d) + area(g) - inter);
}

/** Evaluates one class over its images (in ascending image order). */
export function cocoClassAp(
  classId: number,
  images: ClassImage[],
  iouThr: number,
  maxDets: number,
): ClassEvaluation {
  // COCOeval caps the threshold just below 1 so that IoU 1 still matches at threshold 1.
  const thr = Math.min(iouThr, 1 - 1e-10);
  const scores: number[] = [],
    matched: boolean[] = [],
    ignored: boolean[] = [];
  let npig = 0;
  for (const im of images) {
    // GT ignore = crowd, or area outside 'all'; ignored GTs are visited last (stable).
    const gIgnore = im.gtBoxes.map((b, k) => im.gtIgnore[k]! || area(b) < 0 || area(b) > AREA_MAX);
    const gOrder = im.gtBoxes
      .map((_, k) => k)
      .sort((a, b) => Number(gIgnore[a]) - Number(gIgnore[b]) || a - b);
    const gts = gOrder.map((k) => ({ box: im.gtBoxes[k]!, crowd: im.gtIgnore[k]!, ignore: gIgnore[k]! }));
    for (const g of gts) if (!g.ignore) npig++;
    const dOrder = byScoreDesc(im.detScores).slice(0, maxDets);
    const gtTaken = new Uint8Array(gts.length);
    for (const di of dOrder) {
      const d = im.detBoxes[di]!;
      let best = thr,
        m = -1;
      for (let gi = 0; gi < gts.length; gi++) {
        const g = gts[gi]!;
        if (gtTaken[gi] && !g.crowd) continue;
        // once matched to a regular GT, the ignored ones (sorted after) cannot take the detection
        if (m > -1 && !gts[m]!.ignore && g.ignore) break;
        const v = bbIou(d, g.box, g.crowd);
        if (v < best) continue;
        best = v;
        m = gi; // `<` above, not `<=`: among equal IoUs the later GT wins, as in pycocotools
      }
      scores.push(im.detScores[di]!);
      if (m === -1) {
        matched.push(false);
        const a = area(d);
        ignored.push(a < 0 || a > AREA_MAX);
      } else {
        gtTaken[m] = 1;
        matched.push(true);
        ignored.push(gts[m]!.ignore);
      }
    }
  }
  const order = byScoreDesc(scores);
  const recall: number[] = [],
    precision: number[] = [];
  let tp = 0,
    fp = 0;
  for (const i of order) {
    if (ignored[i]) continue;
    if (matched[i]) tp++;
    else fp++;
    recall.push(tp / npig);
    precision.push(tp / (fp + tp + Number.EPSILON));
  }
  if (npig === 0) return { classId, ap: null, numGts: 0, numDets: scores.length, recall, precision };
  const pr = precision.slice();
  for (let i = pr.length - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
  const q = new Array<number>(101).fill(0);
  let j = 0;
  for (let r = 0; r < 101; r++) {
    while (j < recall.length && recall[j]! < REC_THRS[r]!) j++;
    if (j === recall.length) break; // no detection reaches this recall: it and all above stay 0
    q[r] = pr[j]!;
  }
  let sum = 0;
  for (const v of q) sum += v;
  return { classId, ap: sum / 101, numGts: npig, numDets: scores.length, recall, precision, precision101: q };
}
