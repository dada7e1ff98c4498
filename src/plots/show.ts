/**
 * `show(fig, name)`: display a figure inline (interactive where scripts run, a PNG where they do not)
 * and write `figures/<name>.html` (self-contained) and `figures/<name>.png` (headless Chromium).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PlotConfig } from '../config.js';
import { writeFileAtomic } from '../io.js';
import { chromiumHint, findBrowser, renderPng } from './chromium.js';
import { displayBundle } from './display.js';
import type { Figure } from './figure.js';
import { domId, figureHtml, plotlyBundle, plotSnippet } from './html.js';

/** Where and how figures are written. */
export interface FigureTarget extends PlotConfig {
  /** Output folder (config.paths.figures). */
  dir: string;
}

export interface SavedFigure {
  html: string;
  /** Null when no browser was found or PNGs are switched off. */
  png: string | null;
  width: number;
  height: number;
}

let warnedNoBrowser = false;
let bundleShown = false;
const shownIds = new Map<string, number>();

function writePng(
  fig: Figure,
  name: string,
  target: FigureTarget,
  width: number,
  height: number,
): string | null {
  if (!target.png) return null;
  const browser = findBrowser(target.chromium);
  if (!browser) {
    if (!warnedNoBrowser) {
      warnedNoBrowser = true;
      console.log(`figures: no Chromium found, writing HTML only, no PNGs (for PNGs: ${chromiumHint()})`);
    }
    return null;
  }
  // A static twin of the page, so the screenshot has no mode bar or hover state.
  const staticHtml = join(target.dir, `.${name}.static.html`);
  const png = join(target.dir, `${name}.png`);
  const tmpPng = join(target.dir, `.${name}.tmp.png`);
  try {
    writeFileAtomic(staticHtml, figureHtml(fig, name, { width, height }, { staticPlot: true }));
    renderPng(browser, staticHtml, tmpPng, width, height);
    writeFileAtomic(png, readFileSync(tmpPng));
  } finally {
    rmSync(staticHtml, { force: true });
    rmSync(tmpPng, { force: true });
  }
  return png;
}

/** Writes the figure's HTML and (when a browser exists) PNG; displays nothing. */
export function saveFigure(fig: Figure, name: string, target: FigureTarget): SavedFigure {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`figure name '${name}' must be a plain file name`);
  const width = Number(fig.layout.width ?? target.width);
  const height = Number(fig.layout.height ?? target.height);
  const html = join(target.dir, `${name}.html`);
  writeFileAtomic(html, figureHtml(fig, name, { width, height }));
  const png = writePng(fig, name, target, width, height);
  return { html, png, width, height };
}

/**
 * Saves the figure (see `saveFigure`) and shows it inline in the tslab kernel: one output holding
 * the interactive version (text/html, with the PNG inside as the fallback that shows where
 * scripts are stripped), the PNG itself and a text line. The plotly.js bundle is emitted once per
 * kernel, in its own output before the first figure. Outside a kernel it prints where it wrote.
 */
export function show(fig: Figure, name: string, target: FigureTarget): SavedFigure {
  const saved = saveFigure(fig, name, target);
  const pngB64 = saved.png ? readFileSync(saved.png).toString('base64') : undefined;
  const n = (shownIds.get(name) ?? 0) + 1;
  shownIds.set(name, n);
  const id = n === 1 ? domId(name) : `${domId(name)}-${n}`;
  const text = `Figure ${name}: ${saved.html}${saved.png ? ` and ${saved.png}` : ''}`;
  if (!bundleShown) {
    bundleShown = displayBundle({ 'text/html': `<script>${plotlyBundle()}</script>`, 'text/plain': '' });
  }
  const data: Record<string, string> = {
    'text/html': plotSnippet(fig, id, { width: saved.width, height: saved.height }, { fallbackPng: pngB64 }),
    'text/plain': text,
  };
  if (pngB64) data['image/png'] = pngB64;
  if (!displayBundle(data)) console.log(text);
  return saved;
}
