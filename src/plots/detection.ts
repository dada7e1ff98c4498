/** Figures and tables of the detection notebook (04): Fig. 4 and Table 1. */
import type { ProfileName } from '../config.js';
import { studentTCi } from '../metrics/ci.js';
import { differenceSentence, pairedDifference, type SeededResult } from '../metrics/compare.js';
import { backboneLabel, type BackboneInit } from '../models/backbones.js';
import { PAPER_TABLE1 } from '../paper.js';
import type { DetectionRun } from '../train/detectionRun.js';
import { baseLayout, PALETTE, type Figure } from './figure.js';
import { imageWithBoxesFigure } from './wbf.js';
import type { TableData } from './table.js';

const INIT_COLOR: Record<BackboneInit, string> = {
  none: PALETTE[7]!,
  imagenet: PALETTE[0]!,
  bt: PALETTE[2]!,
  bt_imagenet: PALETTE[1]!,
};

function hexToRgba(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

/**
 * Fig. 4: validation mAP50 per epoch (authors' set: images with fused boxes), one panel per input
 * size, one colour per backbone: the mean over seeds as a line, the lowest-to-highest range shaded
 * (as in the paper).
 */
export function mapCurvesFigure(
  runs: readonly DetectionRun[],
  profile: ProfileName,
  opts: { title?: string } = {},
): Figure {
  const sizes = [...new Set(runs.map((r) => r.inputSize))].sort((a, b) => a - b);
  const inits = [...new Set(runs.map((r) => r.init))];
  const gap = 0.08;
  const w = (1 - gap * (sizes.length - 1)) / sizes.length;
  const layout = baseLayout(
    // Short enough for the 700 px figure (the longer title was cut at the right of the PNG).
    opts.title ?? 'Fig. 4 — validation mAP50 per epoch (mean over seeds, min–max shaded)',
    {
      width: Math.max(700, 520 * sizes.length),
      height: 480,
      legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
      margin: { l: 70, r: 30, t: 110, b: 60 },
    },
  ) as Record<string, unknown>;
  const data: Figure['data'] = [];
  sizes.forEach((size, k) => {
    const sfx = k === 0 ? '' : String(k + 1);
    layout[`xaxis${sfx}`] = {
      domain: [k * (w + gap), k * (w + gap) + w],
      title: { text: `epoch (${size}×${size} px)` },
      anchor: `y${sfx}`,
      dtick: 1,
    };
    layout[`yaxis${sfx}`] = {
      title: { text: k === 0 ? 'mAP50 (validation images with boxes)' : '' },
      anchor: `x${sfx}`,
      rangemode: 'tozero',
    };
    for (const init of inits) {
      const rs = runs.filter((r) => r.init === init && r.inputSize === size);
      if (!rs.length) continue;
      const epochs = rs[0]!.epochs.map((e) => e.epoch);
      const at = (i: number): number[] => rs.map((r) => r.epochs[i]?.valMap ?? Number.NaN);
      const mean = epochs.map((_, i) => at(i).reduce((s, v) => s + v, 0) / rs.length);
      const lo = epochs.map((_, i) => Math.min(...at(i)));
      const hi = epochs.map((_, i) => Math.max(...at(i)));
      const c = INIT_COLOR[init];
      const axes = { xaxis: `x${sfx}`, yaxis: `y${sfx}` };
      data.push({
        type: 'scatter',
        mode: 'lines',
        x: epochs,
        y: lo,
        line: { width: 0 },
        showlegend: false,
        hoverinfo: 'skip',
        ...axes,
      });
      data.push({
        type: 'scatter',
        mode: 'lines',
        x: epochs,
        y: hi,
        fill: 'tonexty',
        fillcolor: hexToRgba(c, 0.18),
        line: { width: 0 },
        showlegend: false,
        hoverinfo: 'skip',
        ...axes,
      });
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        x: epochs,
        y: mean,
        name: `${backboneLabel(init, profile)} (${rs.length} seed${rs.length > 1 ? 's' : ''})`,
        legendgroup: init,
        showlegend: k === 0,
        line: { color: c, width: 2.5 },
        marker: { color: c },
        ...axes,
      });
    }
  });
  return { data, layout: layout as Figure['layout'] };
}

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');
function ciText(v: number[]): string {
  if (v.length < 2) return `${f4(v[0] ?? Number.NaN)} (one seed)`;
  const t = studentTCi(v);
  return `${f4(t.mean)} (${f4(t.low)}, ${f4(t.high)})`;
}

/**
 * Table 1: mAP50 on the authors' evaluation set (images with fused boxes; their validation and test
 * files hold no normal image): validation at the best epoch and test of that epoch's checkpoint
 * (MMDetection's `save_best`), each the mean with the 95 % Student-t interval over seeds; beside it
 * the last epoch's test number, the test number on all images (normal ones included), the
 * bootstrap interval over test images of the first seed, and the paper's numbers.
 */
