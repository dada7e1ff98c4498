/** Figures of the pretraining notebook (03). */
import { baseLayout, PALETTE, type Figure } from './figure.js';

export interface LossCurve {
  name: string;
  points: readonly { step: number; loss: number }[];
}

/** Loss against step, one line per run (raw points faint, a moving average bold). */
export function lossCurvesFigure(
  curves: readonly LossCurve[],
  opts: { title: string; yTitle?: string; window?: number },
): Figure {
  const w = opts.window ?? 10;
  return {
    data: curves.flatMap((c, i) => {
      const ys = c.points.map((p) => p.loss);
      const smooth = ys.map((_, k) => {
        const lo = Math.max(0, k - w + 1);
        const part = ys.slice(lo, k + 1);
        return part.reduce((s, v) => s + v, 0) / part.length;
      });
      const color = PALETTE[i % PALETTE.length];
      const x = c.points.map((p) => p.step + 1);
      return [
        {
          type: 'scatter' as const,
          mode: 'lines' as const,
          x,
          y: ys,
          name: `${c.name} (per step)`,
          line: { color, width: 1 },
          opacity: 0.3,
          showlegend: false,
        },
        {
          type: 'scatter' as const,
          mode: 'lines' as const,
          x,
          y: smooth,
          name: c.name,
          line: { color, width: 2.5 },
        },
      ];
    }),
    layout: baseLayout(opts.title, {
      xaxis: { title: { text: 'step' } },
      yaxis: { title: { text: opts.yTitle ?? 'loss' } },
      legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
      margin: { l: 70, r: 30, t: 95, b: 60 },
    }),
  };
}

/** Curves of a measurement taken every few steps (e.g. mean C_ii, kNN accuracy), with an optional dashed reference line. */
export function metricCurvesFigure(
  curves: readonly { name: string; points: readonly { step: number; value: number | null }[] }[],
  opts: { title: string; yTitle: string; reference?: { value: number; name: string } },
): Figure {
  const data: Figure['data'] = curves.map((c, i) => {
    const pts = c.points.filter((p) => p.value !== null && Number.isFinite(p.value));
    return {
      type: 'scatter' as const,
      mode: 'lines+markers' as const,
      x: pts.map((p) => p.step),
      y: pts.map((p) => p.value!),
      name: c.name,
      line: { color: PALETTE[i % PALETTE.length], width: 2.5 },
    };
  });
  if (opts.reference) {
    const steps = curves.flatMap((c) => c.points.map((p) => p.step));
    data.push({
      type: 'scatter' as const,
      mode: 'lines' as const,
      x: [Math.min(...steps), Math.max(...steps)],
      y: [opts.reference.value, opts.reference.value],
      name: opts.reference.name,
      line: { color: '#888', width: 1.5, dash: 'dash' },
    });
  }
  return {
    data,
    layout: baseLayout(opts.title, {
      xaxis: { title: { text: 'step' } },
      yaxis: { title: { text: opts.yTitle } },
      legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
      margin: { l: 70, r: 30, t: 95, b: 60 },
    }),
  };
}

/**
 * Cross-correlation matrices side by side (e.g. before and after training), on a fixed −1…1 colour
 * scale: Barlow Twins drives C towards the identity.
 */
export function correlationMatricesFigure(
  panels: readonly { title: string; block: number[][] }[],
  opts: { title: string },
): Figure {
  const n = panels.length;
  const gap = 0.06;
  const width = (1 - gap * (n - 1)) / n;
  const layout = baseLayout(opts.title, {
    width: 360 * n + 120,
    height: 460,
    margin: { l: 40, r: 40, t: 90, b: 40 },
  }) as Record<string, unknown>;
  const data = panels.map((p, i) => {
    const suffix = i === 0 ? '' : String(i + 1);
    layout[`xaxis${suffix}`] = {
      domain: [i * (width + gap), i * (width + gap) + width],
      showticklabels: false,
      title: { text: p.title },
    };
    layout[`yaxis${suffix}`] = { autorange: 'reversed', showticklabels: false, scaleanchor: `x${suffix}` };
    return {
      type: 'heatmap' as const,
      z: p.block,
      zmin: -1,
      zmax: 1,
      colorscale: 'RdBu',
      reversescale: true,
      showscale: i === n - 1,
      xaxis: `x${suffix}`,
      yaxis: `y${suffix}`,
    };
  });
  return { data, layout: layout as Figure['layout'] };
}
