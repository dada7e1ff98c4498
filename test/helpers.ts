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
 * Called by a test that found a system tool of apt.txt missing (Chromium): the test fails with a
 * message naming the tool and the fix. A skip would let `npm test` pass without testing what the
 * tool is there for.
 */
export function missingSystemTool(what: string, fix: string): never {
  throw new Error(`${what} missing, so this cannot be tested here (${fix})`);
}
