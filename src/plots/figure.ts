/** The figure type every builder returns: plain Plotly data and layout, serialisable as JSON. */
import type { Config as PlotlyConfig, Data, Layout } from 'plotly.js-dist';

export interface Figure {
  data: Data[];
  layout: Partial<Layout>;
  config?: Partial<PlotlyConfig>;
}

/** One palette for the whole project, so a backbone keeps its colour across figures. */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Base layout shared by all figures (white background, readable fonts, tight margins). */
export function baseLayout(title: string, extra: Partial<Layout> = {}): Partial<Layout> {
  return {
    title: { text: title, x: 0.02, xanchor: 'left' },
    font: { family: 'Helvetica, Arial, sans-serif', size: 13 },
    paper_bgcolor: 'white',
    plot_bgcolor: 'white',
    margin: { l: 70, r: 30, t: 60, b: 70 },
    ...extra,
  };
}
