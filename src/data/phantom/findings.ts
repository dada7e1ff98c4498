/**
 * Findings of the phantom: how often each occurs (shaped like VinDr-CXR and NIH ChestX-ray14) and
 * how each looks and where it sits on a frontal film. Boxes are [x1, y1, x2, y2] in pixels.
 */
import type { Rng } from '../../rng.js';
import type { NihLabel } from '../labels.js';
import { diaphragmY, lungRow, type Anatomy, type DrawnChest } from './anatomy.js';
import { addEllipse, addSegment, valueNoise } from './canvas.js';

export type FindingKind =
  | 'aortic' | 'atelectasis' | 'calcification' | 'cardiomegaly' | 'consolidation' | 'ild' | 'infiltration' | 'opacity'
  | 'nodule' | 'mass' | 'other' | 'effusion' | 'thickening' | 'pneumothorax' | 'fibrosis'
  | 'edema' | 'emphysema' | 'hernia' | 'pneumonia';

export type Box = [number, number, number, number];

/** A drawn finding: what it is and the box a perfect reader would draw around it. */
export interface FindingInstance {
  kind: FindingKind;
  box: Box;
}

/** VinDr class id (0–13) → the appearance drawn for it. Nodule/Mass is a nodule or, one time in three, a mass. */
export const VINDR_KIND: readonly FindingKind[] = ['aortic', 'atelectasis', 'calcification', 'cardiomegaly', 'consolidation', 'ild', 'infiltration', 'opacity', 'nodule', 'other', 'effusion', 'thickening', 'pneumothorax', 'fibrosis'];

/** NIH label → appearance. */
export const NIH_KIND: Readonly<Record<Exclude<NihLabel, 'No Finding'>, FindingKind>> = {
  Atelectasis: 'atelectasis', Cardiomegaly: 'cardiomegaly', Effusion: 'effusion', Infiltration: 'infiltration', Mass: 'mass', Nodule: 'nodule',
  Pneumonia: 'pneumonia', Pneumothorax: 'pneumothorax', Consolidation: 'consolidation', Edema: 'edema', Emphysema: 'emphysema',
  Fibrosis: 'fibrosis', Pleural_Thickening: 'thickening', Hernia: 'hernia',
};

/** Share of VinDr-CXR training images read as normal by all readers: 10,606 of 15,000. */
export const VINDR_P_NORMAL = 10606 / 15000;

// Per abnormal image: probability that a class is present and mean instances when it is. Derived from
// the reader-level box counts (docs/ARCHITECTURE.md, "The embedded data set") divided by 3 readers × 4,394 abnormal images × ~0.85 recall.
const VINDR_PRESENCE: readonly [number, number][] = [
  [0.62, 1], [0.023, 1.1], [0.072, 1.2], [0.48, 1], [0.046, 1.1], [0.056, 1.6], [0.093, 1.2], [0.17, 1.3],
  [0.15, 1.5], [0.16, 1.2], [0.18, 1.2], [0.31, 1.4], [0.02, 1], [0.28, 1.5],
];

/** The true findings of one VinDr-like image as class ids (repeats = several instances); [] = normal. */
export function sampleVindrClasses(rng: Rng): number[] {
  if (rng.next() < VINDR_P_NORMAL) return [];
  for (;;) {
    const out: number[] = [];
    VINDR_PRESENCE.forEach(([p, mean], c) => {
      if (rng.next() >= p) return;
      // 1 + Binomial-ish extra instances with the right mean, capped for single-organ findings.
      let n = 1;
      while (n < 4 && rng.next() < (mean - 1) / (mean - 1 + 1 / n)) n++;
      if (c === 0 || c === 3) n = 1;
      for (let i = 0; i < n; i++) out.push(c);
    });
    if (out.length) return out;
  }
}

export interface AnatomyEffects {
  heartScale: number;
  knobScale: number;
  emphysema: boolean;
}

