/**
 * A float canvas and the few drawing primitives the phantom is built from. Every primitive works
 * only inside its own bounding box with plain typed-array loops (no per-pixel closures), which is
 * what keeps generation at hundreds of images per second.
 */
import type { Rng } from '../../rng.js';

/** Row-major float image; values are "attenuation" (0 = air, ~1 = dense bone) until a site maps them. */
export interface Canvas {
  width: number;
  height: number;
  data: Float32Array;
}

export function makeCanvas(width: number, height: number, fill = 0): Canvas {
  const data = new Float32Array(width * height);
  if (fill !== 0) data.fill(fill);
  return { width, height, data };
}

const clampInt = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v | 0);

/**
 * Adds `amp * (1 - d²)^power` inside a rotated ellipse (pixels: centre cx, cy; radii rx, ry; angle in
 * radians). `power` < 1 gives a flat, sharp-edged disc (nodule), > 1 a soft haze (infiltrate).
 * Returns the drawn box [x1, y1, x2, y2] clipped to the canvas.
 */
export function addEllipse(c: Canvas, cx: number, cy: number, rx: number, ry: number, amp: number, power = 1, angle = 0): [number, number, number, number] {
  const r = Math.max(rx, ry);
  const x0 = clampInt(Math.floor(cx - r), 0, c.width - 1);
  const x1 = clampInt(Math.ceil(cx + r), 0, c.width - 1);
  const y0 = clampInt(Math.floor(cy - r), 0, c.height - 1);
  const y1 = clampInt(Math.ceil(cy + r), 0, c.height - 1);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const irx2 = 1 / (rx * rx);
  const iry2 = 1 / (ry * ry);
  const { data, width } = c;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const u = dx * cos + dy * sin;
      const v = -dx * sin + dy * cos;
      const d2 = u * u * irx2 + v * v * iry2;
      if (d2 < 1) data[y * width + x]! += amp * (power === 1 ? 1 - d2 : Math.pow(1 - d2, power));
    }
  }
  const ex = Math.sqrt(rx * rx * cos * cos + ry * ry * sin * sin);
  const ey = Math.sqrt(rx * rx * sin * sin + ry * ry * cos * cos);
  return [Math.max(0, cx - ex), Math.max(0, cy - ey), Math.min(c.width, cx + ex), Math.min(c.height, cy + ey)];
}

/**
 * Adds a thick anti-aliased segment (pixels), `amp` on the axis fading to 0 at `halfWidth`.
 * Used for vessels, fibrotic streaks, pleural lines and plate atelectasis.
 */
export function addSegment(c: Canvas, xa: number, ya: number, xb: number, yb: number, halfWidth: number, amp: number): void {
  const pad = halfWidth + 1;
  const x0 = clampInt(Math.floor(Math.min(xa, xb) - pad), 0, c.width - 1);
  const x1 = clampInt(Math.ceil(Math.max(xa, xb) + pad), 0, c.width - 1);
  const y0 = clampInt(Math.floor(Math.min(ya, yb) - pad), 0, c.height - 1);
  const y1 = clampInt(Math.ceil(Math.max(ya, yb) + pad), 0, c.height - 1);
  const dx = xb - xa;
  const dy = yb - ya;
  const len2 = dx * dx + dy * dy || 1e-9;
  // Thin lines still leave a trace: widen to half a pixel and lower the amplitude instead.
  const hw = Math.max(halfWidth, 0.6);
  const a = amp * Math.min(1, halfWidth / 0.6);
  const { data, width } = c;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5 - ya;
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5 - xa;
      let t = (px * dx + py * dy) / len2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - t * dx;
      const ey = py - t * dy;
      const d = Math.sqrt(ex * ex + ey * ey) / hw;
      if (d < 1) data[y * width + x]! += a * (1 - d * d);
    }
  }
}

