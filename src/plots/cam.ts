/**
 * Figures of the Ablation-CAM notebook (06): a heat map over a radiograph with the ground-truth boxes
 * (solid) and the detected boxes (dashed), and Fig. 5's grid — rows are images, columns backbones.
 */
import type { Annotation, Data, Layout, Shape } from 'plotly.js-dist';
import type { CamLayer } from '../config.js';
import { VINDR_CLASSES } from '../data/labels.js';
import { normaliseInBox, type CamMap } from '../explain/ablationCam.js';
import type { CamImage, LayerLocalisation } from '../explain/camRun.js';
import { baseLayout, type Figure } from './figure.js';
import { imageWithBoxesFigure, type BoxOverlay } from './wbf.js';

/**
 * matplotlib's 'inferno' sampled at 11 stops (Plotly has 'Jet' built in but no inferno). Perceptually
 * uniform and readable in greyscale print, unlike 'Jet', which pytorch-grad-cam's overlays use.
 */
export const INFERNO: [number, string][] = [
  [0, '#000004'],
  [0.1, '#160b39'],
  [0.2, '#420a68'],
  [0.3, '#6a176e'],
  [0.4, '#932667'],
  [0.5, '#bc3754'],
  [0.6, '#dd513a'],
  [0.7, '#f37819'],
  [0.8, '#fca50a'],
  [0.9, '#f6d746'],
  [1, '#fcffa4'],
];

/** Heat-map colours: Plotly's 'Jet' or {@link INFERNO}. */
export type CamColorscale = 'Jet' | 'Inferno';

/** A detected box to draw (dashed), with its class name and score in the legend. */
export interface PredictedBox {
  box: number[];
  label?: string;
  score?: number;
}

/** Shared drawing options of the CAM figures. */
export interface CamStyle {
  colorscale?: CamColorscale;
  /** Heat-map opacity over the image, default 0.45. */
  opacity?: number;
}

const GT_COLOR = '#00e676';
// Lime and magenta stay visible over both colour scales and on the white legend.
const PRED_COLOR = '#ff00ff';

function colorscaleOf(name: CamColorscale | undefined): string | [number, string][] {
  return name === 'Inferno' ? INFERNO : 'Jet';
}

/** `[rows][cols]` from a row-major map, as Plotly's heatmap `z` wants. */
function rowsOf(data: ArrayLike<number>, width: number, height: number): number[][] {
  const z: number[][] = [];
  for (let y = 0; y < height; y++) z.push(Array.from({ length: width }, (_, x) => data[y * width + x]!));
  return z;
}

/**
 * The heat-map trace over an image `width` × `height` pixels: a map of another size is stretched
 * over the same extent (cell centres at (i + 0.5)·scale − 0.5 in image pixel coordinates).
 */
function camTrace(
  cam: CamMap,
  width: number,
  height: number,
  style: CamStyle,
  extra: Record<string, unknown> = {},
): Data {
  const dx = width / cam.width,
    dy = height / cam.height;
  return {
    type: 'heatmap',
    z: rowsOf(cam.data, cam.width, cam.height),
    x0: dx / 2 - 0.5,
    dx,
    y0: dy / 2 - 0.5,
    dy,
    zmin: 0,
    zmax: 1,
    colorscale: colorscaleOf(style.colorscale),
    opacity: style.opacity ?? 0.45,
    colorbar: { title: { text: 'CAM' }, thickness: 12, len: 0.6 },
    hovertemplate: 'x %{x}, y %{y}: %{z:.2f}<extra></extra>',
    ...extra,
  } as Data;
}

function overlaysOf(gtBoxes: readonly number[][], predBoxes: readonly PredictedBox[]): BoxOverlay[] {
  return [
    ...gtBoxes.map((box) => ({
      box,
      label: 'ground truth',
      color: GT_COLOR,
      dash: 'solid' as const,
      width: 2,
    })),
    ...predBoxes.map((p) => ({
      box: p.box,
      label: 'detected',
      color: PRED_COLOR,
      dash: 'dash' as const,
      width: 2,
    })),
  ];
}

/** Inputs of {@link camOverlayFigure}. */
export interface CamOverlayInput {
  /** `[height * width]` row-major grey levels (any range; shown min–max). */
  image: ArrayLike<number>;
  width: number;
  height: number;
  /** The heat map, values in [0, 1]; normally at the image's size. */
  cam: CamMap;
  /** Ground-truth boxes `[x1, y1, x2, y2]` pixels, drawn solid. */
  gtBoxes?: number[][];
  /** Detected boxes, drawn dashed. */
  predBoxes?: PredictedBox[];
  title: string;
}

/**
 * A heat map over a greyscale radiograph: the image, the semi-transparent CAM, ground-truth boxes
 * solid, detected boxes dashed (image pixel coordinates, y down).
 */