export function mapTable(
  runs: readonly DetectionRun[],
  profile: ProfileName,
  paperSizes: readonly number[],
): TableData {
  const rows: (string | number | null)[][] = [];
  const sizes = [...new Set(runs.map((r) => r.inputSize))].sort((a, b) => a - b);
  sizes.forEach((size, k) => {
    for (const init of [...new Set(runs.map((r) => r.init))]) {
      const rs = runs.filter((r) => r.init === init && r.inputSize === size).sort((a, b) => a.seed - b.seed);
      if (!rs.length) continue;
      // Our sizes stand in for the paper's 224 and 640 in order.
      const paperSize = paperSizes[k];
      const p = PAPER_TABLE1.find((x) => x.backbone === init && x.inputSize === paperSize);
      const b = rs[0]!.testBootstrap;
      rows.push([
        backboneLabel(init, profile),
        size,
        rs.length,
        rs.map((r) => r.bestEpoch).join(', '),
        ciText(rs.map((r) => r.valMap)),
        ciText(rs.map((r) => r.testMap)),
        ciText(rs.map((r) => r.testMapLast)),
        ciText(rs.map((r) => r.testMapAll)),
        `${f4(b.low)}–${f4(b.high)}`,
        p ? `${p.inputSize}px: ${f4(p.val.mean)} / ${f4(p.test.mean)}` : '—',
      ]);
    }
  });
  return {
    columns: [
      'backbone',
      'input px',
      'seeds',
      'best epoch per seed',
      'mAP50 val, best epoch (95% CI over seeds)',
      'mAP50 test, best-val checkpoint (95% CI over seeds)',
      'test, last epoch',
      'test, all images (normal ones too), best-val checkpoint',
      'test, bootstrap 95% CI over images (first seed)',
      'paper val / test',
    ],
    rows,
  };
}

/**
 * Test AP50 per class (best-validation checkpoint, authors' set), mean over seeds, one row per
 * backbone and input size; classes without test ground truth are left out. Shows which findings
 * the detector finds at all.
 */
export function perClassApTable(
  runs: readonly DetectionRun[],
  profile: ProfileName,
  classNames: readonly string[],
): TableData {
  const keys = [...new Set(runs.map((r) => `${r.inputSize}|${r.init}`))];
  const present = classNames.map((_, c) =>
    runs.some((r) => r.testPerClass[c] !== null && r.testPerClass[c] !== undefined),
  );
  const cols = classNames.map((n, c) => [n, c] as const).filter(([, c]) => present[c]);
  const rows = keys.map((key) => {
    const [size, init] = key.split('|') as [string, BackboneInit];
    const rs = runs.filter((r) => r.inputSize === Number(size) && r.init === init);
    return [
      backboneLabel(init, profile),
      Number(size),
      ...cols.map(([, c]) => {
        const v = rs.map((r) => r.testPerClass[c]).filter((x): x is number => typeof x === 'number');
        return v.length ? f4(v.reduce((a, x) => a + x, 0) / v.length) : 'n/a';
      }),
    ];
  });
  return { columns: ['backbone', 'input px', ...cols.map(([n]) => n)], rows };
}

/**
 * One test image with its fused ground-truth boxes (solid) and the detector's boxes scoring at
 * least `minScore` (dashed, labelled with class and score).
 */
export function detectionExampleFigure(
  pixels: ArrayLike<number>,
  size: number,
  truth: { boxes: number[][]; labels: number[] },
  dets: { boxes: number[][]; scores: number[]; labels: number[] },
  opts: { title: string; classNames: readonly string[]; minScore?: number },
): Figure {
  const keep = dets.scores.map((s, i) => [s, i] as const).filter(([s]) => s >= (opts.minScore ?? 0.3));
  const overlays = [
    ...truth.boxes.map((b, i) => ({
      box: b,
      label: `truth: ${opts.classNames[truth.labels[i]!]}`,
      color: PALETTE[2]!,
      width: 3,
    })),
    ...keep.map(([s, i]) => ({
      box: dets.boxes[i]!,
      label: `detected: ${opts.classNames[dets.labels[i]!]} ${s.toFixed(2)}`,
      color: PALETTE[1]!,
      dash: 'dash' as const,
      width: 2,
    })),
  ];
  return imageWithBoxesFigure(pixels, size, size, overlays, { title: opts.title, size: 420 });
}

/** The pairs the paper's Table 1 argues from: each pretraining against the one below it. */
const DETECTION_PAIRS: [BackboneInit, BackboneInit][] = [
  ['bt_imagenet', 'imagenet'],
  ['bt', 'none'],
  ['imagenet', 'none'],
  ['bt_imagenet', 'bt'],
];

/**
 * One sentence per comparison of Table 1 at `size` (test mAP50, paired by seed), each with the
 * paper's difference at `paperSize`; settings that did not run are left out.
 */
export function detectionComparisons(
  runs: readonly DetectionRun[],
  size: number,
  paperSize: number,
  profile: ProfileName,
): string[] {
  const result = (init: BackboneInit): SeededResult => ({
    name: backboneLabel(init, profile),
    bySeed: new Map(
      runs.filter((r) => r.init === init && r.inputSize === size).map((r) => [r.seed, r.testMap]),
    ),
  });
  const paper = (init: BackboneInit): number | undefined =>
    PAPER_TABLE1.find((x) => x.backbone === init && x.inputSize === paperSize)?.test.mean;
  return DETECTION_PAIRS.filter(([a, b]) => result(a).bySeed.size && result(b).bySeed.size).map(([a, b]) => {
    const [pa, pb] = [paper(a), paper(b)];
    return differenceSentence(
      pairedDifference(result(a), result(b)),
      pa !== undefined && pb !== undefined ? pa - pb : undefined,
      4,
    );
  });
}
