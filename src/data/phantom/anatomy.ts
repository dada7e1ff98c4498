/**
 * The normal chest of the phantom: a frontal film (PA, or AP with its differences) drawn as attenuation on a float canvas.
 * Geometry is in fractions of the image (x of the width, y of the height); the patient's right is
 * on the image's left, as radiographs are displayed.
 */
import type { Rng } from '../../rng.js';
import { addBand, addEllipse, addSegment, boxBlur, makeCanvas, valueNoise, type Canvas } from './canvas.js';
import type { View } from './positioning.js';

/** One patient's anatomy (fractions of the image). Sides: -1 = image left (patient right), +1 = image right. */
export interface Anatomy {
  cx: number;
  apexY: number;
  /** Level of the lateral costophrenic angles. */
  cpY: number;
  /** Diaphragm dome height, per side [right (image left), left (image right)]. */
  domeY: [number, number];
  /** Lateral extent of the lungs from the midline. */
  latMax: number;
  /** Distance of the lung apex from the midline. */
  apexD: number;
  /** Half-width of the upper mediastinum. */
  medHalf: number;
  heart: { dx: number; y: number; rx: number; ry: number };
  knob: { dx: number; y: number; r: number };
  bodyHalf: number;
  female: boolean;
  /** How much air darkens the lungs (0.3 … 0.45); emphysema raises it. */
  lungAir: number;
  ribSpacing: number;
  /** Body habitus: multiplies the soft tissue's attenuation (thin < 1 < heavy). */
  softTissue: number;
  /** PA or AP projection (AP: magnified heart, scapulae over the lungs, higher clavicles). */
  view: View;
}

/**
 * Draws a patient's anatomy around an adult PA film. Per-patient spreads (normals clipped at 2.5 sd), as
 * fractions of the image: inspiration moves both hemidiaphragms and the costophrenic angles together by
 * sd 0.025 (half a posterior rib space; a real film's diaphragm sits anywhere from the 9th to the 11th
 * posterior rib); heart width sd 0.011 (cardiothoracic ratio about 0.39–0.52, the normal adult range);
 * body half-width sd 0.02 and soft-tissue attenuation ×exp(sd 0.15) (thin to heavy habitus). The heart rests on
 * the diaphragm, so it follows the inspiration level. AP films
 * (portable, supine or sitting): inspiration 0.03 shallower, heart magnified 8–18 % by the divergent
 * beam (it lies far from the detector), clavicles projected higher and flatter, scapulae over the lungs.
 */
export function sampleAnatomy(rng: Rng, view: View = 'PA'): Anatomy {
  const n = (s: number): number => s * Math.max(-2.5, Math.min(2.5, rng.normal()));
  const ap = view === 'AP';
  const insp = n(0.025) - (ap ? 0.03 : 0);
  const latMax = 0.35 + n(0.015);
  const cpY = 0.74 + insp + n(0.01);
  const domeR = 0.63 + insp + n(0.012);
  const mag = ap ? rng.uniform(1.08, 1.18) : 1;
  return {
    cx: 0.5 + n(0.01),
    apexY: 0.11 + n(0.01),
    cpY,
    domeY: [domeR, domeR + 0.025 + n(0.008)],
    latMax,
    apexD: 0.17 + n(0.01),
    medHalf: 0.052 + n(0.004),
    // Cardiothoracic ratio ~0.39–0.52 in a normal adult (PA); AP magnifies the heart.
    heart: { dx: (0.04 + n(0.006)) * mag, y: 0.605 + 0.8 * insp + n(0.012), rx: (0.145 + n(0.011)) * mag, ry: (0.115 + n(0.008)) * mag },
    knob: { dx: 0.058 + n(0.004), y: 0.29 + n(0.01), r: 0.026 + n(0.002) },
    bodyHalf: 0.465 + n(0.02),
    female: rng.next() < 0.45,
    lungAir: 0.38 + n(0.02),
    ribSpacing: 0.056 + n(0.003),
    softTissue: Math.exp(n(0.15)),
    view,
  };
}

/** Horizontal extent of a lung at height v: distances from the midline, or null above the apex. */
export function lungRow(a: Anatomy, v: number): { med: number; lat: number } | null {
  const t = (v - a.apexY) / (a.cpY - a.apexY);
  if (t < 0 || t > 1) return null;
  const lat = a.apexD + (a.latMax - a.apexD) * Math.sqrt(Math.min(1, t / 0.7)) - 0.02 * Math.max(0, t - 0.7);
  const med = a.apexD - (a.apexD - a.medHalf) * Math.sqrt(Math.min(1, t / 0.25));
  return { med, lat };
}