/** Findings that change the anatomy itself rather than being drawn on top of it. */
export function anatomyEffects(kinds: readonly FindingKind[], rng: Rng): AnatomyEffects {
  return {
    heartScale: kinds.includes('cardiomegaly') ? rng.uniform(1.3, 1.5) : kinds.includes('edema') ? 1.15 : 1,
    knobScale: kinds.includes('aortic') ? rng.uniform(1.5, 1.9) : 1,
    emphysema: kinds.includes('emphysema'),
  };
}

const sideOf = (rng: Rng): -1 | 1 => (rng.next() < 0.5 ? -1 : 1);

/** A point inside one lung (pixels) in a vertical zone given as t ∈ [0, 1] from apex to base. */
function lungPoint(a: Anatomy, W: number, H: number, side: -1 | 1, t0: number, t1: number, rng: Rng, lateral: [number, number] = [0.15, 0.85]): [number, number] {
  for (let k = 0; k < 20; k++) {
    const v = a.apexY + (a.cpY - a.apexY) * rng.uniform(t0, t1);
    const row = lungRow(a, v);
    if (!row) continue;
    const d = row.med + (row.lat - row.med) * rng.uniform(lateral[0], lateral[1]);
    if (v < diaphragmY(a, side, d) - 0.03) return [(a.cx + side * d) * W, v * H];
  }
  return [(a.cx + side * 0.2) * W, 0.45 * H];
}

const clipBox = (b: Box, W: number, H: number): Box => [Math.max(0, b[0]), Math.max(0, b[1]), Math.min(W, b[2]), Math.min(H, b[3])];
const union = (a: Box, b: Box): Box => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];

/**
 * Edits the lungs for pleural findings before they are composed (fluid replaces air; a
 * pneumothorax erases lung markings). Returns the boxes and the erase mask (or null).
 */
export function drawPleural(chest: DrawnChest, kinds: readonly FindingKind[], rng: Rng): { found: FindingInstance[]; erase: Float32Array | null } {
  const { canvas, lung, anatomy: a } = chest;
  const { width: W, height: H, data } = canvas;
  const found: FindingInstance[] = [];
  let erase: Float32Array | null = null;
  for (const kind of kinds) {
    if (kind !== 'effusion' && kind !== 'pneumothorax') continue;
    const side = sideOf(rng);
    let box: Box = [W, H, 0, 0];
    if (kind === 'effusion') {
      // Fluid fills the costophrenic angle and climbs the lateral wall: a meniscus.
      const level = a.cpY - rng.uniform(0.06, 0.2);
      for (let y = 0; y < H; y++) {
        const v = (y + 0.5) / H;
        for (let x = 0; x < W; x++) {
          const du = (x + 0.5) / W - a.cx;
          if (du * side <= 0) continue;
          const i = y * W + x;
          const d = Math.abs(du);
          const meniscus = level - 0.12 * Math.max(0, (d - a.latMax * 0.55) / a.latMax);
          const f = Math.max(0, Math.min(1, (v - meniscus) / 0.025));
          if (f <= 0 || lung[i]! <= 0.05) continue;
          data[i]! += 0.2 * f * lung[i]!;
          lung[i] = lung[i]! * (1 - f);
          if (f > 0.5) box = union(box, [x, y, x + 1, y + 1]);
        }
      }
    } else {
      // Air between lung and chest wall: no markings, a thin visceral pleural line at the edge.
      erase ??= new Float32Array(W * H);
      const gap = rng.uniform(0.04, 0.09);
      for (let y = 0; y < H; y++) {
        const v = (y + 0.5) / H;
        const row = lungRow(a, v);
        if (!row) continue;
        const t = (v - a.apexY) / (a.cpY - a.apexY);
        const g = gap * Math.max(0, 1 - t * 1.3);
        if (g <= 0.004) continue;
        const edge = row.lat - g;
        for (let x = 0; x < W; x++) {
          const du = (x + 0.5) / W - a.cx;
          if (du * side <= 0) continue;
          const i = y * W + x;
          const d = Math.abs(du);
          if (lung[i]! <= 0.05) continue;
          if (d > edge) {
            erase[i] = 1;
            box = union(box, [x, y, x + 1, y + 1]);
          } else if (d > edge - 1.2 / W) data[i]! += 0.06;
        }
      }
    }
    if (box[2] > box[0] && box[3] > box[1]) found.push({ kind, box: clipBox(box, W, H) });
  }
  return { found, erase };
}

