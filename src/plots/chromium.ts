/** PNG rendering of an HTML page with headless Chromium (Debian package `chromium`). */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

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

/**
 * Finds a browser: the configured path (`none` turns PNGs off), else the first usable candidate on
 * PATH, else (macOS) an installed app; null when none.
 */
export function findChromium(configured: string): string | null {
  if (configured === 'none') return null;
  if (configured) return configured;
  for (const c of CANDIDATES) {
    try {
      const p = execFileSync('sh', ['-c', `command -v ${c}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (p && !isSnap(p)) return p;
    } catch {
      // not on PATH; try the next name
    }
  }
  if (process.platform === 'darwin') return MAC_APPS.find((p) => existsSync(p)) ?? null;
  return null;
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
  return 'npm run setup:system (installs chromium from apt.txt), or set CXR_CHROMIUM to a Chrome/Chromium binary';
}

/**
 * Screenshots `htmlPath` at exactly width×height CSS pixels into `pngPath`. The flags keep Chromium
 * from reaching the network (this machine and hospital networks have none) and from touching the
 * user's profile.
 */
export function renderPng(
  browser: string,
  htmlPath: string,
  pngPath: string,
  width: number,
  height: number,
): void {
  const profile = mkdtempSync(join(tmpdir(), 'cxr-chromium-'));
  try {
    const r = spawnSync(
      browser,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        `--user-data-dir=${profile}`,
        '--hide-scrollbars',
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
