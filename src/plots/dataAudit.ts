/** Figures of the data audit (notebook 01). */
import type { LabelDistribution } from '../data/audit.js';
import { baseLayout, PALETTE, type Figure } from './figure.js';

/**
 * Fig. 1 of the paper: image-level label distribution of NIH ChestX-ray14, one bar per label (14
 * findings + No Finding) sorted by count, with the real set's proportions as markers.
 */
export function labelDistributionFigure(d: LabelDistribution, opts: { title?: string } = {}): Figure {
  return {
    data: [
      {
        type: 'bar',
        name: `this data set (${d.totalImages.toLocaleString('en-US')} images)`,
        x: d.labels,
        y: d.counts,
        marker: { color: PALETTE[0] },
        text: d.counts.map(String),
        textposition: 'outside',
        cliponaxis: false,
      },
      {
        type: 'scatter',
        mode: 'markers',
        name: 'real NIH ChestX-ray14, scaled to this total',
        x: d.labels,
        y: d.expected,
        marker: {
          color: PALETTE[1],
          symbol: 'line-ew-open',
          size: 22,
          line: { width: 3, color: PALETTE[1] },
        },
      },
    ],
    layout: baseLayout(opts.title ?? 'Fig. 1 — Image-level label distribution (NIH ChestX-ray14 format)', {
      xaxis: { tickangle: -35, automargin: true },
      yaxis: { title: { text: 'images' }, rangemode: 'tozero' },
      legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1.0, yanchor: 'bottom' },
      margin: { l: 70, r: 30, t: 95, b: 110 },
      bargap: 0.25,
    }),
  };
}
