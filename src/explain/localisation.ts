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
    const x0 = Math.max(0, Math.ceil(b[0]! - 0.5)),
      x1 = Math.min(width - 1, Math.floor(b[2]! - 0.5));
    const y0 = Math.max(0, Math.ceil(b[1]! - 0.5)),
      y1 = Math.min(height - 1, Math.floor(b[3]! - 0.5));
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
  let inside = 0,
    total = 0,
    pixels = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = Math.max(0, cam.data[i]!);
    total += v;
    if (mask[i]) {
      inside += v;
      pixels++;
    }
  }
  return { mass: total > 0 ? inside / total : 0, area: pixels / mask.length, total };
}

/**
 * Pointing game: does the heat map's peak fall inside a box, or within `tolerance` pixels of one
 * (Euclidean distance from the peak pixel's centre to the box)? Ties go to the first peak in row-major
 * order; an all-zero map has no peak and misses.
 */
export function pointingGameHit(cam: CamMap, boxes: readonly number[][], tolerance = 0): boolean {
  let best = -1,
    peak = 0;
  for (let i = 0; i < cam.data.length; i++)
    if (cam.data[i]! > peak) {
      peak = cam.data[i]!;
      best = i;
    }
  if (best < 0) return false;
  const cx = (best % cam.width) + 0.5,
    cy = Math.floor(best / cam.width) + 0.5;
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
export function pairedComparison(
  a: readonly number[],
  b: readonly number[],
  rng: Rng,
  opts: { level?: number; iterations?: number } = {},
): PairedComparison {
  if (a.length !== b.length)
    throw new Error(`pairedComparison: ${a.length} values against ${b.length}; the images must be the same`);
  const level = opts.level ?? 0.95;
  const d = a.map((v, i) => v - b[i]!);
  const t = studentTCi(d, { level });
  return {
    a: studentTCi(a, { level }),
    b: studentTCi(b, { level }),
    diff: {
      mean: t.mean,
      t,
      bootstrap: bootstrapCi(d, { rng, alpha: 1 - level, iterations: opts.iterations ?? 2000 }),
    },
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
  if (perImageA.length !== perImageB.length)
    throw new Error(`compareLocalisation: ${perImageA.length} images against ${perImageB.length}`);
  if (perImageA.length === 0) throw new Error('compareLocalisation: no images');
  return {
    n: perImageA.length,
    mass: pairedComparison(
      perImageA.map((s) => s.mass),
      perImageB.map((s) => s.mass),
      rng.fork('mass'),
      opts,
    ),
    hit: pairedComparison(
      perImageA.map((s) => Number(s.hit)),
      perImageB.map((s) => Number(s.hit)),
      rng.fork('hit'),
      opts,
    ),
    chance: perImageA.reduce((s, x) => s + x.area, 0) / perImageA.length,
  };
}

/**
 * The pointing game's chance level for one box: the share of pixels whose centre lies within
 * `tolerance` pixels of the box (inside included), i.e. the hit probability of a peak placed uniformly
 * at random.
 */
export function pointingChance(width: number, height: number, box: readonly number[], tolerance = 0): number {
  let n = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const cx = x + 0.5,
        cy = y + 0.5;
      const dx = Math.max(box[0]! - cx, 0, cx - box[2]!);
      const dy = Math.max(box[1]! - cy, 0, cy - box[3]!);
      if (Math.hypot(dx, dy) <= tolerance) n++;
    }
  return n / (width * height);
}

/** One per-box heat map scored against the ground-truth box its predicted box matched. */
export interface BoxLocalisation extends LocalisationScore {
  imageId: string;
  /** Index of the ground-truth box in its image. */
  gtIndex: number;
  /** {@link pointingChance} of the ground-truth box. */
  pointChance: number;
}

/** One backbone's per-box localisation over the scored images, each against its chance level. */
export interface LocalisationSummary {
  /** Per-box maps scored (one per ground-truth box found by a correct detection). */
  boxes: number;
  /** Images those boxes come from. */
  images: number;
  /** Mass inside the ground-truth box: mean and Student-t 95 % interval over boxes. */
  mass: TInterval;
  /** Mean chance level of the mass (the boxes' area share) and the per-box excess mass − chance. */
  massChance: number;
  massOverChance: TInterval;
  /** Pointing-game hit rate, its chance level and the per-box excess hit − chance. */
  hit: TInterval;
  hitChance: number;
  hitOverChance: TInterval;
}

/** Summarises per-box scores (null when there are none). */
export function summariseLocalisation(
  boxes: readonly BoxLocalisation[],
  level = 0.95,
): LocalisationSummary | null {
  if (boxes.length === 0) return null;
  const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
  return {
    boxes: boxes.length,
    images: new Set(boxes.map((b) => b.imageId)).size,
    mass: studentTCi(
      boxes.map((b) => b.mass),
      { level },
    ),
    massChance: mean(boxes.map((b) => b.area)),
    massOverChance: studentTCi(
      boxes.map((b) => b.mass - b.area),
      { level },
    ),
    hit: studentTCi(
      boxes.map((b) => Number(b.hit)),
      { level },
    ),
    hitChance: mean(boxes.map((b) => b.pointChance)),
    hitOverChance: studentTCi(
      boxes.map((b) => Number(b.hit) - b.pointChance),
      { level },
    ),
  };
}

/**
 * Pairs two backbones' per-box scores on the ground-truth boxes both found (same image, same box) and
 * compares them ({@link pairedComparison}); null when fewer than two boxes are shared.
 */
export function pairLocalisation(
  a: readonly BoxLocalisation[],
  b: readonly BoxLocalisation[],
  rng: Rng,
  opts: { level?: number; iterations?: number } = {},
): { n: number; mass: PairedComparison; hit: PairedComparison } | null {
  const key = (x: BoxLocalisation): string => `${x.imageId}#${x.gtIndex}`;
  const byB = new Map(b.map((x) => [key(x), x]));
  const pairs = a.filter((x) => byB.has(key(x))).map((x) => [x, byB.get(key(x))!] as const);
  if (pairs.length < 2) return null;
  return {
    n: pairs.length,
    mass: pairedComparison(
      pairs.map((p) => p[0].mass),
      pairs.map((p) => p[1].mass),
      rng.fork('mass'),
      opts,
    ),
    hit: pairedComparison(
      pairs.map((p) => Number(p[0].hit)),
      pairs.map((p) => Number(p[1].hit)),
      rng.fork('hit'),
      opts,
    ),
  };
}

/** The top-left `height × width` of a map (the resized image without its padding). */
export function cropCam(cam: CamMap, height: number, width: number): CamMap {
  if (height === cam.height && width === cam.width) return cam;
  const data = new Float32Array(height * width);
  for (let y = 0; y < height; y++)
    data.set(cam.data.subarray(y * cam.width, y * cam.width + width), y * width);
  return { data, width, height };
}
