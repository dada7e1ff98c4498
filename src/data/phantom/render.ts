/** One phantom film end to end: anatomy, findings, devices, positioning, acquisition. */
import type { Rng } from '../../rng.js';
import { composeLungs, drawAnatomy, sampleAnatomy } from './anatomy.js';
import { drawEcgLeads } from './devices.js';
import { anatomyBoxes, anatomyEffects, drawLesions, drawPleural, type FindingInstance, type FindingKind } from './findings.js';
import { poseBox, samplePose, warpCanvas, type View } from './positioning.js';
import { acquire, SITES, type SiteName } from './sites.js';

/** A rendered film: brightness in [0, 1] (1 = white), row-major, and its true findings. */
export interface PhantomFilm {
  width: number;
  height: number;
  brightness: Float32Array;
  /** In the order of `kinds` groups: anatomical, pleural, then lesions. Boxes [x1, y1, x2, y2] in pixels. */
  findings: FindingInstance[];
  view: View;
}

/**
 * Renders one chest film of `width`×`height` pixels with the given findings as seen at `site`, as a PA or
 * AP film (`view`; drawn with the site's AP share when not given). The patient is drawn, then placed in
 * the frame (`positioning.ts`), and the finding boxes are mapped with it.
 * Pure function of its arguments and the generator's state.
 */
export function renderFilm(width: number, height: number, kinds: readonly FindingKind[], site: SiteName, rng: Rng, view?: View): PhantomFilm {
  const v: View = view ?? (rng.next() < SITES[site].apShare ? 'AP' : 'PA');
  const anatomy = sampleAnatomy(rng, v);
  const fx = anatomyEffects(kinds, rng);
  const chest = drawAnatomy(width, height, anatomy, fx, rng);
  const pleural = drawPleural(chest, kinds, rng);
  composeLungs(chest, pleural.erase);
  const lesions = drawLesions(chest, kinds, rng);
  drawEcgLeads(chest, rng);
  const pose = samplePose(rng, v);
  warpCanvas(chest.canvas, pose);
  const findings = [...anatomyBoxes(chest, kinds, fx), ...pleural.found, ...lesions]
    .map((f) => ({ kind: f.kind, box: poseBox(pose, width, height, f.box) }))
    .filter((f) => f.box[2] - f.box[0] >= 1 && f.box[3] - f.box[1] >= 1);
  return { width, height, brightness: acquire(chest.canvas, SITES[site], rng), findings, view: v };
}