/** Diaphragm height at distance d from the midline on one side (the dome is highest mid-hemithorax). */
export function diaphragmY(a: Anatomy, side: -1 | 1, d: number): number {
  const dome = a.domeY[side < 0 ? 0 : 1];
  const mid = 0.19;
  const k = (a.cpY - dome) / ((a.latMax - mid) / mid) ** 2;
  return dome + k * ((d - mid) / mid) ** 2;
}

/** What findings change in the anatomy before it is drawn. */
export interface AnatomyMods {
  heartScale: number;
  knobScale: number;
  /** Emphysema: larger, darker lungs and flattened diaphragms. */
  emphysema: boolean;
}

export interface DrawnChest {
  canvas: Canvas;
  /** Lung membership in [0, 1] per pixel (findings reduce it where fluid or collapse replaces air). */
  lung: Float32Array;
  /** Lung markings (vessels), kept apart so a pneumothorax can erase them. */
  markings: Float32Array;
  anatomy: Anatomy;
}

function smooth01(x: number): number {
  return x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x);
}

/**
 * Draws soft tissue, mediastinum, heart, aortic knob, spine, ribs, clavicles and shoulders; returns
 * the lung mask and markings separately; `composeLungs` adds them once findings have edited them.
 */
export function drawAnatomy(width: number, height: number, a0: Anatomy, mods: AnatomyMods, rng: Rng): DrawnChest {
  const a: Anatomy = mods.emphysema
    ? { ...a0, latMax: a0.latMax + 0.02, cpY: a0.cpY + 0.04, domeY: [a0.domeY[0] + 0.08, a0.domeY[1] + 0.08], lungAir: a0.lungAir + 0.06 }
    : a0;
  const c = makeCanvas(width, height);
  const lung = new Float32Array(width * height);
  const W = width;
  const H = height;
  const px = 1 / Math.max(W, H);
  const d = c.data;
  const hx = a.cx + a.heart.dx;
  const hrx = a.heart.rx * mods.heartScale;
  const hry = a.heart.ry * (0.85 + 0.15 * mods.heartScale);
  const kr = a.knob.r * mods.knobScale;
  for (let y = 0; y < H; y++) {
    const v = (y + 0.5) / H;
    // Trunk: neck, sloping shoulders, chest wall.
    const sh = smooth01((v - 0.01) / 0.09);
    const half = 0.085 + (a.bodyHalf - 0.085) * sh;
    const row = lungRow(a, v);
    for (let x = 0; x < W; x++) {
      const u = (x + 0.5) / W;
      const du = u - a.cx;
      const ad = Math.abs(du);
      let val = 0;
      if (ad < half + 2 * px) {
        const q = Math.min(1, ad / half);
        // Thickness through the body, thinner at the edge; the abdomen is denser than the chest.
        val = (0.3 * Math.sqrt(Math.max(0, 1 - q * q)) + 0.22 * smooth01((half - ad) / 0.05)) * a.softTissue;
        val += 0.1 * smooth01((v - a.domeY[0] + 0.02) / 0.08);
        if (ad > half) val *= (half + 2 * px - ad) / (2 * px);
      }
      // Mediastinum and heart, as masks that also push the lungs aside.
      const mh = a.medHalf * (1 + 0.3 * smooth01((v - 0.35) / 0.2));
      let med = v < a.heart.y ? smooth01((mh - ad) / (2 * px)) : 0;
      const hdx = (u - hx) / hrx;
      const hdy = (v - a.heart.y) / hry;
      const ra = (u - (a.cx - 0.045)) / 0.085;
      const rb = (v - (a.heart.y - 0.005)) / 0.1;
      const h1 = 1 - (hdx * hdx + hdy * hdy);
      const h2 = 1 - (ra * ra + rb * rb);
      // The heart rests on the diaphragm: below the domes it merges with the abdomen.
      const heart = smooth01(Math.max(h1, h2) * 18) * (1 - smooth01((v - a.domeY[1] + 0.01) / 0.04));
      const kx = (u - (a.cx + a.knob.dx * (0.9 + 0.1 * mods.knobScale))) / kr;
      const ky = (v - a.knob.y) / (kr * 1.1);
      const knob = smooth01((1 - (kx * kx + ky * ky)) * 10);
      med = Math.max(med, heart, knob);
      val += 0.06 * med + 0.015 * heart;
      // Lungs.
      let lm = 0;
      if (row !== null && ad > row.med - 2 * px && ad < row.lat + 2 * px) {
        const side = du < 0 ? -1 : 1;
        const dy = diaphragmY(a, side, ad) - v;
        if (dy > -2 * px) {
          const edge = Math.min(ad - row.med, row.lat - ad, dy) / (1.5 * px);
          lm = smooth01(0.5 + 0.5 * edge) * (1 - med);
          const span = Math.max(1e-3, row.lat - row.med);
          const thick = 0.55 + 0.45 * Math.sin((Math.PI * (ad - row.med)) / span);
          lm *= thick * smooth01((v - a.apexY) / 0.06 + 0.3);
        }
      }
      lung[y * W + x] = lm;
      d[y * W + x] = val;
    }
  }
  drawSpine(c, a);
  drawRibs(c, a);
  drawClavicles(c, a);
  if (a.view === 'AP') drawScapulae(c, a);
  // Shoulders: humeral heads at the upper corners.
  for (const s of [-1, 1]) addEllipse(c, (a.cx + s * (a.bodyHalf + 0.01)) * W, 0.15 * H, 0.06 * W, 0.075 * H, 0.2, 0.4);
  if (a.female) for (const s of [-1, 1]) addEllipse(c, (a.cx + s * 0.22) * W, 0.76 * H, 0.19 * W, 0.12 * H, 0.07, 0.6);
  // Gastric bubble under the left hemidiaphragm; trachea and main bronchi as air columns.
  addEllipse(c, (a.cx + 0.17) * W, (a.domeY[1] + 0.055) * H, 0.045 * W, 0.028 * H, -0.14, 0.5);
  addSegment(c, a.cx * W, 0, a.cx * W, 0.3 * H, 0.012 * W, -0.13);
  for (const s of [-1, 1]) addSegment(c, a.cx * W, 0.3 * H, (a.cx + s * 0.065) * W, 0.37 * H, 0.008 * W, -0.08);
  const markings = drawMarkings(W, H, a, rng);
  return { canvas: c, lung, markings, anatomy: a };
}

