/** PNG rendering of an HTML page with headless Chromium (Debian package `chromium`). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** Finds a browser: the configured path, else the first candidate on PATH; null when none. */
export function findChromium(configured: string): string | null {
  if (configured) return configured;
  for (const c of CANDIDATES) {
    try {
      const p = execFileSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (p) return p;
    } catch {
      // not on PATH; try the next name
    }
  }
  return null;
}

/**
 * Screenshots `htmlPath` at exactly width×height CSS pixels into `pngPath`. The flags keep Chromium
 * from reaching the network (this machine and hospital networks have none) and from touching the
 * user's profile.
 */
export function renderPng(browser: string, htmlPath: string, pngPath: string, width: number, height: number): void {
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
    if (r.status !== 0) throw new Error(`chromium exited with ${r.status}: ${(r.stderr ?? '').split('\n').slice(-3).join(' ')}`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
