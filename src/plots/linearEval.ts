/** Figures and tables of the linear evaluation (notebook 05): Figs. 6–7 and Tables 2–3. */
import { studentTCi } from '../metrics/ci.js';
import { differenceSentence, pairedDifference, type SeededResult } from '../metrics/compare.js';
import { backboneLabel, type EvalInit } from '../models/backbones.js';
import { PAPER_LINEAR_EVAL } from '../paper.js';
import type { LinearEvalRun } from '../train/linearEval.js';
import type { ProfileName } from '../config.js';
import { baseLayout, PALETTE, type Figure } from './figure.js';
import type { TableData } from './table.js';

const INIT_COLOR: Record<EvalInit, string> = {
  none: PALETTE[7]!,
  none_bn: PALETTE[5]!,
  imagenet: PALETTE[0]!,
  bt: PALETTE[2]!,
  bt_imagenet: PALETTE[1]!,
};

/** Runs of one mode and protocol by backbone and fraction (results written before protocols existed are ours). */
function groups(
  runs: readonly LinearEvalRun[],
  mode: LinearEvalRun['mode'],
  protocol: LinearEvalRun['protocol'] = 'ours',
): Map<EvalInit, Map<number, LinearEvalRun[]>> {
  const out = new Map<EvalInit, Map<number, LinearEvalRun[]>>();
  for (const r of runs.filter((x) => x.mode === mode && (x.protocol ?? 'ours') === protocol)) {
    if (!out.has(r.init)) out.set(r.init, new Map());
    const m = out.get(r.init)!;
    if (!m.has(r.fraction)) m.set(r.fraction, []);
    m.get(r.fraction)!.push(r);
  }
  return out;
}

const pct = (f: number): string => `${+(100 * f).toFixed(2)}%`;

/**
 * Figs. 6 (frozen) and 7 (end to end): test AUC against the training fraction, one line per
 * backbone, error bars spanning the lowest to the highest run (min–max, as the paper's; not a
 * confidence interval), the paper's means as open markers.
 */
export function aucByFractionFigure(
  runs: readonly LinearEvalRun[],
  mode: LinearEvalRun['mode'],
  profile: ProfileName,
  opts: { title: string },
): Figure {
  const data: Figure['data'] = [];
  for (const [init, byFraction] of groups(runs, mode)) {
    const fr = [...byFraction.keys()].sort((a, b) => a - b);
    const stats = fr.map((f) => {
      const v = byFraction.get(f)!.map((r) => r.testAuc);
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      return { mean, lo: Math.min(...v), hi: Math.max(...v) };
    });
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: `${backboneLabel(init, profile)} (ours)`,
      x: fr.map(pct),
      y: stats.map((s) => s.mean),
      error_y: {
        type: 'data',
        symmetric: false,
        array: stats.map((s) => s.hi - s.mean),
        arrayminus: stats.map((s) => s.mean - s.lo),
        visible: true,
      },
      line: { color: INIT_COLOR[init] },
      marker: { color: INIT_COLOR[init], size: 8 },
    });
    const paper = (PAPER_LINEAR_EVAL[mode] as Record<string, Record<string, { mean: number }>>)[init];
    if (paper) {
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: `${init === 'imagenet' ? 'ImageNet' : 'Barlow Twins-CXR'} (paper)`,
        x: fr.map(pct),
        y: fr.map((f) => paper[String(f)]?.mean ?? null),
        line: { color: INIT_COLOR[init], dash: 'dot', width: 1 },
        marker: { color: INIT_COLOR[init], symbol: 'circle-open', size: 9 },
      });
    }
  }
  return {
    data,
    layout: baseLayout(opts.title, {
      xaxis: { title: { text: 'share of the training part used' }, type: 'category' },
      yaxis: { title: { text: 'macro ROC AUC (test part); bars: min–max over seeds' } },
      legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom' },
      margin: { l: 70, r: 30, t: 110, b: 60 },
    }),
  };
}

const fmt = (x: number): string => x.toFixed(4);
const ci = (v: number[]): string => {
  const t = studentTCi(v);
  return v.length > 1 ? `${fmt(t.mean)} (${fmt(t.low)}, ${fmt(t.high)})` : `${fmt(t.mean)} (one run)`;
};

