/**
 * The notebook API (src/index.ts) is the whole of what the notebooks may use, and README.md lists it:
 * a notebook cell using `cxr.X` that the entry point does not export fails here (not only in the
 * notebook run), and so does a README list that disagrees with the entry point.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as cxr from '../../src/index.js';

let root = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);

/** Runtime exports, plus the type-only names read from the entry point's source. */
function exported(): Set<string> {
  const src = readFileSync(join(root, 'src', 'index.ts'), 'utf8');
  const types = [...src.matchAll(/\btype\s+([A-Za-z_]\w*)/g)].map((m) => m[1]!);
  const typeBlocks = [...src.matchAll(/export type \{([^}]*)\}/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  );
  return new Set([...Object.keys(cxr), ...types, ...typeBlocks]);
}

function notebookNames(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of readdirSync(join(root, 'notebooks'))
    .filter((n) => n.endsWith('.ipynb'))
    .sort()) {
    const nb = JSON.parse(readFileSync(join(root, 'notebooks', f), 'utf8')) as {
      cells: { cell_type: string; source: string[] | string }[];
    };
    const code = nb.cells
      .filter((c) => c.cell_type === 'code')
      .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source))
      .join('\n');
    out.set(f, new Set([...code.matchAll(/\bcxr\.([A-Za-z_]\w*)/g)].map((m) => m[1]!)));
  }
  return out;
}

test('every cxr.X a notebook uses is exported by the notebook API (src/index.ts)', () => {
  const names = exported();
  const missing = [...notebookNames()].flatMap(([nb, used]) =>
    [...used].filter((n) => !names.has(n)).map((n) => `${nb}: cxr.${n}`),
  );
  assert.deepEqual(missing, [], 'add these to src/index.ts and to README.md "The notebook API"');
});

test('README.md lists exactly the names of the notebook API', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- notebook-api -->');
  const end = readme.indexOf('<!-- /notebook-api -->');
  assert.ok(
    start >= 0 && end > start,
    'README.md has no <!-- notebook-api --> ... <!-- /notebook-api --> section',
  );
  const listed = new Set([...readme.slice(start, end).matchAll(/`([A-Za-z_]\w*)`/g)].map((m) => m[1]!));
  const names = exported();
  assert.deepEqual(
    [...names].filter((n) => !listed.has(n)).sort(),
    [],
    'exported but not in the README list',
  );
  assert.deepEqual(
    [...listed].filter((n) => !names.has(n)).sort(),
    [],
    'in the README list but not exported',
  );
});
