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
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
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
