/** One phantom film end to end: anatomy, findings, acquisition. */
import type { Rng } from '../../rng.js';
import { composeLungs, drawAnatomy, sampleAnatomy } from './anatomy.js';
import { anatomyBoxes, anatomyEffects, drawLesions, drawPleural, type FindingInstance, type FindingKind } from './findings.js';
import { acquire, SITES, type SiteName } from './sites.js';

/** A rendered film: brightness in [0, 1] (1 = white), row-major, and its true findings. */
export interface PhantomFilm {
  width: number;
  height: number;
  brightness: Float32Array;
  /** In the order of `kinds` groups: anatomical, pleural, then lesions. Boxes [x1, y1, x2, y2] in pixels. */
  findings: FindingInstance[];
}

/**
 * Renders one chest film of `width`×`height` pixels with the given findings as seen at `site`.
 * Pure function of its arguments and the generator's state.
 */
export function renderFilm(width: number, height: number, kinds: readonly FindingKind[], site: SiteName, rng: Rng): PhantomFilm {
  const anatomy = sampleAnatomy(rng);
  const fx = anatomyEffects(kinds, rng);
  const chest = drawAnatomy(width, height, anatomy, fx, rng);
  const pleural = drawPleural(chest, kinds, rng);
  composeLungs(chest, pleural.erase);
  const lesions = drawLesions(chest, kinds, rng);
  const findings = [...anatomyBoxes(chest, kinds, fx), ...pleural.found, ...lesions];
  return { width, height, brightness: acquire(chest.canvas, SITES[site], rng), findings };
}
