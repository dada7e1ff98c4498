/**
 * Acquisition sites. The same anatomy looks different through two departments' equipment: the
 * NIH-like source (digitised, softer, lower contrast, 8-bit) and the VinDr-like target (direct
 * digital, sharper, noisier, collimated, stored at 12–16 bits). That gap is the domain shift the
 * paper's cross-domain pretraining is about.
 */
import type { Rng } from '../../rng.js';
import { boxBlur, valueNoise, type Canvas } from './canvas.js';

export type SiteName = 'nih' | 'vindr';

/** How a site turns attenuation into brightness. Lengths are fractions of the image side. */
export interface Site {
  name: SiteName;
  /** Film/detector characteristic: brightness = (1 - exp(-k·A)) normalised; higher k = harder contrast. */
  k: [number, number];
  /** Exposure: offset added to attenuation before the curve (under/over-exposed films). */
  exposure: [number, number];
  /** Blur radius as a fraction of the side (focal spot, scanner, downsampling). */
  blur: number;
  /** White-noise sd in brightness units and low-frequency mottle amplitude. */
  noise: number;
  mottle: number;
  /** Probability that collimator edges show (unexposed borders). */
  collimation: number;
  /** Share of AP (portable) films when the caller does not give the view. */
  apShare: number;
}

/**
 * Per-film exposure and contrast spreads: NIH's PNGs were each windowed on export from films of many
 * machines and techniques (portable and standing), so their brightness and contrast differ visibly from
 * film to film; the ranges below (exposure ±0.1, k 1.2–2.2) are our estimate, not a measurement on NIH.
 * VinDr keeps its raw detector values (the DICOM window is applied on reading), a narrower spread. AP
 * share: NIH's CSV says 44,810 of 112,120 films are AP (40 %; the NIH phantom writes each film's view in
 * its CSV and renders that view); VinDr publishes no view positions, 10 % is an assumption.
 */
export const SITES: Readonly<Record<SiteName, Site>> = {
  nih: { name: 'nih', k: [1.2, 2.2], exposure: [-0.1, 0.1], blur: 0.006, noise: 0.012, mottle: 0.025, collimation: 0.05, apShare: 0.4 },
  vindr: { name: 'vindr', k: [1.9, 2.6], exposure: [-0.1, 0.02], blur: 0.0015, noise: 0.022, mottle: 0.01, collimation: 0.55, apShare: 0.1 },
};

/**
 * Exposes the film: blur, characteristic curve, noise, collimation and a side marker. Returns
 * brightness in [0, 1] (1 = white = dense), row-major, same size as the canvas.
 */
export function acquire(c: Canvas, site: Site, rng: Rng): Float32Array {
  const { width: W, height: H } = c;
  const side = Math.max(W, H);
  boxBlur(c, Math.round(site.blur * side));
  const k = rng.uniform(site.k[0], site.k[1]);
  const exposure = rng.uniform(site.exposure[0], site.exposure[1]);
  const norm = 1 / (1 - Math.exp(-k * 1.05));
  const mottle = valueNoise(W, H, Math.max(3, side / 12), rng);
  const out = new Float32Array(W * H);
  const d = c.data;
  for (let i = 0; i < out.length; i++) {
    const a = d[i]! + exposure + site.mottle * mottle[i]!;
    let b = (1 - Math.exp(-k * (a > 0 ? a : 0))) * norm;
    // Quantum noise grows with the photon count, which is highest where the film is dark.
    b += site.noise * (0.6 + 0.8 * (1 - b)) * gauss(rng);
    out[i] = b < 0 ? 0 : b > 1 ? 1 : b;
  }
  if (rng.next() < site.collimation) collimate(out, W, H, rng);
  marker(out, W, H, rng);
  return out;
}

// Box–Muller is the hot loop of acquisition; the generator's own normal() does the same thing.
function gauss(rng: Rng): number {
  return rng.normal();
}

/** Unexposed borders left by the collimator blades: bright bands of a few percent on some sides. */
function collimate(b: Float32Array, W: number, H: number, rng: Rng): void {
  const l = Math.floor(rng.uniform(0, 0.06) * W);
  const r = Math.floor(rng.uniform(0, 0.06) * W);
  const t = Math.floor(rng.uniform(0, 0.04) * H);
  const level = rng.uniform(0.85, 0.97);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (x < l || x >= W - r || y < t) b[y * W + x] = level;
    }
  }
}

/** The lead side marker technicians put on the cassette: a small bright "L"-shaped block. */
function marker(b: Float32Array, W: number, H: number, rng: Rng): void {
  if (rng.next() < 0.3) return;
  const s = Math.max(3, Math.round(0.035 * Math.max(W, H)));
  const x0 = Math.floor(rng.uniform(0.78, 0.9) * W);
  const y0 = Math.floor(rng.uniform(0.04, 0.1) * H);
  const th = Math.max(1, Math.round(s / 4));
  for (let y = y0; y < Math.min(H, y0 + s); y++) {
    for (let x = x0; x < Math.min(W, x0 + s); x++) {
      if (x - x0 < th || y0 + s - 1 - y < th) b[y * W + x] = 1;
    }
  }
}
