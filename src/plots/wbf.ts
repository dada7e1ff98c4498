/** Figures of the box-fusion notebook (02). */
import { VINDR_CLASSES, VINDR_NO_FINDING } from '../data/labels.js';
import { baseLayout, PALETTE, type Figure } from './figure.js';

/**
 * Fig. 2 of the paper: instances per class before (every reader's box) and after Weighted Boxes
 * Fusion, side by side, classes sorted by the count before fusion.
 * @param before `[14]` reader-level box counts by class id; @param after `[14]` fused counts.
 */
export function instanceCountsFigure(
  before: readonly number[],
  after: readonly number[],
  opts: { title?: string } = {},
): Figure {
  const ids = [...Array(VINDR_NO_FINDING).keys()].sort((a, b) => before[b]! - before[a]! || a - b);
  const names = ids.map((i) => VINDR_CLASSES[i]);
  return {
    data: [
      {
        type: 'bar',
        name: "(a) before WBF: every reader's box",
        x: names,
        y: ids.map((i) => before[i]!),
        marker: { color: PALETTE[7] },
      },
      {
        type: 'bar',
        name: '(b) after WBF',
        x: names,
        y: ids.map((i) => after[i]!),
        marker: { color: PALETTE[0] },
      },
    ],
    layout: baseLayout(
      opts.title ?? 'Fig. 2 — VinDr-CXR instances per class before and after Weighted Boxes Fusion',
      {
        barmode: 'group',
        xaxis: { tickangle: -35, automargin: true },
        yaxis: { title: { text: 'boxes' }, rangemode: 'tozero' },
        legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
        margin: { l: 70, r: 30, t: 95, b: 120 },
      },
    ),
  };
}

/** Total fused boxes as a function of the WBF IoU threshold (one point per threshold). */
export function fusedCountSweepFigure(
  points: readonly { iouThr: number; fused: number }[],
  readerBoxes: number,
): Figure {
  return {
    data: [
      {
        type: 'scatter',
        mode: 'lines+markers',
        name: 'fused boxes',
        x: points.map((p) => p.iouThr),
        y: points.map((p) => p.fused),
        marker: { color: PALETTE[0] },
      },
      {
        type: 'scatter',
        mode: 'lines',
        name: 'reader boxes (no fusion)',
        x: [points[0]!.iouThr, points[points.length - 1]!.iouThr],
        y: [readerBoxes, readerBoxes],
        line: { dash: 'dash', color: PALETTE[7] },
      },
    ],
    layout: baseLayout('Fused boxes against the WBF IoU threshold', {
      xaxis: { title: { text: 'iouThr (a box joins a cluster when IoU > iouThr)' } },
      yaxis: { title: { text: 'boxes' }, rangemode: 'tozero' },
      legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
    }),
  };
}

export interface BoxOverlay {
  box: number[];
  label: string;
  color: string;
  dash?: 'solid' | 'dash' | 'dot';
  width?: number;
}

/**
 * A greyscale image with boxes drawn over it (pixel coordinates, y down), e.g. the three readers'
 * boxes and the fused one.
 * @param pixels `[height * width]` row-major grey levels (any range; shown min–max).
 */
export function imageWithBoxesFigure(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  boxes: readonly BoxOverlay[],
  opts: { title: string; size?: number },
): Figure {
  const z: number[][] = [];
  for (let y = 0; y < height; y++) z.push(Array.from({ length: width }, (_, x) => pixels[y * width + x]!));
  const size = opts.size ?? 560;
  const seen = new Set<string>();
  return {
    data: [
      { type: 'heatmap', z, colorscale: 'Greys', showscale: false, hoverinfo: 'skip' },
      // One invisible trace per legend entry, so the box colours are explained.
      ...boxes
        .filter((b) => (seen.has(b.label) ? false : (seen.add(b.label), true)))
        .map((b) => ({
          type: 'scatter' as const,
          mode: 'lines' as const,
          x: [null],
          y: [null],
          name: b.label,
          line: { color: b.color, dash: b.dash ?? 'solid', width: b.width ?? 2 },
        })),
    ],
    layout: baseLayout(opts.title, {
      width: size + 220,
      height: size + 60,
      xaxis: {
        range: [-0.5, width - 0.5],
        showgrid: false,
        zeroline: false,
        visible: false,
        constrain: 'domain',
      },
      yaxis: {
        range: [height - 0.5, -0.5],
        showgrid: false,
        zeroline: false,
        visible: false,
        scaleanchor: 'x',
      },
      margin: { l: 10, r: 10, t: 50, b: 10 },
      shapes: boxes.map((b) => ({
        type: 'rect',
        x0: b.box[0],
        y0: b.box[1],
        x1: b.box[2],
        y1: b.box[3],
        line: { color: b.color, width: b.width ?? 2, dash: b.dash ?? 'solid' },
      })),
    }),
  };
}

/**
 * The teacher's figure: one radiograph with each reader's boxes (thin, one colour per reader) and
 * the fused box (thick), downsampled to at most `maxSide` pixels for display.
 * @param pixels the image's brightness `[height * width]` at its original size (boxes are in those pixels).
 */
export function fusionExampleFigure(
  ex: {
    imageId: string;
    classId: number;
    readerBoxes: readonly { readerId: string; box: readonly number[] }[];
    fusedBoxes: readonly (readonly number[])[];
  },
  image: { width: number; height: number; data: ArrayLike<number> },
  opts: {
    maxSide?: number;
    resize: (w: number, h: number) => { width: number; height: number; data: ArrayLike<number> };
  },
): Figure {
  const maxSide = opts.maxSide ?? 256;
  const s = Math.min(1, maxSide / Math.max(image.width, image.height));
  const shown = s < 1 ? opts.resize(Math.round(image.width * s), Math.round(image.height * s)) : image;
  const sx = shown.width / image.width;
  const sy = shown.height / image.height;
  const scale = (b: readonly number[]): number[] => [b[0]! * sx, b[1]! * sy, b[2]! * sx, b[3]! * sy];
  const readers = [...new Set(ex.readerBoxes.map((r) => r.readerId))].sort();
  const overlays: BoxOverlay[] = [
    ...ex.readerBoxes.map((r) => ({
      box: scale(r.box),
      label: `reader ${r.readerId}`,
      color: PALETTE[(2 + readers.indexOf(r.readerId)) % PALETTE.length]!,
      dash: 'dash' as const,
      width: 2,
    })),
    ...ex.fusedBoxes.map((b) => ({ box: scale(b), label: 'fused (WBF)', color: PALETTE[1]!, width: 4 })),
  ];
  return imageWithBoxesFigure(shown.data, shown.width, shown.height, overlays, {
    title: `${ex.imageId}: ${VINDR_CLASSES[ex.classId]} — ${readers.length} readers' boxes and the fused box`,
  });
}
