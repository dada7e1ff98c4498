import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCsvRecords, readCsv } from '../../src/data/csv.js';
import { IssueLog } from '../../src/data/issues.js';
import { writeFileAtomic } from '../../src/io.js';
import { tempDir } from '../helpers.js';

test('quoted fields keep commas, doubled quotes and newlines; records keep their start line', () => {
  const text = 'a,b,c\n1,"x, y",3\n"he said ""hi""",2,"multi\nline"\n4,5,6\n';
  const recs = parseCsvRecords(text);
  assert.deepEqual(
    recs.map((r) => r.fields),
    [
      ['a', 'b', 'c'],
      ['1', 'x, y', '3'],
      ['he said "hi"', '2', 'multi\nline'],
      ['4', '5', '6'],
    ],
  );
  // The multi-line record starts on line 3, so the next one is on line 5.
  assert.deepEqual(recs.map((r) => r.line), [1, 2, 3, 5]);
});

test('CRLF line ends, a byte-order mark, empty trailing fields and a missing final newline', () => {
  const recs = parseCsvRecords('\ufeffx,y,\r\n1,,\r\n2,3,4');
  assert.deepEqual(recs.map((r) => r.fields), [['x', 'y', ''], ['1', '', ''], ['2', '3', '4']]);
});

test('blank lines are skipped, not turned into empty records', () => {
  assert.deepEqual(parseCsvRecords('a\n\n1\n\n').map((r) => r.fields), [['a'], ['1']]);
});

test('an unterminated quote names the line it opened on', () => {
  assert.throws(() => parseCsvRecords('a,b\n1,"oops\n2,3\n'), /unterminated quoted field opened on line 2/);
});

test('readCsv reports rows with the wrong number of fields by file and line, and keeps the rest', () => {
  const dir = tempDir();
  const path = join(dir, 't.csv');
  writeFileAtomic(path, 'a,b,c\n1,2,3\n1,2\n1,2,3,4\n7,8,9\n');
  const log = new IssueLog();
  const t = readCsv(path, log);
  assert.deepEqual(t.header, ['a', 'b', 'c']);
  assert.deepEqual(t.rows.map((r) => r.cells.a), ['1', '7']);
  assert.deepEqual(log.issues.map((i) => [i.line, i.kind]), [[3, 'csv-columns'], [4, 'csv-columns']]);
  assert.equal(log.issues[0]!.file, path);
});

test('readCsv: minFields lets a trailing empty column be absent', () => {
  const log = new IssueLog();
  const t = readCsv('mem.csv', log, { text: 'a,b,\n1,2,\n3,4\n', minFields: 2 });
  assert.equal(t.rows.length, 2);
  assert.equal(log.issues.length, 0);
});

test('a UTF-16 CSV is named as an encoding problem, with the file and how to convert it', () => {
  const dir = tempDir();
  const p = join(dir, 'Data_Entry_2017.csv');
  writeFileSync(p, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Image Index,Finding Labels\na.png,Mass\n', 'utf16le')]));
  assert.throws(() => readCsv(p, new IssueLog()), (e: Error) => e.message.includes(p) && /encoded as UTF-16LE, not UTF-8: save it as UTF-8/.test(e.message));
  writeFileSync(p, Buffer.from('Image Index,Finding Labels\na.png,Mass\n', 'utf16le'));
  assert.throws(() => readCsv(p, new IssueLog()), /UTF-16 or UTF-32/);
  writeFileSync(p, 'Image Index,Finding Labels\na.png,Mass\n');
  assert.equal(readCsv(p, new IssueLog()).rows.length, 1);
});