/**
 * Adds a curved band y = centre(x) ± half(x) over columns [xFrom, xTo] (pixels): ribs and clavicles.
 * `cortex` in [0, 1] brightens the band's edges, as cortical bone does on a radiograph.
 */
export function addBand(c: Canvas, xFrom: number, xTo: number, centre: Float32Array, half: Float32Array, amp: number, cortex: number): void {
  const { data, width, height } = c;
  const xa = clampInt(Math.floor(Math.min(xFrom, xTo)), 0, width - 1);
  const xb = clampInt(Math.ceil(Math.max(xFrom, xTo)), 0, width - 1);
  for (let x = xa; x <= xb; x++) {
    const yc = centre[x]!;
    const h = half[x]!;
    if (!(h > 0)) continue;
    const y0 = clampInt(Math.floor(yc - h - 1), 0, height - 1);
    const y1 = clampInt(Math.ceil(yc + h + 1), 0, height - 1);
    for (let y = y0; y <= y1; y++) {
      const t = Math.abs(y + 0.5 - yc) / h;
      if (t >= 1.15) continue;
      // Soft 15 % rim so the band is anti-aliased; bright cortex near t = 1.
      const edge = t > 1 ? (1.15 - t) / 0.15 : 1;
      const t4 = t * t * t * t;
      data[y * width + x]! += amp * edge * (1 - cortex + cortex * 1.6 * Math.min(1, t4 + 0.2));
    }
  }
}

/**
 * Smooth value noise in [-1, 1]: random values on a grid of `cell` pixels, bilinearly interpolated
 * with a smoothstep. Film mottle, reticular and nodular textures are made from it.
 */
export function valueNoise(width: number, height: number, cell: number, rng: Rng): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = 2 * rng.next() - 1;
  const out = new Float32Array(width * height);
  const inv = 1 / cell;
  const fx = new Float32Array(width);
  const ix = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    const g = x * inv;
    ix[x] = Math.floor(g);
    const f = g - ix[x]!;
    fx[x] = f * f * (3 - 2 * f);
  }
  for (let y = 0; y < height; y++) {
    const g = y * inv;
    const iy = Math.floor(g);
    let fy = g - iy;
    fy = fy * fy * (3 - 2 * fy);
    const r0 = iy * gw;
    const r1 = r0 + gw;
    for (let x = 0; x < width; x++) {
      const i = ix[x]!;
      const a = grid[r0 + i]! + (grid[r0 + i + 1]! - grid[r0 + i]!) * fx[x]!;
      const b = grid[r1 + i]! + (grid[r1 + i + 1]! - grid[r1 + i]!) * fx[x]!;
      out[y * width + x] = a + (b - a) * fy;
    }
  }
  return out;
}

/** Separable box blur of radius `r` pixels (applied `passes` times ≈ Gaussian), in place. */
export function boxBlur(c: Canvas, r: number, passes = 2): void {
  if (r < 1) return;
  const { width, height, data } = c;
  const tmp = new Float32Array(Math.max(width, height));
  const norm = 1 / (2 * r + 1);
  for (let p = 0; p < passes; p++) {
    for (let y = 0; y < height; y++) blurLine(data, y * width, 1, width, r, norm, tmp);
    for (let x = 0; x < width; x++) blurLine(data, x, width, height, r, norm, tmp);
  }
}

function blurLine(data: Float32Array, start: number, stride: number, n: number, r: number, norm: number, tmp: Float32Array): void {
  for (let i = 0; i < n; i++) tmp[i] = data[start + i * stride]!;
  let acc = 0;
  // Edges are clamped so the border does not darken.
  for (let k = -r; k <= r; k++) acc += tmp[Math.min(n - 1, Math.max(0, k))]!;
  for (let i = 0; i < n; i++) {
    data[start + i * stride] = acc * norm;
    acc += tmp[Math.min(n - 1, i + r + 1)]! - tmp[Math.max(0, i - r)]!;
  }
}