export function camOverlayFigure(input: CamOverlayInput, style: CamStyle & { size?: number } = {}): Figure {
  const fig = imageWithBoxesFigure(
    input.image,
    input.width,
    input.height,
    overlaysOf(input.gtBoxes ?? [], input.predBoxes ?? []),
    {
      title: input.title,
      ...(style.size !== undefined ? { size: style.size } : {}),
    },
  );
  // The CAM goes right above the image, below the legend-only box traces.
  fig.data.splice(1, 0, camTrace(input.cam, input.width, input.height, style));
  const boxNotes = (input.predBoxes ?? [])
    .filter((p) => p.label !== undefined || p.score !== undefined)
    .map((p) => ({
      x: p.box[0],
      y: p.box[1],
      xanchor: 'left',
      yanchor: 'bottom',
      showarrow: false,
      text: [p.label, p.score !== undefined ? p.score.toFixed(2) : undefined]
        .filter((s) => s !== undefined)
        .join(' '),
      font: { color: PRED_COLOR, size: 11 },
      bgcolor: 'rgba(0,0,0,0.4)',
    }));
  if (boxNotes.length) fig.layout.annotations = boxNotes as Layout['annotations'];
  fig.layout.legend = { x: 1.12, y: 1, xanchor: 'left' };
  return fig;
}

/** One cell of the grid: a backbone's heat map for the row's image. */
export interface CamGridCell {
  cam: CamMap;
  predBoxes?: PredictedBox[];
  /** A number under the cell, e.g. `mass in GT 0.62` (optional). */
  note?: string;
}

/** One row of the grid: an image, its ground-truth boxes, and one cell per column. */
export interface CamGridRow {
  label: string;
  image: ArrayLike<number>;
  width: number;
  height: number;
  gtBoxes: number[][];
  cells: CamGridCell[];
}

/**
 * Fig. 5: rows = images, columns = backbones (e.g. `['Barlow Twins-CXR', 'ImageNet']`), each cell
 * the image with that backbone's heat map, ground truth solid and detections dashed. One axis pair
 * per cell (`x{i}`/`y{i}`, i = row · columns + column + 1), square and sharing one colour bar.
 */
export function camGridFigure(
  rows: readonly CamGridRow[],
  opts: CamStyle & { columns: string[]; title?: string; cellSize?: number },
): Figure {
  const nCols = opts.columns.length;
  const nRows = rows.length;
  if (nRows === 0) throw new Error('camGridFigure: no rows');
  rows.forEach((r, i) => {
    if (r.cells.length !== nCols)
      throw new Error(
        `camGridFigure: row ${i} (${r.label}) has ${r.cells.length} cells for ${nCols} columns`,
      );
  });
  const cell = opts.cellSize ?? 300;
  const gap = 0.02;
  const colW = (1 - gap * (nCols - 1)) / nCols;
  const rowH = (1 - gap * (nRows - 1)) / nRows;
  const data: Data[] = [];
  const shapes: NonNullable<Layout['shapes']> = [];
  const annotations: NonNullable<Layout['annotations']> = [];
  const axes: Record<string, unknown> = {};
  rows.forEach((row, r) => {
    row.cells.forEach((c, col) => {
      const i = r * nCols + col + 1;
      const xa = i === 1 ? 'x' : `x${i}`,
        ya = i === 1 ? 'y' : `y${i}`;
      const x0 = col * (colW + gap),
        y1 = 1 - r * (rowH + gap);
      axes[i === 1 ? 'xaxis' : `xaxis${i}`] = {
        domain: [x0, x0 + colW],
        range: [-0.5, row.width - 0.5],
        visible: false,
        showgrid: false,
        zeroline: false,
        constrain: 'domain',
      };
      axes[i === 1 ? 'yaxis' : `yaxis${i}`] = {
        domain: [y1 - rowH, y1],
        range: [row.height - 0.5, -0.5],
        visible: false,
        showgrid: false,
        zeroline: false,
        scaleanchor: xa,
      };
      data.push({
        type: 'heatmap',
        z: rowsOf(row.image, row.width, row.height),
        colorscale: 'Greys',
        showscale: false,
        hoverinfo: 'skip',
        xaxis: xa,
        yaxis: ya,
      } as Data);
      data.push(camTrace(c.cam, row.width, row.height, opts, { xaxis: xa, yaxis: ya, showscale: i === 1 }));
      for (const o of overlaysOf(row.gtBoxes, c.predBoxes ?? [])) {
        shapes.push({
          type: 'rect',
          xref: xa,
          yref: ya,
          x0: o.box[0],
          y0: o.box[1],
          x1: o.box[2],
          y1: o.box[3],
          line: { color: o.color, width: o.width ?? 2, dash: o.dash ?? 'solid' },
        } as Partial<Shape>);
      }
      if (r === 0)
        annotations.push({
          text: `<b>${opts.columns[col]}</b>`,
          xref: 'paper',
          yref: 'paper',
          x: x0 + colW / 2,
          y: 1,
          yanchor: 'bottom',
          showarrow: false,
        } as Partial<Annotation>);
      if (col === 0)
        annotations.push({
          text: row.label,
          xref: 'paper',
          yref: 'paper',
          x: 0,
          y: y1 - rowH / 2,
          xanchor: 'right',
          textangle: -90,
          showarrow: false,
        } as Partial<Annotation>);
      if (c.note)
        annotations.push({
          text: c.note,
          xref: 'paper',
          yref: 'paper',
          x: x0 + colW / 2,
          y: y1 - rowH,
          yanchor: 'top',
          showarrow: false,
          font: { size: 11 },
        } as Partial<Annotation>);
    });
  });
  // Legend-only traces so the two box styles are explained once.
  data.push({
    type: 'scatter',
    mode: 'lines',
    x: [null],
    y: [null],
    name: 'ground truth',
    line: { color: GT_COLOR, width: 2 },
  } as Data);
  data.push({
    type: 'scatter',
    mode: 'lines',
    x: [null],
    y: [null],
    name: 'detected',
    line: { color: PRED_COLOR, dash: 'dash', width: 2 },
  } as Data);
  return {
    data,
    layout: baseLayout(opts.title ?? 'Fig. 5 — Ablation-CAM heat maps by backbone', {
      width: cell * nCols + 200,
      height: cell * nRows + 110,
      margin: { l: 40, r: 20, t: 80, b: 30 },
      legend: { orientation: 'h', x: 0, y: -0.02, yanchor: 'top' },
      shapes,
      annotations,
      ...axes,
    } as Partial<Layout>),
  };
}

