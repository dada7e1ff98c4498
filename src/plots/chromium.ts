/** Finding a browser, and PNG rendering of an HTML page with it (headless Chromium). */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { registryChromium, type UnpackedChromium } from './registryChromium.js';

const CANDIDATES = [
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'chrome-headless-shell',
];
/** macOS keeps browsers in app bundles, off PATH. */
const MAC_APPS = [
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing',
];

/**
 * Ubuntu's `chromium` and `chromium-browser` packages are stubs that start a snap, and snaps do not
 * run in containers or under most CI: such a browser counts as absent.
 */
function isSnap(p: string): boolean {
  try {
    if (realpathSync(p).startsWith('/snap/')) return true;
    const head = readFileSync(p, { encoding: 'latin1' }).slice(0, 4096);
    return head.startsWith('#!') && /\bsnap\b/.test(head);
  } catch {
    return false;
  }
}

/** A browser and how to start it. */
export interface Browser {
  path: string;
  /**
   * `configured`: CXR_CHROMIUM or the config; `system`: found on PATH or as a macOS app; `registry`:
   * the Chromium `npm ci` brought (src/plots/registryChromium.ts), used only when there is no other.
   */
  origin: 'configured' | 'system' | 'registry';
  /** Environment the browser needs on top of ours (the registry build: its libraries and fonts). */
  env: Record<string, string>;
}

export interface FindOptions {
  /** The PATH searched (default: ours). */
  pathEnv?: string;
  platform?: NodeJS.Platform;
  /** The registry Chromium (default: unpack @sparticuz/chromium when installed). */
  registry?: () => UnpackedChromium | null;
}

/**
 * Finds a browser, in this order: the configured path (`none` turns PNGs off), the first usable
 * candidate on PATH, an installed app (macOS), the registry Chromium (unpacked on first use); null
 * when none. The one finder for the PNG figures, the web page and the preflight.
 */
export function findBrowser(configured: string, opts: FindOptions = {}): Browser | null {
  if (configured === 'none') return null;
  if (configured) return { path: configured, origin: 'configured', env: {} };
  const env = { ...process.env, PATH: opts.pathEnv ?? process.env.PATH ?? '' };
  for (const c of CANDIDATES) {
    try {
      const p = execFileSync('/bin/sh', ['-c', `command -v ${c}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        env,
      }).trim();
      if (p && !isSnap(p)) return { path: p, origin: 'system', env: {} };
    } catch {
      // not on PATH; try the next name
    }
  }
  if ((opts.platform ?? process.platform) === 'darwin') {
    const app = MAC_APPS.find((p) => existsSync(p));
    if (app) return { path: app, origin: 'system', env: {} };
  }
  const reg = (opts.registry ?? registryChromium)();
  return reg ? { path: reg.path, origin: 'registry', env: reg.env } : null;
}

/** One line for the preflight and for logs: which browser, from where. */
export function describeBrowser(b: Browser): string {
  if (b.origin === 'registry')
    return `${b.path} (the registry Chromium from npm, @sparticuz/chromium; no system Chromium found)`;
  return `${b.path} (${b.origin === 'configured' ? 'configured by CXR_CHROMIUM or the config' : 'system'})`;
}

/** What to do when no browser is found, for this system. */
export function chromiumHint(): string {
  if (process.platform === 'darwin')
    return 'install Google Chrome or Chromium (or set CXR_CHROMIUM to a browser binary)';
  let osRelease = '';
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    // not Linux, or a minimal image
  }
  if (/^ID=ubuntu/m.test(osRelease)) {
    return (
      "Ubuntu's chromium package is a snap, which does not run in containers: install Google Chrome's .deb, or run " +
      '`npx @puppeteer/browsers install chrome-headless-shell@stable` and set CXR_CHROMIUM to the path it prints'
    );
  }
  return (
    'npm run setup:system (installs chromium from apt.txt), or npm ci with its optional dependencies (brings ' +
    '@sparticuz/chromium on x64 Linux), or set CXR_CHROMIUM to a Chrome/Chromium binary'
  );
}

/** Flags every screenshot launch shares: no sandbox (root in containers), no GPU, no network, no scrollbars. */
export const OFFLINE_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--hide-scrollbars',
];

/**
 * Screenshots `htmlPath` at exactly width×height CSS pixels into `pngPath`. The flags keep Chromium
 * from reaching the network (this machine and hospital networks have none) and from touching the
 * user's profile.
 */
export function renderPng(
  browser: Browser,
  htmlPath: string,
  pngPath: string,
  width: number,
  height: number,
): void {
  if (browser.origin === 'registry') {
    renderPngOverCdp(browser, htmlPath, pngPath, width, height);
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), 'cxr-chromium-'));
  try {
    const r = spawnSync(
      browser.path,
      [
        '--headless',
        ...OFFLINE_FLAGS,
        `--user-data-dir=${profile}`,
        `--window-size=${width},${height}`,
        '--virtual-time-budget=5000',
        `--screenshot=${pngPath}`,
        pathToFileURL(htmlPath).href,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.error) throw new Error(`chromium failed to start: ${r.error.message}`);
    if (r.status !== 0)
      throw new Error(
        `chromium exited with ${r.status}: ${(r.stderr ?? '').split('\n').slice(-3).join(' ')}`,
      );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * The same screenshot over the DevTools protocol (puppeteer-core), for the registry Chromium, whose
 * build ignores `--screenshot`. A child Node process keeps this function synchronous like the other.
 */
function renderPngOverCdp(
  browser: Browser,
  htmlPath: string,
  pngPath: string,
  width: number,
  height: number,
): void {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'cdpScreenshot.js');
  const r = spawnSync(
    process.execPath,
    [script, JSON.stringify({ browser, url: pathToFileURL(htmlPath).href, pngPath, width, height })],
    { encoding: 'utf8', timeout: 90_000 },
  );
  if (r.error) throw new Error(`chromium (over DevTools) failed to start: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `chromium (over DevTools) exited with ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`,
    );
}
