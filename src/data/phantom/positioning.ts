/**
 * How the patient sits in the frame: a shift, a magnification and an in-plane tilt applied to the drawn
 * chest before exposure. Real films vary in all three (centring by the technician, patient size and
 * source–detector geometry, a slightly rotated stance), which the phantom drew identically before; the
 * finding boxes go through the same map so that they still enclose what was drawn.
 */
import type { Rng } from '../../rng.js';
import type { Canvas } from './canvas.js';
import type { Box } from './findings.js';

/** Frontal projection: PA (standing, detector at the chest) or AP (portable, supine or sitting). */
export type View = 'PA' | 'AP';

/**
 * A similarity map from the drawn (patient) frame to the film: a point q (pixels) lands at
 * centre + scale · R(angle) · (q − centre) + (dx·W, dy·H).
 */
export interface Pose {
  /** Shift as fractions of the width and height. */
  dx: number;
  dy: number;
  /** Magnification of the patient in the frame (1 = as drawn). */
  scale: number;
  /** In-plane tilt, radians (positive = clockwise on the displayed image). */
  angle: number;
}

export const IDENTITY_POSE: Pose = { dx: 0, dy: 0, scale: 1, angle: 0 };

/**
 * One film's positioning. Ranges (each a normal clipped at 2.5 sd): centring off by sd 2.5 % of the width
 * and 3 % of the height (collimated fields on real films show the lung apices and costophrenic angles at
 * visibly different places); magnification sd 5 % (a patient's distance from the detector and the
 * thorax's size against a fixed cassette); tilt sd 1.5° (patients rarely stand perfectly straight). AP
 * portable films are centred worse (twice the shift and tilt spread: bedside, no wall stand).
 */
export function samplePose(rng: Rng, view: View): Pose {
  const n = (s: number): number => s * Math.max(-2.5, Math.min(2.5, rng.normal()));
  const k = view === 'AP' ? 2 : 1;
  return {
    dx: n(0.025 * k),
    dy: n(0.03 * k),
    scale: 1 + n(0.05),
    angle: (n(1.5 * k) * Math.PI) / 180,
  };
}

/** Where the map sends a point of the drawn frame (pixels, continuous coordinates). */
export function posePoint(p: Pose, W: number, H: number, x: number, y: number): [number, number] {
  const cx = W / 2;
  const cy = H / 2;
  const c = Math.cos(p.angle) * p.scale;
  const s = Math.sin(p.angle) * p.scale;
  const u = x - cx;
  const v = y - cy;
  return [cx + c * u - s * v + p.dx * W, cy + s * u + c * v + p.dy * H];
}

/** The axis-aligned box enclosing the mapped box (its four corners), clipped to the film. */
export function poseBox(p: Pose, W: number, H: number, b: Box): Box {
  const pts = [posePoint(p, W, H, b[0], b[1]), posePoint(p, W, H, b[2], b[1]), posePoint(p, W, H, b[0], b[3]), posePoint(p, W, H, b[2], b[3])];
  const xs = pts.map((q) => q[0]);
  const ys = pts.map((q) => q[1]);
  return [Math.max(0, Math.min(...xs)), Math.max(0, Math.min(...ys)), Math.min(W, Math.max(...xs)), Math.min(H, Math.max(...ys))];
}

/**
 * Resamples the canvas in place through the pose (bilinear, pixel centres at +0.5). Beyond the drawn frame
 * the edge is continued (neck above, abdomen below, air at the sides), as a film shows more of the body
 * when the patient is smaller in the frame.
 */
export function warpCanvas(c: Canvas, p: Pose): void {
  if (p.dx === 0 && p.dy === 0 && p.scale === 1 && p.angle === 0) return;
  const { width: W, height: H } = c;
  const src = c.data.slice();
  const out = c.data;
  const cx = W / 2;
  const cy = H / 2;
  // Inverse map: q = centre + R(−angle) · (p − centre − shift) / scale.
  const ic = Math.cos(p.angle) / p.scale;
  const is = Math.sin(p.angle) / p.scale;
  const sx = cx + p.dx * W;
  const sy = cy + p.dy * H;
  for (let y = 0; y < H; y++) {
    const v = y + 0.5 - sy;
    for (let x = 0; x < W; x++) {
      const u = x + 0.5 - sx;
      // Source position in pixel-index space (centres at integers).
      let qx = cx + ic * u + is * v - 0.5;
      let qy = cy - is * u + ic * v - 0.5;
      qx = qx < 0 ? 0 : qx > W - 1 ? W - 1 : qx;
      qy = qy < 0 ? 0 : qy > H - 1 ? H - 1 : qy;
      const x0 = Math.floor(qx);
      const y0 = Math.floor(qy);
      const x1 = x0 + 1 < W ? x0 + 1 : x0;
      const y1 = y0 + 1 < H ? y0 + 1 : y0;
      const fx = qx - x0;
      const fy = qy - y0;
      const a = src[y0 * W + x0]! + (src[y0 * W + x1]! - src[y0 * W + x0]!) * fx;
      const b = src[y1 * W + x0]! + (src[y1 * W + x1]! - src[y1 * W + x0]!) * fx;
      out[y * W + x] = a + (b - a) * fy;
    }
  }
}
