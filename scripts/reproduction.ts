/**
 * Rewrites the generated blocks of REPRODUCTION.md from what the last `demo` run wrote: the tables
 * (figures/*.csv, each built by a notebook from its results file and manifest) and the wall time of
 * each notebook (executed/demo/timings.json). `npm run reproduce` calls it after a demo run; by hand:
 * `node build/scripts/reproduction.js`.
 *
 * A block is the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`; NAME is a CSV
 * under figures/ (without `.csv`) or `timings`. Text outside the blocks is never touched.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../src/config.js';
import { parseCsvRecords } from '../src/data/csv.js';

function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows;
  if (!head) return '_(empty)_';
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${head.map(cell).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function fmtSeconds(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s - 60 * m)} s` : `${Math.round(s)} s`;
}

/** The body of one generated block, or null when its source does not exist yet. */
function blockBody(root: string, name: string): string | null {
  if (name === 'timings') {
    const path = join(root, 'executed', 'demo', 'timings.json');
    if (!existsSync(path)) return null;
    const t = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { seconds: number; finished: string }>;
    const names = Object.keys(t).sort();
    const total = names.reduce((s, n) => s + t[n]!.seconds, 0);
    return markdownTable([
      ['notebook', 'wall time', 'finished'],
      ...names.map((n) => [`[\`${n}\`](notebooks/${n}.ipynb)`, fmtSeconds(t[n]!.seconds), t[n]!.finished]),
      ['**all**', `**${fmtSeconds(total)}**`, ''],
    ]);
  }
  const path = join(root, 'figures', `${name}.csv`);
  if (!existsSync(path)) return null;
  return markdownTable(parseCsvRecords(readFileSync(path, 'utf8')).map((r) => r.fields));
}

/** Rewrites every block whose source exists; returns the names rewritten. */
export function updateReproduction(root = repoRoot()): string[] {
  const doc = join(root, 'REPRODUCTION.md');
  if (!existsSync(doc)) return [];
  let text = readFileSync(doc, 'utf8');
  const done: string[] = [];
  text = text.replace(
    /<!-- generated:([\w.-]+) -->\n[\s\S]*?<!-- \/generated:\1 -->/g,
    (whole, name: string) => {
      const body = blockBody(root, name);
      if (body === null) return whole;
      done.push(name);
      return `<!-- generated:${name} -->\n${body}\n<!-- /generated:${name} -->`;
    },
  );
  writeFileSync(`${doc}.tmp`, text);
  renameSync(`${doc}.tmp`, doc);
  return done;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const done = updateReproduction();
  console.log(
    done.length ? `REPRODUCTION.md: rewrote ${done.join(', ')}` : 'REPRODUCTION.md: nothing to rewrite',
  );
}
