/**
 * Runs a notebook's "method on one batch" cells outside Jupyter: the code cells tagged `one-batch`
 * are transpiled as written (TypeScript types stripped) and run as one async function whose free
 * variables (`cxr`, `config`, `nb`, the example the notebook's setup cell picks) the test supplies.
 * Each such cell ends in `cxr.checkClose`, which throws when the step-by-step value and the library
 * call disagree, so these tests run exactly the checks the notebooks assert.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error('no package.json above the test helpers');
    dir = dirname(dir);
  }
  return dir;
}

interface Cell {
  cell_type: string;
  source: string[] | string;
  metadata?: { tags?: string[] };
}

/** The source of every code cell of `notebooks/<name>.ipynb` tagged `tag`, in order. */
export function taggedCells(name: string, tag = 'one-batch'): string[] {
  const nb = JSON.parse(readFileSync(join(repoRoot(), 'notebooks', `${name}.ipynb`), 'utf8')) as {
    cells: Cell[];
  };
  return nb.cells
    .filter((c) => c.cell_type === 'code' && (c.metadata?.tags ?? []).includes(tag))
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
}

/** Runs the tagged cells of a notebook with `scope`'s entries as their free variables. */
export async function runTaggedCells(name: string, scope: Record<string, unknown>): Promise<void> {
  const cells = taggedCells(name);
  if (cells.length === 0) throw new Error(`notebooks/${name}.ipynb has no cell tagged one-batch`);
  const names = Object.keys(scope);
  const wrapped = `async function __cells(${names.join(', ')}) {\n${cells.join('\n')}\n}`;
  const js = ts.transpileModule(wrapped, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None },
  }).outputText;
  const run = new Function(`${js}\nreturn __cells;`)() as (...args: unknown[]) => Promise<void>;
  await run(...names.map((n) => scope[n]));
}

/** The `@example` code in the doc comment right above `export [async] function <fn>` of a src file. */
export function docExample(file: string, fn: string): string {
  const src = readFileSync(join(repoRoot(), file), 'utf8');
  const at = src.search(new RegExp(`export (async )?function ${fn}\\b`));
  if (at < 0) throw new Error(`${file} does not export function ${fn}`);
  const doc = src.slice(src.lastIndexOf('/**', at), at);
  const ex = doc.indexOf('@example');
  if (ex < 0) throw new Error(`${fn} in ${file} has no @example`);
  return doc
    .slice(ex + '@example'.length)
    .split('\n')
    .map((l) => l.replace(/^\s*\*\/?\s?/, ''))
    .join('\n');
}

/** Runs TypeScript `code` with `scope`'s entries as free variables; returns the named variables' values. */
export async function runCode(
  code: string,
  scope: Record<string, unknown>,
  results: string[],
): Promise<Record<string, unknown>> {
  const names = Object.keys(scope);
  const wrapped = `async function __code(${names.join(', ')}) {\n${code}\nreturn { ${results.join(', ')} };\n}`;
  const js = ts.transpileModule(wrapped, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None },
  }).outputText;
  const run = new Function(`${js}\nreturn __code;`)() as (
    ...args: unknown[]
  ) => Promise<Record<string, unknown>>;
  return run(...names.map((n) => scope[n]));
}
