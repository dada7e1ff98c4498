/**
 * Simulated radiologists. VinDr-CXR had each training image read by 3 of 17 radiologists, who
 * disagree: boxes drawn a little differently, findings missed, extra boxes, a neighbouring class
 * chosen. Weighted Boxes Fusion (notebook 02) exists to reconcile exactly this.
 */
import { makeRng, type Rng } from '../../rng.js';
import type { Box } from './findings.js';

/** One radiologist's habits. */
export interface Reader {
  /** "R1" … "R17", as in VinDr's rad_id column. */
  id: string;
  /** Probability of marking a finding that is there (before its visibility). */
  sensitivity: number;
  /** Box edge jitter, as a fraction of the box's side (standard deviation). */
  jitter: number;
  /** Systematic margin: some readers draw tight boxes, some generous ones (fraction of the side). */
  margin: number;
  /** Probability of naming a neighbouring class instead. */
  confusion: number;
  /** Expected extra (false-positive) boxes per abnormal image. */
  extra: number;
  /** Relative share of images this reader reads. */
  workload: number;
}

/** The fixed pool of 17 readers: the same people in every generated set (their traits come from a fixed seed). */
export const READERS: readonly Reader[] = (() => {
  const rng = makeRng(17).fork('readers');
  return Array.from({ length: 17 }, (_, i) => ({
    id: `R${i + 1}`,
    sensitivity: rng.uniform(0.78, 0.97),
    jitter: rng.uniform(0.03, 0.1),
    margin: rng.uniform(-0.05, 0.12),
    confusion: rng.uniform(0.03, 0.15),
    extra: rng.uniform(0.03, 0.25),
    // In VinDr a few readers (R8, R9, R10) read most training images.
    workload: i >= 7 && i <= 9 ? 8 : rng.uniform(0.3, 1.5),
  }));
})();

/** How easy a class is to see (multiplies sensitivity), by VinDr class id. */
const VISIBILITY = [0.95, 0.75, 0.7, 0.97, 0.9, 0.85, 0.8, 0.85, 0.85, 0.75, 0.92, 0.85, 0.8, 0.88];

/** Neighbouring classes a reader may name instead (VinDr ids); organ-size findings have none. */
const NEIGHBOURS: readonly (readonly number[])[] = [
  [], [7, 4], [8, 9], [], [7, 6], [13], [7, 4], [6, 4, 1], [2, 9], [8, 2], [11], [10, 13], [9], [5, 11],
];

/** Picks 3 distinct readers, weighted by workload. */
export function pickReaders(rng: Rng, n = 3): Reader[] {
  const pool = [...READERS];
  const out: Reader[] = [];
  for (let k = 0; k < n; k++) {
    const total = pool.reduce((s, r) => s + r.workload, 0);
    let u = rng.next() * total;
    let j = 0;
    while (j < pool.length - 1 && u >= pool[j]!.workload) u -= pool[j++]!.workload;
    out.push(pool.splice(j, 1)[0]!);
  }
  return out;
}

/** One reader's box: classId 0–13, box [x1, y1, x2, y2] in pixels. */
export interface ReaderBox {
  classId: number;
  box: Box;
}

/**
 * What one reader marks on an image with the given true findings (classId + box): each finding is
 * seen with probability sensitivity × visibility, its box jittered and its class sometimes swapped
 * for a neighbour, and a few extra boxes are added. An empty result means the reader wrote
 * "No finding".
 */
export function readerMarks(reader: Reader, truth: readonly ReaderBox[], width: number, height: number, rng: Rng): ReaderBox[] {
  const out: ReaderBox[] = [];
  for (const t of truth) {
    if (rng.next() >= reader.sensitivity * VISIBILITY[t.classId]!) continue;
    const nb = NEIGHBOURS[t.classId]!;
    const classId = rng.next() < reader.confusion && nb.length ? nb[rng.int(nb.length)]! : t.classId;
    out.push({ classId, box: jitterBox(t.box, reader, width, height, rng) });
  }
  if (truth.length) {
    let extras = 0;
    while (extras < 3 && rng.next() < reader.extra / (1 + extras)) {
      extras++;
      // A false positive near a true finding, the way a reader over-calls a subtle area nearby.
      const base = truth[rng.int(truth.length)]!;
      const [x1, y1, x2, y2] = base.box;
      const w = Math.max(4, (x2 - x1) * rng.uniform(0.4, 1));
      const h = Math.max(4, (y2 - y1) * rng.uniform(0.4, 1));
      const cx = Math.min(width - w / 2, Math.max(w / 2, (x1 + x2) / 2 + rng.uniform(-1.5, 1.5) * w));
      const cy = Math.min(height - h / 2, Math.max(h / 2, (y1 + y2) / 2 + rng.uniform(-1.5, 1.5) * h));
      const nb = NEIGHBOURS[base.classId]!;
      out.push({ classId: rng.next() < 0.5 || nb.length === 0 ? base.classId : nb[rng.int(nb.length)]!, box: roundBox([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], width, height) });
    }
  }
  return out;
}

function jitterBox(b: Box, r: Reader, width: number, height: number, rng: Rng): Box {
  const w = b[2] - b[0];
  const h = b[3] - b[1];
  const m = r.margin;
  return roundBox(
    [b[0] - w * (m + r.jitter * rng.normal()), b[1] - h * (m + r.jitter * rng.normal()), b[2] + w * (m + r.jitter * rng.normal()), b[3] + h * (m + r.jitter * rng.normal())],
    width,
    height,
  );
}

/** Clips to the image, keeps at least one pixel, rounds to 0.01 px as annotation tools export. */
function roundBox(b: Box, width: number, height: number): Box {
  const x1 = Math.max(0, Math.min(width - 1, b[0]));
  const y1 = Math.max(0, Math.min(height - 1, b[1]));
  const x2 = Math.min(width, Math.max(x1 + 1, b[2]));
  const y2 = Math.min(height, Math.max(y1 + 1, b[3]));
  return [x1, y1, x2, y2].map((v) => Math.round(v * 100) / 100) as Box;
}