/**
 * Grid rows for Fig. 5 from notebook 06's per-box heat maps: one row per image and layer, one cell per
 * backbone. As the authors' tool shows them, each correctly predicted box's map is normalised inside
 * its box (zero outside); a cell draws all of its image's per-box maps at that layer together (each in
 * its own box), the explained boxes dashed and the ground truth solid.
 */
export function camGridRows(images: readonly CamImage[], layers: readonly CamLayer[]): CamGridRow[] {
  return images.flatMap((im) =>
    layers.map((layer) => ({
      label: `${im.split} ${im.imageId.slice(0, 10)} · ${layer}`,
      image: im.pixels,
      width: im.size,
      height: im.size,
      gtBoxes: im.gtBoxes,
      cells: im.cells.map((c) => {
        const boxes = c.boxes.filter((b) => b.layer === layer);
        const data = new Float32Array(im.size * im.size);
        for (const b of boxes) {
          const m = normaliseInBox(b.cam, b.box);
          for (let i = 0; i < data.length; i++) data[i] = Math.max(data[i]!, m.data[i]!);
        }
        const mass = boxes.length ? boxes.reduce((s, b) => s + b.localisation.mass, 0) / boxes.length : 0;
        return {
          cam: { data, width: im.size, height: im.size },
          predBoxes: boxes.map((b) => ({ box: b.box, label: VINDR_CLASSES[b.label], score: b.score })),
          note: boxes.length
            ? `${boxes.length} box${boxes.length > 1 ? 'es' : ''}, mass in truth ${mass.toFixed(2)}`
            : 'no correct detection',
        };
      }),
    })),
  );
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const interval = (t: IntervalLike): string => `${f3(t.mean)} (${f3(t.low)}, ${f3(t.high)})`;

/**
 * The per-box localisation as a table: per layer and measure, each backbone's mean with its 95 % CI
 * over boxes, its chance level and its excess over chance (95 % CI), the boxes it found, and the two
 * backbones paired on the ground-truth boxes both found.
 */
export function localisationTable(
  layers: readonly LayerLocalisation[],
  names: [string, string],
): { columns: string[]; rows: (string | number | null)[][] } {
  const rows: (string | number | null)[][] = [];
  for (const l of layers) {
    for (const measure of ['mass', 'hit'] as const) {
      const row: (string | number | null)[] = [
        l.layer,
        measure === 'mass' ? 'heat-map mass inside the ground-truth box' : 'pointing game hit rate',
      ];
      for (const k of [0, 1]) {
        const b = l.byInit[k];
        const s = b?.summary ?? null;
        if (!s) row.push('n/a', 'n/a', 'n/a');
        else if (measure === 'mass') row.push(interval(s.mass), f3(s.massChance), interval(s.massOverChance));
        else row.push(interval(s.hit), f3(s.hitChance), interval(s.hitOverChance));
        row.push(`${b?.found ?? 0} of ${l.gtBoxes}`);
      }
      const p = l.paired ? l.paired[measure] : null;
      row.push(
        p
          ? `${f3(p.diff.mean)} (t: ${f3(p.diff.t.low)}, ${f3(p.diff.t.high)}; bootstrap: ${f3(p.diff.bootstrap.low)}, ${f3(p.diff.bootstrap.high)})`
          : 'n/a',
        l.paired?.n ?? 0,
        l.images,
      );
      rows.push(row);
    }
  }
  const per = (n: string): string[] => [
    `${n} (95% CI)`,
    `${n}: chance`,
    `${n}: minus chance (95% CI)`,
    `${n}: boxes found`,
  ];
  return {
    columns: [
      'layer',
      'measure',
      ...per(names[0]),
      ...per(names[1]),
      `difference ${names[0]} − ${names[1]}, boxes both found (95% CI)`,
      'boxes paired',
      'images',
    ],
    rows,
  };
}

interface IntervalLike {
  mean: number;
  low: number;
  high: number;
}
