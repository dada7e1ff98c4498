/** Tables: written as CSV (for diffs and reuse) and shown as HTML inline. */
import { join } from 'node:path';
import { writeFileAtomic } from '../io.js';
import { displayBundle } from './display.js';

/** A table as rows of plain values, columns in the order given. */
export interface TableData {
  columns: string[];
  rows: (string | number | null)[][];
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV text. */
export function tableCsv(t: TableData): string {
  return [t.columns, ...t.rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: string | number | null, digits: number): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(digits);
  return v;
}

/** An HTML table (numbers right-aligned, `digits` decimals for non-integers). */
export function tableHtml(t: TableData, opts: { caption?: string; digits?: number } = {}): string {
  const digits = opts.digits ?? 4;
  const head = `<tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((v) => `<td style="text-align:${typeof v === 'number' ? 'right' : 'left'}">${esc(fmt(v, digits))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const caption = opts.caption
    ? `<caption style="caption-side:top;text-align:left;font-weight:bold">${esc(opts.caption)}</caption>`
    : '';
  return `<table>${caption}\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** Plain-text rendering (for logs and the text/plain fallback). */
export function tableText(t: TableData, digits = 4): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map((v) => fmt(v, digits)))];
  const widths = t.columns.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, j) => (c ?? '').padEnd(widths[j]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Writes `<dir>/<name>.csv` and shows the table inline (or prints it outside a kernel). */
export function showTable(
  t: TableData,
  name: string,
  dir: string,
  opts: { caption?: string; digits?: number } = {},
): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`table name '${name}' must be a plain file name`);
  const path = join(dir, `${name}.csv`);
  writeFileAtomic(path, tableCsv(t));
  const text = tableText(t, opts.digits);
  if (!displayBundle({ 'text/html': tableHtml(t, opts), 'text/plain': text }))
    console.log(`${opts.caption ?? name}\n${text}`);
  return path;
}

/** The part of an arquero table this module needs (so src/ does not depend on arquero's types). */
export interface ColumnTableLike {
  columnNames(): string[];
  objects(): object[];
}

/** Converts an arquero table (`aq.from(...)...`) for `showTable`. */
export function fromArquero(t: ColumnTableLike): TableData {
  const columns = t.columnNames();
  const rows = t.objects().map((o) =>
    columns.map((c) => {
      const v = (o as Record<string, unknown>)[c];
      return v === null || v === undefined ? null : typeof v === 'number' ? v : String(v);
    }),
  );
  return { columns, rows };
}