/** Cardiomegaly and aortic enlargement boxes come from the (already enlarged) anatomy. */
export function anatomyBoxes(chest: DrawnChest, kinds: readonly FindingKind[], fx: AnatomyEffects): FindingInstance[] {
  const a = chest.anatomy;
  const { width: W, height: H } = chest.canvas;
  const out: FindingInstance[] = [];
  if (kinds.includes('cardiomegaly')) {
    const rx = a.heart.rx * fx.heartScale;
    const ry = a.heart.ry * (0.85 + 0.15 * fx.heartScale);
    const x1 = Math.min(a.cx - 0.045 - 0.085, a.cx + a.heart.dx - rx);
    out.push({ kind: 'cardiomegaly', box: clipBox([x1 * W, (a.heart.y - ry * 0.8) * H, (a.cx + a.heart.dx + rx) * W, Math.min(a.heart.y + ry, a.domeY[1] + 0.02) * H], W, H) });
  }
  if (kinds.includes('aortic')) {
    const r = a.knob.r * fx.knobScale;
    const kx = a.cx + a.knob.dx * (0.9 + 0.1 * fx.knobScale);
    out.push({ kind: 'aortic', box: clipBox([(kx - r) * W, (a.knob.y - r * 1.1) * H, (kx + r) * W, (a.knob.y + r * 1.1) * H], W, H) });
  }
  if (kinds.includes('emphysema')) {
    out.push({ kind: 'emphysema', box: clipBox([(a.cx - a.latMax) * W, a.apexY * H, (a.cx + a.latMax) * W, a.cpY * H], W, H) });
  }
  return out;
}

