/**
 * Comments and messages in the code point only to documents the repository holds (a bare clone must
 * make sense on its own): every `*.md` named in src/, scripts/, bench/ and test/ exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../src/config.js';

const root = repoRoot();

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'fixtures' ? [] : sources(p);
    return /\.(ts|mjs)$/.test(f) ? [p] : [];
  });
}

test('every document the code names is in the repository', () => {
  const files = ['src', 'scripts', 'bench', 'test'].flatMap((d) => sources(join(root, d)));
  assert.ok(files.length > 100, `only ${files.length} source files found`);
  const missing: string[] = [];
  let named = 0;
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/[\w./-]*[A-Za-z]\.md\b/g)) {
      named++;
      const doc = m[0];
      // A name is relative to the repository root, or to the file's folder (native/README.md's siblings).
      if (!existsSync(join(root, doc)) && !existsSync(join(dirname(file), doc)))
        missing.push(`${file.slice(root.length + 1)}: ${doc}`);
    }
  }
  assert.ok(named > 10, 'the scan found the documents the code is known to name');
  assert.deepEqual(missing, []);
});
