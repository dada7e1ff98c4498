/**
 * Side-by-side greyscale panels with optional boxes: the pictures of the notebooks' "method on one
 * batch" sections (an image and its two views, anchors and their matches, channels of a layer).
 */
import { baseLayout, type Figure } from './figure.js';
import type { BoxOverlay } from './wbf.js';

/** One panel: `[height * width]` row-major values (shown min–max) and boxes in the same pixels. */
export interface ImagePanel {
  title: string;
  pixels: ArrayLike<number>;
  width: number;
  height: number;
  boxes?: readonly BoxOverlay[];
  /** Plotly colour scale name (default 'Greys', dark = low). */
  colorscale?: string;
}

/**
 * A row-major grid of image panels, `cols` per row, each with its title above it; every box colour
 * is explained once in the legend.
 *
 * @example
 * imagePanelsFigure([{ title: 'a', pixels: [0, 1, 1, 0], width: 2, height: 2 }], { title: 'one panel' });
 */
export function imagePanelsFigure(
  panels: readonly ImagePanel[],
  opts: { title: string; cols?: number; cellSize?: number },
): Figure {
  const cols = Math.min(opts.cols ?? panels.length, Math.max(1, panels.length));
  const rows = Math.max(1, Math.ceil(panels.length / cols));
  const cell = opts.cellSize ?? 260;
  const data: Figure['data'] = [];
  const shapes: NonNullable<Figure['layout']['shapes']> = [];
  const annotations: NonNullable<Figure['layout']['annotations']> = [];
  const axes: Record<string, unknown> = {};
  const legend = new Map<string, BoxOverlay>();
  panels.forEach((p, i) => {
    const k = i + 1;
    const [r, c] = [Math.floor(i / cols), i % cols];
    const xd = [c / cols + 0.01, (c + 1) / cols - 0.01];
    const yd = [1 - (r + 1) / rows + 0.02, 1 - r / rows - 0.06 / rows];
    const z: number[][] = [];
    for (let y = 0; y < p.height; y++)
      z.push(Array.from({ length: p.width }, (_, x) => p.pixels[y * p.width + x]!));
    data.push({
      type: 'heatmap',
      z,
      colorscale: p.colorscale ?? 'Greys',
      showscale: false,
      hoverinfo: 'skip',
      xaxis: `x${k}`,
      yaxis: `y${k}`,
    } as Figure['data'][number]);
    axes[`xaxis${k}`] = { domain: xd, visible: false, range: [-0.5, p.width - 0.5] };
    axes[`yaxis${k}`] = { domain: yd, visible: false, range: [p.height - 0.5, -0.5], scaleanchor: `x${k}` };
    for (const b of p.boxes ?? []) {
      if (!legend.has(b.label)) legend.set(b.label, b);
      shapes.push({
        type: 'rect',
        xref: `x${k}`,
        yref: `y${k}`,
        x0: b.box[0],
        y0: b.box[1],
        x1: b.box[2],
        y1: b.box[3],
        line: { color: b.color, width: b.width ?? 1.5, dash: b.dash ?? 'solid' },
      } as never);
    }
    annotations.push({
      text: p.title,
      xref: 'paper',
      yref: 'paper',
      x: (xd[0]! + xd[1]!) / 2,
      y: yd[1]!,
      xanchor: 'center',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 12 },
    });
  });
  for (const b of legend.values()) {
    data.push({
      type: 'scatter',
      mode: 'lines',
      x: [null],
      y: [null],
      name: b.label,
      line: { color: b.color, dash: b.dash ?? 'solid', width: b.width ?? 1.5 },
    });
  }
  return {
    data,
    layout: {
      ...baseLayout(opts.title, { margin: { l: 10, r: 10, t: 70, b: 10 }, shapes, annotations }),
      ...axes,
      width: cell * cols + (legend.size > 0 ? 200 : 20),
      height: cell * rows + 80,
      showlegend: legend.size > 0,
    },
  };
}
