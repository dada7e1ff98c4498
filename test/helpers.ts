/** Shared test helpers: temporary folders, and the decision a browser test makes when Chromium is missing. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { chromiumHint, findChromium } from '../src/plots/chromium.js';

/** A fresh temporary folder, removed when the test file finishes. */
export function tempDir(prefix = 'cxr-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The browser a test of a browser check (`what`) runs with. Chromium is optional for `npm test`
 * (apt.txt): without one (none found, or `CXR_CHROMIUM=none`) the check is skipped with a reason
 * naming Chromium and how to get it, and null is returned (the caller returns at once). With
 * `CXR_REQUIRE_CHROMIUM=1` (set by `.ci/run`, which installs apt.txt) a missing browser fails the
 * test instead, so that CI can never pass with the browser checks silently skipped.
 */
export function browserOrSkip(
  t: { skip(message?: string): void },
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  const browser = findChromium(env.CXR_CHROMIUM ?? '');
  if (browser) return browser;
  const none = env.CXR_CHROMIUM === 'none' ? 'CXR_CHROMIUM=none' : 'no Chromium found';
  if (env.CXR_REQUIRE_CHROMIUM === '1')
    throw new Error(
      `${what} cannot be tested: ${none}, and CXR_REQUIRE_CHROMIUM=1 requires it (${chromiumHint()})`,
    );
  t.skip(
    `${what} skipped: ${none} (${chromiumHint()}); CXR_REQUIRE_CHROMIUM=1 makes a missing Chromium a failure`,
  );
  return null;
}
