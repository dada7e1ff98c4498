/** Shared test helpers: temporary folders, and the decision a browser test makes when Chromium is missing. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { type Browser, chromiumHint, findBrowser } from '../src/plots/chromium.js';

/** A fresh temporary folder, removed when the test file finishes. */
export function tempDir(prefix = 'cxr-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The browser a test of a browser check (`what`) runs with. Without one (none found, or
 * `CXR_CHROMIUM=none`) the test fails with a message naming Chromium and how to get it: a skip would
 * let `npm test` pass without testing what the browser is there for (the project allows no skipped
 * tests). `npm run setup:system` installs Chromium from apt.txt.
 */
export function browserOrFail(what: string, env: NodeJS.ProcessEnv = process.env): Browser {
  const browser = findBrowser(env.CXR_CHROMIUM ?? '');
  if (browser) return browser;
  const none = env.CXR_CHROMIUM === 'none' ? 'CXR_CHROMIUM=none' : 'no Chromium found';
  throw new Error(`${what} cannot be tested: ${none} (${chromiumHint()})`);
}