function drawSpine(c: Canvas, a: Anatomy): void {
  const W = c.width;
  const H = c.height;
  addSegment(c, a.cx * W, 0, a.cx * W, H, 0.034 * W, 0.035);
  // Pedicles and endplates give the column its segmented look.
  for (let v = 0.05; v < 1; v += 0.047) {
    for (const s of [-1, 1]) addEllipse(c, (a.cx + s * 0.022) * W, v * H, 0.007 * W, 0.01 * H, 0.03);
    addSegment(c, (a.cx - 0.03) * W, (v + 0.022) * H, (a.cx + 0.03) * W, (v + 0.022) * H, 0.004 * H, -0.03);
  }
}

function drawRibs(c: Canvas, a: Anatomy): void {
  const W = c.width;
  const H = c.height;
  const centre = new Float32Array(W);
  const half = new Float32Array(W);
  for (const s of [-1, 1] as const) {
    // Posterior ribs: from the spine, up a little, then curving down to the chest wall.
    for (let i = 0; i < 10; i++) {
      const v0 = a.apexY + 0.02 + i * a.ribSpacing;
      const end = a.latMax + 0.05;
      for (let x = 0; x < W; x++) {
        const dd = s * ((x + 0.5) / W - a.cx);
        centre[x] = (v0 - 0.2 * dd + 1.4 * dd * dd) * H;
        half[x] = dd > 0.025 && dd < end ? (0.009 + 0.006 * (dd / end)) * H : 0;
      }
      addBand(c, 0, W - 1, centre, half, 0.075, 0.55);
    }
    // Anterior ribs: fainter, running down and in from the chest wall.
    for (let i = 0; i < 6; i++) {
      const vLat = a.apexY + 0.02 + (i + 0.5) * a.ribSpacing * 1.15;
      const end = a.latMax + 0.03;
      for (let x = 0; x < W; x++) {
        const dd = s * ((x + 0.5) / W - a.cx);
        centre[x] = (vLat + 0.5 * (end - dd) - 0.6 * (end - dd) ** 2) * H;
        half[x] = dd > 0.12 && dd < end ? 0.011 * H : 0;
      }
      addBand(c, 0, W - 1, centre, half, 0.035, 0.3);
    }
  }
}

