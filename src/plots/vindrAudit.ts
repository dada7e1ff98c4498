/** Figures of the VinDr part of the data audit (notebook 01). */
import type { ClassCounts, ClassExample, ImageStats } from '../data/vindrAudit.js';
import { baseLayout, PALETTE, type Figure } from './figure.js';

/** Reader-level instances per VinDr class (before fusion), with the real set's counts scaled to this size. */
export function vindrClassFigure(d: ClassCounts, opts: { title?: string } = {}): Figure {
  return {
    data: [
      {
        type: 'bar',
        name: `this data set (${d.totalImages} images, ${d.normalImages} normal)`,
        x: d.classes,
        y: d.counts,
        marker: { color: PALETTE[0] },
        text: d.counts.map(String),
        textposition: 'outside',
        cliponaxis: false,
      },
      {
        type: 'scatter',
        mode: 'markers',
        name: 'real VinDr-CXR train, scaled to this total',
        x: d.classes,
        y: d.expected,
        marker: {
          color: PALETTE[1],
          symbol: 'line-ew-open',
          size: 22,
          line: { width: 3, color: PALETTE[1] },
        },
      },
    ],
    layout: baseLayout(opts.title ?? 'VinDr-CXR format — reader-level instances per class (before fusion)', {
      xaxis: { tickangle: -35, automargin: true },
      yaxis: { title: { text: 'boxes (No finding: reader calls)' }, rangemode: 'tozero' },
      legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1.0, yanchor: 'bottom' },
      margin: { l: 70, r: 30, t: 95, b: 120 },
    }),
  };
}

/** Distribution of per-image mean brightness and contrast (std) per acquisition site: the domain gap. */
export function siteStatsFigure(stats: readonly ImageStats[], opts: { title?: string } = {}): Figure {
  const sites = [...new Set(stats.map((s) => s.site))];
  return {
    data: sites.map((site, i) => ({
      type: 'scatter',
      mode: 'markers',
      name: site,
      x: stats.filter((s) => s.site === site).map((s) => s.mean),
      y: stats.filter((s) => s.site === site).map((s) => s.std),
      marker: { color: PALETTE[i % PALETTE.length], size: 6, opacity: 0.7 },
    })),
    layout: baseLayout(opts.title ?? 'Pixel statistics per site: each point is one image', {
      xaxis: { title: { text: 'mean brightness (0 = black, 1 = white)' } },
      yaxis: { title: { text: 'contrast (std of brightness)' } },
    }),
  };
}

/**
 * A gallery: one thumbnail per class with that class's reader boxes drawn on it ([x1, y1, x2, y2]
 * in thumbnail pixels). Images are greyscale heatmaps so the figure stays a plain Plotly object.
 */
export function classExamplesFigure(
  examples: readonly ClassExample[],
  opts: { cols?: number; title?: string } = {},
): Figure {
  const cols = opts.cols ?? 5;
  const rows = Math.max(1, Math.ceil(examples.length / cols));
  const data: Figure['data'] = [];
  const shapes: NonNullable<Figure['layout']['shapes']> = [];
  const annotations: NonNullable<Figure['layout']['annotations']> = [];
  const layout: Record<string, unknown> = {};
  const gap = 0.02;
  examples.forEach((ex, i) => {
    const k = i + 1;
    const r = Math.floor(i / cols);
    const c = i % cols;
    const xd = [c / cols + gap / 2, (c + 1) / cols - gap / 2];
    const yd = [1 - (r + 1) / rows + gap * 2, 1 - r / rows - gap * 1.5];
    const z: number[][] = [];
    for (let y = 0; y < ex.height; y++) z.push(ex.pixels.slice(y * ex.width, (y + 1) * ex.width));
    data.push({
      type: 'heatmap',
      z,
      colorscale: [
        [0, 'black'],
        [1, 'white'],
      ],
      zmin: 0,
      zmax: 255,
      showscale: false,
      hoverinfo: 'skip',
      xaxis: `x${k}`,
      yaxis: `y${k}`,
    } as Figure['data'][number]);
    layout[`xaxis${k}`] = { domain: xd, visible: false, range: [-0.5, ex.width - 0.5] };
    layout[`yaxis${k}`] = {
      domain: yd,
      visible: false,
      range: [ex.height - 0.5, -0.5],
      scaleanchor: `x${k}`,
    };
    for (const b of ex.boxes)
      shapes.push({
        type: 'rect',
        xref: `x${k}`,
        yref: `y${k}`,
        x0: b.box[0] - 0.5,
        y0: b.box[1] - 0.5,
        x1: b.box[2] - 0.5,
        y1: b.box[3] - 0.5,
        line: { color: PALETTE[(Number(b.readerId.replace(/\D/g, '')) || 0) % PALETTE.length], width: 1.5 },
      } as never);
    annotations.push({
      text: `${ex.classId} ${ex.title}`,
      xref: 'paper',
      yref: 'paper',
      x: (xd[0]! + xd[1]!) / 2,
      y: yd[1]! + 0.005,
      xanchor: 'center',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 11 },
    });
  });
  return {
    data,
    layout: {
      ...baseLayout(opts.title ?? "One image per class, each reader's boxes in its own colour", {
        margin: { l: 10, r: 10, t: 60, b: 10 },
        shapes,
        annotations,
      }),
      ...layout,
      height: 250 * rows + 60,
    },
  };
}
