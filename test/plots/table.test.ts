import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fromArquero, showTable, tableCsv, tableHtml } from '../../src/plots/table.js';
import { tempDir } from '../helpers.js';

test('CSV quotes fields with commas and quotes; nulls are empty', () => {
  assert.equal(
    tableCsv({
      columns: ['a', 'b'],
      rows: [
        ['x,y', 1.5],
        ['say "hi"', null],
      ],
    }),
    'a,b\n"x,y",1.5\n"say ""hi""",\n',
  );
});

test('HTML escapes text and right-aligns numbers', () => {
  const h = tableHtml({ columns: ['<k>'], rows: [[3]] });
  assert.ok(h.includes('&lt;k&gt;'));
  assert.ok(h.includes('text-align:right'));
});

test('showTable writes the CSV', () => {
  const dir = tempDir();
  const p = showTable({ columns: ['n'], rows: [[1], [2]] }, 'tbl', dir);
  assert.equal(readFileSync(p, 'utf8'), 'n\n1\n2\n');
});

test('fromArquero keeps column order and values', async () => {
  const aq = await import('arquero');
  const t = aq.from([
    { b: 2, a: 'x' },
    { b: 3, a: null },
  ]);
  assert.deepEqual(fromArquero(t), {
    columns: ['b', 'a'],
    rows: [
      [2, 'x'],
      [3, null],
    ],
  });
});
