/** A small RFC 4180 CSV reader that keeps line numbers, so every bad row can be reported by line. */
import { readFileSync } from 'node:fs';
import type { IssueLog } from './issues.js';

/** A parsed data row: cells by header name, and the line it started on (1-based). */
export interface CsvRow {
  line: number;
  cells: Record<string, string>;
}

export interface CsvTable {
  header: string[];
  rows: CsvRow[];
}

/**
 * Splits CSV text into records of fields. Handles quoted fields with commas, doubled quotes and
 * newlines, CRLF line ends and a UTF-8 byte-order mark. Returns each record with its start line.
 * An unterminated quote is an error naming the line it opened on.
 */
export function parseCsvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let field = '';
  let fields: string[] = [];
  let recordLine = 1;
  let inQuotes = false;
  let quoteLine = 0;
  let any = false;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !any)) out.push({ line: recordLine, fields });
    fields = [];
    field = '';
    any = false;
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      inQuotes = true;
      quoteLine = line;
      any = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += ch;
      any = true;
    }
  }
  if (inQuotes) throw new Error(`unterminated quoted field opened on line ${quoteLine}`);
  if (field !== '' || fields.length > 0 || any) endRecord();
  return out;
}

/**
 * A text file's contents as UTF-8; a UTF-16 or UTF-32 file (byte-order mark, or NUL bytes between
 * the characters) is an error that names the encoding and how to convert it, instead of a header
 * that matches nothing.
 */
export function readUtf8(path: string): string {
  const b = readFileSync(path);
  const head = b.subarray(0, 4096);
  const bom = head[0] === 0xff && head[1] === 0xfe ? 'UTF-16LE' : head[0] === 0xfe && head[1] === 0xff ? 'UTF-16BE' : null;
  const nuls = head.reduce((n, x) => n + (x === 0 ? 1 : 0), 0);
  if (bom || nuls > head.length / 8) {
    const enc = bom ?? 'UTF-16 or UTF-32 (NUL bytes between the characters)';
    throw new Error(`${path} is encoded as ${enc}, not UTF-8: save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8 '${path}' > fixed.csv) and replace the file`);
  }
  return b.toString('utf8');
}

/**
 * Reads a CSV file with a header row. Rows whose field count differs from the header's are
 * reported to `log` (kind `csv-columns`) and skipped; `minFields` lets trailing empty columns be
 * absent. Throws only when the file itself is unreadable or has no header.
 */
export function readCsv(path: string, log: IssueLog, opts: { minFields?: number; text?: string } = {}): CsvTable {
  const text = opts.text ?? readUtf8(path);
  let records: { line: number; fields: string[] }[];
  try {
    records = parseCsvRecords(text);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new Error(`${path}: empty file, expected a header row`);
  const header = records[0]!.fields.map((h) => h.trim());
  const minFields = opts.minFields ?? header.length;
  const rows: CsvRow[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length < minFields || r.fields.length > header.length) {
      log.add(path, r.line, 'csv-columns', `expected ${header.length} fields, found ${r.fields.length}`);
      continue;
    }
    const cells: Record<string, string> = {};
    header.forEach((h, j) => {
      cells[h] = r.fields[j] ?? '';
    });
    rows.push({ line: r.line, cells });
  }
  return { header, rows };
}