/** Draws the parenchymal and other lesions on top of the composed film. */
export function drawLesions(chest: DrawnChest, kinds: readonly FindingKind[], rng: Rng): FindingInstance[] {
  const { canvas: c, anatomy: a } = chest;
  const { width: W, height: H } = c;
  const S = Math.max(W, H);
  const out: FindingInstance[] = [];
  const push = (kind: FindingKind, b: Box): void => {
    const box = clipBox(b, W, H);
    if (box[2] - box[0] >= 1 && box[3] - box[1] >= 1) out.push({ kind, box });
  };
  for (const kind of kinds) {
    const side = sideOf(rng);
    switch (kind) {
      case 'nodule': {
        const [x, y] = lungPoint(a, W, H, side, 0.15, 0.85, rng);
        const r = rng.uniform(0.012, 0.024) * S;
        push(kind, addEllipse(c, x, y, r, r * rng.uniform(0.85, 1.15), rng.uniform(0.13, 0.2), 0.35));
        break;
      }
      case 'mass': {
        const [x, y] = lungPoint(a, W, H, side, 0.2, 0.75, rng, [0.25, 0.7]);
        const r = rng.uniform(0.035, 0.065) * S;
        let b = addEllipse(c, x, y, r, r * 0.9, 0.2, 0.45);
        for (let k = 0; k < 2; k++) b = union(b, addEllipse(c, x + rng.uniform(-0.5, 0.5) * r, y + rng.uniform(-0.5, 0.5) * r, r * 0.6, r * 0.6, 0.08, 0.6));
        push(kind, b);
        break;
      }
      case 'calcification': {
        const [x, y] = rng.next() < 0.35 ? [(a.cx + a.knob.dx) * W, (a.knob.y - a.knob.r * 0.6) * H] : lungPoint(a, W, H, side, 0.1, 0.8, rng);
        let b: Box = [x, y, x, y];
        const n = 1 + rng.int(4);
        for (let k = 0; k < n; k++) {
          const r = rng.uniform(0.004, 0.009) * S + 0.6;
          b = union(b, addEllipse(c, x + rng.uniform(-1, 1) * 0.015 * S, y + rng.uniform(-1, 1) * 0.015 * S, r, r, 0.45, 0.2));
        }
        push(kind, b);
        break;
      }
      case 'consolidation':
      case 'pneumonia': {
        // Dense, confluent, lobar; air bronchograms show as dark branching lines inside.
        const [x, y] = lungPoint(a, W, H, side, 0.45, 0.9, rng, [0.2, 0.7]);
        const r = rng.uniform(0.05, 0.085) * S;
        const amp = kind === 'pneumonia' ? 0.16 : 0.24;
        let b = addEllipse(c, x, y, r, r * 0.8, amp, kind === 'pneumonia' ? 1.2 : 0.5, rng.uniform(-0.5, 0.5));
        for (let k = 0; k < 3; k++) b = union(b, addEllipse(c, x + rng.uniform(-0.7, 0.7) * r, y + rng.uniform(-0.6, 0.6) * r, r * 0.6, r * 0.5, amp * 0.5, 1));
        for (let k = 0; k < 3; k++) addSegment(c, x - side * r * 0.5, y, x + side * r * rng.uniform(0, 0.6), y + rng.uniform(-0.6, 0.6) * r, 0.004 * S, -0.08);
        push(kind, b);
        break;
      }
      case 'infiltration':
      case 'opacity': {
        const [x, y] = lungPoint(a, W, H, side, 0.25, 0.85, rng);
        const r = rng.uniform(0.04, 0.08) * S;
        let b = addEllipse(c, x, y, r, r * rng.uniform(0.7, 1.1), kind === 'opacity' ? 0.14 : 0.09, 1.8);
        if (kind === 'infiltration') for (let k = 0; k < 4; k++) b = union(b, addEllipse(c, x + rng.uniform(-1, 1) * r, y + rng.uniform(-1, 1) * r, r * 0.45, r * 0.45, 0.07, 1.5));
        push(kind, b);
        break;
      }
      case 'atelectasis': {
        // Plate-like: a thin dense band in a lower zone, roughly horizontal.
        const [x, y] = lungPoint(a, W, H, side, 0.6, 0.85, rng, [0.3, 0.7]);
        const len = rng.uniform(0.05, 0.09) * S;
        const tilt = rng.uniform(-0.25, 0.25);
        const dx = Math.cos(tilt) * len;
        const dy = Math.sin(tilt) * len;
        addSegment(c, x - dx, y - dy, x + dx, y + dy, 0.008 * S, 0.2);
        addEllipse(c, x, y, len, 0.03 * S, 0.05, 1.5, tilt);
        push(kind, [x - Math.abs(dx) - 0.01 * S, y - Math.abs(dy) - 0.02 * S, x + Math.abs(dx) + 0.01 * S, y + Math.abs(dy) + 0.02 * S]);
        break;
      }
      case 'ild':
      case 'fibrosis':
      case 'edema': {
        // Reticulation: the zero crossings of fine noise make a net; ILD and edema sit basally, fibrosis apically.
        const upper = kind === 'fibrosis';
        const sides: (-1 | 1)[] = kind === 'edema' ? [-1, 1] : [side];
        for (const s of sides) {
          const t0 = upper ? 0.02 : 0.5;
          const t1 = upper ? 0.45 : 0.95;
          const [x, y] = kind === 'edema' ? [(a.cx + s * 0.12) * W, 0.45 * H] : lungPoint(a, W, H, s, (t0 + t1) / 2, (t0 + t1) / 2 + 0.05, rng, [0.45, 0.65]);
          const rx = (kind === 'edema' ? 0.12 : rng.uniform(0.07, 0.11)) * S;
          const ry = (upper ? 0.1 : 0.13) * S;
          const b = reticulate(chest, x, y, rx, ry, kind === 'edema' ? 0.06 : 0.13, upper ? 0.012 : 0.008, rng);
          if (kind === 'fibrosis') for (let k = 0; k < 4; k++) addSegment(c, x + rng.uniform(-1, 1) * rx * 0.6, y - ry * 0.6, (a.cx + s * 0.09) * W, 0.42 * H, 0.003 * S, 0.05);
          if (kind === 'edema') addEllipse(c, x, y, rx, ry * 0.8, 0.08, 2);
          push(kind, b);
        }
        break;
      }
      case 'thickening': {
        // Apical cap or a band along the lateral chest wall.
        const apical = rng.next() < 0.5;
        const t = apical ? 0.05 : rng.uniform(0.35, 0.7);
        const v = a.apexY + (a.cpY - a.apexY) * t;
        const row = lungRow(a, v)!;
        const len = (apical ? 0.06 : 0.1) * S;
        const x = (a.cx + side * (apical ? (row.med + row.lat) / 2 : row.lat - 0.008)) * W;
        const y = v * H + (apical ? 0.01 * S : 0);
        const [dx, dy] = apical ? [len, 0] : [0, len];
        addSegment(c, x - dx, y - dy, x + dx, y + dy, 0.008 * S, 0.18);
        push(kind, [x - dx - 0.012 * S, y - dy - 0.012 * S, x + dx + 0.012 * S, y + dy + 0.012 * S]);
        break;
      }
      case 'other': {
        // A dense foreign body (clip, pacemaker lead stub, bullet) or a bony lesion.
        const [x, y] = lungPoint(a, W, H, side, 0.1, 0.9, rng, [0.1, 1]);
        const w = rng.uniform(0.01, 0.03) * S;
        const h = rng.uniform(0.006, 0.02) * S;
        push(kind, addEllipse(c, x, y, w, h, 0.5, 0.1, rng.uniform(0, Math.PI)));
        break;
      }
      case 'hernia': {
        // Hiatus hernia: a retrocardiac gas-and-fluid bubble above the diaphragm.
        const x = (a.cx + 0.03) * W;
        const y = (a.domeY[1] - 0.06) * H;
        const r = 0.045 * S;
        addEllipse(c, x, y - r * 0.3, r, r * 0.5, -0.12, 0.5);
        addEllipse(c, x, y + r * 0.3, r, r * 0.5, 0.06, 0.5);
        push(kind, [x - r, y - r, x + r, y + r]);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

function reticulate(chest: DrawnChest, x: number, y: number, rx: number, ry: number, amp: number, cellFrac: number, rng: Rng): Box {
  const { canvas: c, lung } = chest;
  const { width: W, height: H } = c;
  const x0 = Math.max(0, Math.floor(x - rx));
  const y0 = Math.max(0, Math.floor(y - ry));
  const x1 = Math.min(W - 1, Math.ceil(x + rx));
  const y1 = Math.min(H - 1, Math.ceil(y + ry));
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const noise = valueNoise(bw, bh, Math.max(1.5, cellFrac * Math.max(W, H)), rng);
  for (let yy = y0; yy <= y1; yy++) {
    const ey = (yy + 0.5 - y) / ry;
    for (let xx = x0; xx <= x1; xx++) {
      const ex = (xx + 0.5 - x) / rx;
      const e = 1 - (ex * ex + ey * ey);
      if (e <= 0) continue;
      const n = Math.abs(noise[(yy - y0) * bw + (xx - x0)]!);
      const line = n < 0.18 ? 1 - n / 0.18 : 0;
      c.data[yy * W + xx]! += amp * Math.min(1, 2 * e) * (0.35 + line) * Math.min(1, 1.5 * lung[yy * W + xx]! + 0.2);
    }
  }
  return [x - rx * 0.85, y - ry * 0.85, x + rx * 0.85, y + ry * 0.85];
}
