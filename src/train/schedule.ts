/** Learning-rate schedules: a function of the step, so a resumed run picks up the same values. */

/**
 * Linear warm-up from `base * warmupStart` (default 0; MMDetection starts at 0.001) over
 * `warmupSteps`, then cosine decay from `base` to `base * finalFraction` at `totalSteps` (the shape
 * of main.py's Barlow Twins schedule and of the authors' MMDetection detector config).
 */
export function warmupCosine(
  step: number,
  opts: {
    base: number;
    totalSteps: number;
    warmupSteps?: number;
    warmupStart?: number;
    finalFraction?: number;
  },
): number {
  const { base, totalSteps } = opts;
  const warm = opts.warmupSteps ?? 0;
  const start = opts.warmupStart ?? 0;
  const final = base * (opts.finalFraction ?? 0);
  if (!(totalSteps > 0)) throw new Error(`warmupCosine: totalSteps must be positive, got ${totalSteps}`);
  if (step < warm) return start === 0 ? (base * step) / warm : base * (start + ((1 - start) * step) / warm);
  const t = Math.min(1, (step - warm) / Math.max(1, totalSteps - warm));
  return final + (base - final) * 0.5 * (1 + Math.cos(Math.PI * t));
}
