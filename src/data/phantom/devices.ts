/**
 * Support devices that real films show and no reader boxes: ECG electrodes with their lead wires. NIH
 * ChestX-ray14 holds many portable AP films from wards and intensive care, where monitoring leads are
 * the rule; on standing PA films they are rare. Drawn on the patient, before positioning.
 */
import type { Rng } from '../../rng.js';
import type { DrawnChest } from './anatomy.js';
import { addEllipse, addSegment } from './canvas.js';

/** Share of films with ECG leads: most portable AP films, few PA films (outpatients, standing). */
export const ECG_LEADS = { AP: 0.5, PA: 0.05 } as const;

/**
 * Three to five snap electrodes (small dense discs with a bright centre) at the usual chest positions
 * (below the clavicles, lower chest wall), each with a thin wire curving off towards the nearest side of
 * the film.
 */
export function drawEcgLeads(chest: DrawnChest, rng: Rng): void {
  const { canvas: c, anatomy: a } = chest;
  if (rng.next() >= ECG_LEADS[a.view]) return;
  const W = c.width;
  const H = c.height;
  const S = Math.max(W, H);
  // Right and left infraclavicular, left and right lower chest, and sometimes a precordial one.
  const sites: [number, number][] = [
    [-0.22, a.apexY + 0.12],
    [0.22, a.apexY + 0.12],
    [0.24, a.cpY - 0.02],
    [-0.24, a.cpY - 0.02],
    [0.1, a.heart.y - 0.02],
  ];
  const n = 3 + rng.int(3);
  for (let k = 0; k < n; k++) {
    const [du, v] = sites[k]!;
    const x = (a.cx + du + rng.uniform(-0.03, 0.03)) * W;
    const y = (v + rng.uniform(-0.03, 0.03)) * H;
    const r = rng.uniform(0.012, 0.016) * S;
    addEllipse(c, x, y, r, r, 0.12, 0.3);
    addEllipse(c, x, y, r * 0.35, r * 0.35, 0.35, 0.3);
    // The wire: two segments bending out to the nearer side edge.
    const side = du < 0 ? -1 : 1;
    const mx = x + side * rng.uniform(0.08, 0.16) * W;
    const my = y + rng.uniform(-0.08, 0.08) * H;
    const ex = side < 0 ? 0 : W;
    const ey = my + rng.uniform(-0.15, 0.15) * H;
    addSegment(c, x, y, mx, my, 0.0025 * S, 0.18);
    addSegment(c, mx, my, ex, ey, 0.0025 * S, 0.18);
  }
}
