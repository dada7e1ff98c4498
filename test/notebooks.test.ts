/**
 * The source notebooks stay output-free (their outputs live in executed/ and, for the demo, in the
 * committed slim copies), and each one's first cell links to its executed copy.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../src/config.js';
import { cellSource, readNotebook } from '../scripts/notebookRunner.js';
import { SLIM_DIR } from '../scripts/slimNotebook.js';

const dir = join(repoRoot(), 'notebooks');
const notebooks = readdirSync(dir)
  .filter((f) => /^\d\d_.+\.ipynb$/.test(f))
  .sort();

test('there are six numbered notebooks', () => {
  assert.equal(notebooks.length, 6);
});

for (const file of notebooks) {
  test(`${file} has no outputs and no execution counts`, () => {
    const nb = readNotebook(join(dir, file));
    for (const [i, c] of nb.cells.entries()) {
      if (c.cell_type !== 'code') continue;
      assert.deepEqual(c.outputs ?? [], [], `cell ${i + 1} has outputs`);
      assert.equal(c.execution_count ?? null, null, `cell ${i + 1} has an execution count`);
    }
  });

  test(`${file}'s first cell links to its executed copy in ${SLIM_DIR}/`, () => {
    const first = readNotebook(join(dir, file)).cells[0]!;
    assert.equal(first.cell_type, 'markdown');
    const rel = SLIM_DIR.replace(/^notebooks\//, '');
    assert.ok(cellSource(first).includes(`(${rel}/${file})`), `no link to ${rel}/${file}`);
  });
}

// The committed executed copies (written by a demo run): a PNG for every figure, no absolute paths.
const slimDir = join(repoRoot(), SLIM_DIR);
const executedCopies = existsSync(slimDir)
  ? readdirSync(slimDir)
      .filter((f) => f.endsWith('.ipynb'))
      .sort()
  : [];
for (const file of executedCopies) {
  test(`${SLIM_DIR}/${file} shows every figure as a PNG and names no absolute path`, () => {
    const ex = readNotebook(join(slimDir, file));
    let figures = 0;
    for (const c of ex.cells) {
      for (const o of c.outputs ?? []) {
        const data = (o.data ?? {}) as Record<string, unknown>;
        const plain = [data['text/plain'] ?? ''].flat().join('');
        if (/^Figure /.test(plain) && /\.png\b/.test(plain)) {
          figures++;
          assert.equal(typeof data['image/png'], 'string', `${plain}: no image/png`);
        }
        assert.doesNotMatch(JSON.stringify(o), /\/(work|home|tmp|Users)\//, 'an absolute path');
        assert.doesNotMatch(
          JSON.stringify(o),
          /<script/,
          'a script (the Plotly bundle or an interactive figure)',
        );
      }
    }
    assert.ok(
      figures > 0 || !/\.show\(/.test(ex.cells.map(cellSource).join('\n')),
      'the notebook shows figures but its copy has none',
    );
  });
}