function drawClavicles(c: Canvas, a: Anatomy): void {
  const W = c.width;
  const H = c.height;
  const centre = new Float32Array(W);
  const half = new Float32Array(W);
  for (const s of [-1, 1] as const) {
    for (let x = 0; x < W; x++) {
      const dd = s * ((x + 0.5) / W - a.cx);
      // On AP films the beam's angle projects the clavicles higher and flatter, over the apices.
      centre[x] = (a.view === 'AP' ? a.apexY + 0.06 - 0.25 * dd + 0.35 * dd * dd : a.apexY + 0.1 - 0.45 * dd + 0.5 * dd * dd) * H;
      half[x] = dd > 0.035 && dd < 0.36 ? (0.011 + 0.004 * Math.abs(dd - 0.2) / 0.2) * H : 0;
    }
    addBand(c, 0, W - 1, centre, half, 0.15, 0.5);
  }
}

/**
 * The scapulae of an AP film: without the PA stance's shoulders-forward position they overlap the upper
 * lateral lung fields; a faint plate with a brighter medial border.
 */
function drawScapulae(c: Canvas, a: Anatomy): void {
  const W = c.width;
  const H = c.height;
  for (const s of [-1, 1] as const) {
    const x0 = a.cx + s * (a.latMax + 0.04);
    const xb = a.cx + s * (a.latMax - 0.09);
    addEllipse(c, ((x0 + xb) / 2) * W, (a.apexY + 0.17) * H, 0.07 * W, 0.14 * H, 0.035, 1, s * 0.25);
    addSegment(c, (a.cx + s * (a.latMax - 0.04)) * W, (a.apexY + 0.05) * H, xb * W, (a.apexY + 0.3) * H, 0.006 * W, 0.05);
  }
}

/** Pulmonary vessels: branching trees from each hilum, thinning towards the periphery. */
function drawMarkings(W: number, H: number, a: Anatomy, rng: Rng): Float32Array {
  const m = makeCanvas(W, H);
  const scale = Math.max(W, H);
  for (const s of [-1, 1] as const) {
    const hxp = (a.cx + s * 0.085) * W;
    const hyp = 0.42 * H;
    addEllipse(m, hxp, hyp, 0.03 * W, 0.05 * H, 0.08, 1.5);
    const stack: [number, number, number, number, number][] = [];
    for (let k = 0; k < 7; k++) {
      const ang = (s > 0 ? 0 : Math.PI) - s * (-1.3 + (2.6 * (k + rng.next() * 0.6)) / 7);
      stack.push([hxp + s * 0.01 * scale * rng.next(), hyp + 0.03 * scale * (rng.next() - 0.5), ang, 0.07 * scale, 0.007 * scale]);
    }
    while (stack.length) {
      const [x, y, ang, len, w] = stack.pop()!;
      const x2 = x + Math.cos(ang) * len;
      const y2 = y + Math.sin(ang) * len;
      addSegment(m, x, y, x2, y2, w, 0.06);
      if (w > 0.0016 * scale && len > 0.01 * scale) {
        for (const turn of [-0.35, 0.35]) stack.push([x2, y2, ang + turn + 0.3 * (rng.next() - 0.5), len * 0.72, w * 0.7]);
      }
    }
  }
  // Vessels are soft-edged tubes seen end-on and obliquely, not wires.
  boxBlur(m, Math.max(1, Math.round(scale * 0.003)), 1);
  // Fine interstitial texture so the lungs are not flat.
  const tex = valueNoise(W, H, Math.max(2, scale / 60), rng);
  for (let i = 0; i < m.data.length; i++) m.data[i]! += 0.02 * tex[i]!;
  return m.data;
}

/** Adds the lungs (air, scaled by the edited mask) and their markings to the canvas. */
export function composeLungs(chest: DrawnChest, erase: Float32Array | null): void {
  const { canvas, lung, markings, anatomy } = chest;
  const d = canvas.data;
  for (let i = 0; i < d.length; i++) {
    const l = lung[i]!;
    if (l <= 0) continue;
    const keep = erase === null ? 1 : 1 - erase[i]!;
    d[i]! += -anatomy.lungAir * l + markings[i]! * Math.min(1, l * 1.6) * keep - (erase === null ? 0 : 0.08 * erase[i]! * l);
  }
}
