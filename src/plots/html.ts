/**
 * Self-contained HTML for a figure: the plotly.js bundle inlined, so the file works offline and
 * alone. Output is deterministic (no timestamps, ids derived from the figure's name).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Figure } from './figure.js';

let bundle: string | null = null;

/**
 * The minified plotly.js bundle (plotly.js-dist-min: the same release as plotly.js-dist, minified,
 * so inlined figures weigh 4.8 MB instead of 10 MB).
 */
export function plotlyBundle(): string {
  if (bundle === null) {
    const require = createRequire(import.meta.url);
    bundle = readFileSync(require.resolve('plotly.js-dist-min'), 'utf8');
  }
  return bundle;
}

/** A DOM id derived from a figure name. */
export function domId(name: string): string {
  return `cxr-fig-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON safe to embed inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export interface Size {
  width: number;
  height: number;
}

/** The snippet that draws `fig` into a div (needs window.Plotly). */
export function plotSnippet(
  fig: Figure,
  id: string,
  size: Size,
  opts: { staticPlot?: boolean; fallbackPng?: string } = {},
): string {
  const layout = {
    ...fig.layout,
    width: fig.layout.width ?? size.width,
    height: fig.layout.height ?? size.height,
  };
  const config = {
    responsive: false,
    displaylogo: false,
    ...(fig.config ?? {}),
    ...(opts.staticPlot ? { staticPlot: true } : {}),
  };
  // Where scripts are stripped (GitHub's notebook view), the PNG inside the div is what shows;
  // where they run (JupyterLab, VS Code, nbviewer), Plotly replaces it with the interactive figure.
  const fallback = opts.fallbackPng
    ? `<img alt="${escapeHtml(id)}" width="${layout.width}" height="${layout.height}" src="data:image/png;base64,${opts.fallbackPng}">`
    : '';
  return [
    `<div id="${id}" style="width:${layout.width}px;height:${layout.height}px">${fallback}</div>`,
    '<script>',
    '(function () {',
    `  var el = document.getElementById(${scriptJson(id)});`,
    '  if (!el || !window.Plotly) return;',
    "  el.innerHTML = '';",
    `  window.Plotly.newPlot(el, ${scriptJson(fig.data)}, ${scriptJson(layout)}, ${scriptJson(config)});`,
    '})();',
    '</script>',
  ].join('\n');
}

/** A complete, self-contained HTML page for one figure. */
export function figureHtml(
  fig: Figure,
  name: string,
  size: Size,
  opts: { staticPlot?: boolean } = {},
): string {
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(name)}</title>`,
    `<script>${plotlyBundle()}</script>`,
    '</head><body style="margin:0;background:white">',
    plotSnippet(fig, domId(name), size, opts),
    '</body></html>',
    '',
  ].join('\n');
}