/**
 * Tables 2 (frozen) and 3 (end to end): per backbone and fraction, our mean test AUC with its 95 %
 * Student-t interval over runs (epoch chosen on validation), the authors' protocol (separate runs on
 * the whole training part, best test epoch) when it was run, and the paper's number.
 */
export function aucTable(
  runs: readonly LinearEvalRun[],
  mode: LinearEvalRun['mode'],
  profile: ProfileName,
): TableData {
  const rows: (string | number | null)[][] = [];
  const authors = groups(runs, mode, 'authors');
  for (const [init, byFraction] of groups(runs, mode)) {
    for (const f of [...byFraction.keys()].sort((a, b) => a - b)) {
      const rs = byFraction.get(f)!;
      const as = authors.get(init)?.get(f) ?? [];
      const paper = (
        PAPER_LINEAR_EVAL[mode] as Record<string, Record<string, { mean: number; low: number; high: number }>>
      )[init]?.[String(f)];
      rows.push([
        backboneLabel(init, profile),
        pct(f),
        rs[0]!.trainImages,
        rs.length,
        ci(rs.map((r) => r.testAuc)),
        as.length
          ? `${ci(as.map((r) => r.bestTestAuc))}, ${as[0]!.trainImages} images`
          : 'not run (linearEval.authorsProtocol)',
        paper ? `${fmt(paper.mean)} (${fmt(paper.low)}, ${fmt(paper.high)})` : '—',
      ]);
    }
  }
  return {
    columns: [
      'backbone',
      'fraction',
      'train images',
      'runs',
      'AUC, epoch chosen on validation (95% CI)',
      "AUC, best test epoch (authors' protocol)",
      'paper',
    ],
    rows,
  };
}

/** Mean per-label test AUC (selected epoch) at one fraction, a column per backbone; '—' where a label had one class. */
export function perLabelAucTable(
  runs: readonly LinearEvalRun[],
  mode: LinearEvalRun['mode'],
  fraction: number,
  labelNames: readonly string[],
  profile: ProfileName,
): TableData {
  const g = groups(runs, mode);
  const inits = [...g.keys()];
  const rows = labelNames.map((name, j) => [
    name,
    ...inits.map((init) => {
      const vals = (g.get(init)!.get(fraction) ?? [])
        .map((r) => r.perLabel[j])
        .filter((v): v is number => v !== null && v !== undefined);
      return vals.length ? Number((vals.reduce((s, v) => s + v, 0) / vals.length).toFixed(4)) : '—';
    }),
  ]);
  return { columns: ['label', ...inits.map((i) => backboneLabel(i, profile))], rows };
}

/**
 * One sentence per label fraction comparing `a` with `b` (test AUC, epoch chosen on validation,
 * paired by seed), with the paper's difference where it reports both (it reports Barlow Twins from
 * ImageNet and ImageNet only).
 */
export function linearEvalComparisons(
  runs: readonly LinearEvalRun[],
  mode: LinearEvalRun['mode'],
  a: EvalInit,
  b: EvalInit,
  profile: ProfileName,
): string[] {
  const g = groups(runs, mode);
  const fractions = [...(g.get(a)?.keys() ?? [])].filter((f) => g.get(b)?.has(f)).sort((x, y) => x - y);
  const paper = PAPER_LINEAR_EVAL[mode] as Record<string, Record<string, { mean: number }> | undefined>;
  return fractions.map((f) => {
    const result = (init: EvalInit): SeededResult => ({
      name: backboneLabel(init, profile),
      bySeed: new Map(
        g
          .get(init)!
          .get(f)!
          .map((r) => [r.seed, r.testAuc]),
      ),
    });
    const [pa, pb] = [paper[a]?.[String(f)]?.mean, paper[b]?.[String(f)]?.mean];
    return `${pct(f)}: ${differenceSentence(pairedDifference(result(a), result(b)), pa !== undefined && pb !== undefined ? pa - pb : undefined, 4)}`;
  });
}
