/**
 * Reads the peer reference vectors in `test/fixtures/reference/` (its README gives each file's peer,
 * version and call) and compares
 * floats with explicit tolerances. Numbers are never copied into test code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('test helpers: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** Absolute path of the reference folder kept in the repository. */
export const referenceDir = join(repoRoot(), 'test', 'fixtures', 'reference');
// node --test also runs this module on its own (it sits under test/): fail there, and in every
// importer, when the references cannot be found rather than letting tests look for them later.
if (!existsSync(join(referenceDir, 'README.md')))
  throw new Error(`reference vectors not found at ${referenceDir}`);

/** A reference file: `{ source, notes, cases }` (some add more case lists, e.g. wbf.json `nms_cases`). */
export interface ReferenceFile {
  source: Record<string, unknown>;
  notes: string[];
  cases: any[];
  [more: string]: any;
}

/** Loads `<name>.json` from the reference folder. */
export function loadReference(name: string): ReferenceFile {
  return JSON.parse(readFileSync(join(referenceDir, `${name}.json`), 'utf8')) as ReferenceFile;
}

/** Asserts |actual - expected| <= tol (both finite), or both NaN. */
export function assertClose(actual: number, expected: number, tol: number, what: string): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  assert.ok(Number.isFinite(actual), `${what}: got non-finite ${actual}, expected ${expected}`);
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: got ${actual}, expected ${expected} (tol ${tol}, diff ${Math.abs(actual - expected)})`,
  );
}

/** Element-wise {@link assertClose} over (nested) arrays of equal shape. */
export function assertAllClose(actual: unknown, expected: unknown, tol: number, what: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${what}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal((actual as unknown[]).length, expected.length, `${what}: length`);
    expected.forEach((e, i) => assertAllClose((actual as unknown[])[i], e, tol, `${what}[${i}]`));
    return;
  }
  assertClose(actual as number, expected as number, tol, what);
}
