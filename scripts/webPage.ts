/**
 * Driving the built page in headless Chromium over the DevTools protocol (puppeteer-core with the
 * system's browser; nothing is downloaded): a static server on 127.0.0.1 for web/dist, the page
 * opened with URL parameters, its state read back, a screenshot taken. Used by the browser test
 * and by `npm run web -- --screenshot`.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import type { Browser } from '../src/plots/chromium.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.dicom': 'application/dicom',
  '.png': 'image/png',
  '.txt': 'text/plain',
};

/** A plain static file server for `dir` (GET only, no listing), as any static host would be. */
export async function serveDir(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const root = normalize(dir + sep);
  const server: Server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      const body = readFileSync(file);
      res
        .writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-length': body.length,
        })
        .end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

/** What the page publishes as `window.cxrPage` (see web/src/main.ts). */
export interface PageState {
  state: string;
  backend: string;
  message: string;
  timings: { loadMs: number; detectMs: number[]; camMs: number[] };
  results: {
    image: string;
    models: {
      init: string;
      detections: { box: number[]; label: number; score: number }[];
      cam: {
        box: number[];
        label: number;
        score: number;
        massInBox: number;
        map: number[];
        width: number;
        height: number;
      } | null;
    }[];
  } | null;
}

/**
 * Opens `index.html?<query>` of `dist` in headless Chromium and waits until the page is `done` (or
 * `error`, or `untilState`); returns its state and the browser's console errors, and saves a
 * screenshot of the whole page to `screenshot` if given.
 */
export async function runPage(opts: {
  chromium: Browser;
  dist: string;
  query: string;
  screenshot?: string;
  timeoutMs?: number;
  untilState?: string;
  /** Run after the page is done and before the screenshot (e.g. drop a file); its result comes back as `after`. */
  after?: (tab: Page) => Promise<unknown>;
}): Promise<{ page: PageState; consoleErrors: string[]; after: unknown }> {
  const server = await serveDir(opts.dist);
  const browser = await puppeteer.launch({
    executablePath: opts.chromium.path,
    // The registry Chromium is a chrome-headless-shell build; it also needs its libraries and fonts.
    headless: opts.chromium.origin === 'registry' ? 'shell' : true,
    env: { ...process.env, ...opts.chromium.env },
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--enable-unsafe-swiftshader',
      '--use-angle=swiftshader',
    ],
  });
  const consoleErrors: string[] = [];
  try {
    const tab = await browser.newPage();
    await tab.setViewport({ width: 1100, height: 1000 });
    tab.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    tab.on('pageerror', (e) => consoleErrors.push(String(e)));
    await tab.goto(`${server.url}index.html?${opts.query}`);
    const want = opts.untilState ?? 'done';
    await tab.waitForFunction(
      (w: string) => ['error', w].includes(document.body.dataset.state ?? ''),
      { timeout: opts.timeoutMs ?? 120_000, polling: 200 },
      want,
    );
    const page = (await tab.evaluate(() =>
      structuredClone((window as unknown as { cxrPage: unknown }).cxrPage),
    )) as PageState;
    const after = opts.after ? await opts.after(tab) : undefined;
    if (opts.screenshot) await tab.screenshot({ path: opts.screenshot as `${string}.png`, fullPage: true });
    return { page, consoleErrors, after };
  } finally {
    await browser.close();
    await server.close();
  }
}
