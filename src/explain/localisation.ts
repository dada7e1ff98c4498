/**
 * Numbers for heat maps, which the paper shows only as pictures: how much of a map's mass lies in the
 * ground-truth boxes (beside the boxes' area, the mass a uniform map would put there), whether its
 * peak falls in a box (the pointing game of Zhang et al., ECCV 2016), and a paired comparison of two
 * backbones over the same test images with confidence intervals.
 *
 * A pixel (x, y) is in a box `[x1, y1, x2, y2]` (pixels) when its centre (x + 0.5, y + 0.5) is, edges
 * included: the same rule for the mass and for the area, so a uniform map scores exactly its area.
 */
import { bootstrapCi, studentTCi, type BootstrapInterval, type TInterval } from '../metrics/ci.js';
import type { Rng } from '../rng.js';
import type { CamMap } from './ablationCam.js';

/** `[height * width]` mask, 1 where the pixel centre lies in at least one box. */
function boxMask(width: number, height: number, boxes: readonly number[][]): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const b of boxes) {
    // Pixel centres x + 0.5 in [x1, x2]  ⇔  x in [ceil(x1 − 0.5), floor(x2 − 0.5)].
    const x0 = Math.max(0, Math.ceil(b[0]! - 0.5)), x1 = Math.min(width - 1, Math.floor(b[2]! - 0.5));
    const y0 = Math.max(0, Math.ceil(b[1]! - 0.5)), y1 = Math.min(height - 1, Math.floor(b[3]! - 0.5));
    if (x1 < x0) continue;
    for (let y = y0; y <= y1; y++) mask.fill(1, y * width + x0, y * width + x1 + 1);
  }
  return mask;
}

/** Mass of a heat map inside boxes. */
export interface CamMass {
  /** Fraction of the map's total mass on pixels inside the union of the boxes, in [0, 1]; 0 for an all-zero map. */
  mass: number;
  /** Fraction of the image's pixels inside the union: the chance level (a uniform map's `mass`). */
  area: number;
  /** The map's total mass Σ cam (0 means the map is empty, and `mass` says nothing). */
  total: number;
}

/**
 * Fraction of the heat map's mass inside the union of `boxes` (`[x1, y1, x2, y2]` pixels of the map's
 * image), with the union's area fraction as the chance level. Negative values count as 0.
 */
export function camMassInBoxes(cam: CamMap, boxes: readonly number[][]): CamMass {
  const mask = boxMask(cam.width, cam.height, boxes);
  let inside = 0, total = 0, pixels = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = Math.max(0, cam.data[i]!);
    total += v;
    if (mask[i]) { inside += v; pixels++; }
  }
  return { mass: total > 0 ? inside / total : 0, area: pixels / mask.length, total };
}

/**
 * Pointing game: does the heat map's peak fall inside a box, or within `tolerance` pixels of one
 * (Euclidean distance from the peak pixel's centre to the box)? Ties go to the first peak in row-major
 * order; an all-zero map has no peak and misses.
 */
export function pointingGameHit(cam: CamMap, boxes: readonly number[][], tolerance = 0): boolean {
  let best = -1, peak = 0;
  for (let i = 0; i < cam.data.length; i++) if (cam.data[i]! > peak) { peak = cam.data[i]!; best = i; }
  if (best < 0) return false;
  const cx = (best % cam.width) + 0.5, cy = Math.floor(best / cam.width) + 0.5;
  return boxes.some((b) => {
    const dx = Math.max(b[0]! - cx, 0, cx - b[2]!);
    const dy = Math.max(b[1]! - cy, 0, cy - b[3]!);
    return Math.hypot(dx, dy) <= tolerance;
  });
}

/** The localisation numbers of one heat map against one image's ground-truth boxes. */
export interface LocalisationScore extends CamMass {
  /** Pointing-game hit. */
  hit: boolean;
}

/** {@link camMassInBoxes} and {@link pointingGameHit} together. */
export function localisationScore(cam: CamMap, boxes: readonly number[][], tolerance = 0): LocalisationScore {
  return { ...camMassInBoxes(cam, boxes), hit: pointingGameHit(cam, boxes, tolerance) };
}

/** One number compared between two backbones over the same images. */
export interface PairedComparison {
  /** Mean and Student-t interval of each backbone's values. */
  a: TInterval;
  b: TInterval;
  /** Per-image difference a − b: Student-t interval (paired t) and a seeded bootstrap over images. */
  diff: { mean: number; t: TInterval; bootstrap: BootstrapInterval };
}

/**
 * Paired comparison of per-image values of two backbones (same images, same order): means with
 * Student-t intervals, and the mean difference a − b with a paired t interval and a percentile
 * bootstrap that resamples images (so each image's pair stays together).
 */
export function pairedComparison(a: readonly number[], b: readonly number[], rng: Rng, opts: { level?: number; iterations?: number } = {}): PairedComparison {
  if (a.length !== b.length) throw new Error(`pairedComparison: ${a.length} values against ${b.length}; the images must be the same`);
  const level = opts.level ?? 0.95;
  const d = a.map((v, i) => v - b[i]!);
  const t = studentTCi(d, { level });
  return {
    a: studentTCi(a, { level }),
    b: studentTCi(b, { level }),
    diff: { mean: t.mean, t, bootstrap: bootstrapCi(d, { rng, alpha: 1 - level, iterations: opts.iterations ?? 2000 }) },
  };
}

/** {@link compareLocalisation}'s answer. */
export interface LocalisationComparison {
  /** Images compared. */
  n: number;
  /** Mass inside the ground-truth boxes. */
  mass: PairedComparison;
  /** Pointing-game hit rate (hits as 1, misses as 0). */
  hit: PairedComparison;
  /** Mean area fraction of the boxes: the mass a uniform map would score (the same for both). */
  chance: number;
}

/**
 * Compares two backbones' heat maps over the same test images: `perImageA[i]` and `perImageB[i]` are
 * the scores of image i (from {@link localisationScore} against the same ground-truth boxes).
 */
export function compareLocalisation(
  perImageA: readonly LocalisationScore[],
  perImageB: readonly LocalisationScore[],
  rng: Rng,
  opts: { level?: number; iterations?: number } = {},
): LocalisationComparison {
  if (perImageA.length !== perImageB.length) throw new Error(`compareLocalisation: ${perImageA.length} images against ${perImageB.length}`);
  if (perImageA.length === 0) throw new Error('compareLocalisation: no images');
  return {
    n: perImageA.length,
    mass: pairedComparison(perImageA.map((s) => s.mass), perImageB.map((s) => s.mass), rng.fork('mass'), opts),
    hit: pairedComparison(perImageA.map((s) => Number(s.hit)), perImageB.map((s) => Number(s.hit)), rng.fork('hit'), opts),
    chance: perImageA.reduce((s, x) => s + x.area, 0) / perImageA.length,
  };
}
