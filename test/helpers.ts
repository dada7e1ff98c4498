/** Shared test helpers: temporary folders and the repository root. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temporary folder, removed when the test file finishes. */
export function tempDir(prefix = 'cxr-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Called by a test that found a system tool of apt.txt missing (Chromium): the test is marked
 * skipped with a message that names the tool and the fix, so `npm test` passes on a bare machine
 * and says what it did not test. With CXR_REQUIRE_SYSTEM=1 (CI, which installs apt.txt) it fails
 * instead, so a broken install cannot pass as skipped tests.
 */
export function missingSystemTool(t: { skip(message?: string): void }, what: string, fix: string): void {
  const message = `${what} missing, not tested here (${fix})`;
  if (process.env.CXR_REQUIRE_SYSTEM === '1') {
    throw new Error(`${message}; CXR_REQUIRE_SYSTEM=1 requires every system package of apt.txt`);
  }
  t.skip(message);
}
