/**
 * The Node notebook runner drives tslab's kernel without Jupyter. The probe notebooks
 * (test/fixtures/notebooks/) exercise each path a real notebook uses, so that a tslab upgrade that
 * changes the kernel's callbacks fails here rather than in the middle of a demo run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/config.js';
import {
  cellSource,
  notebookJson,
  readNotebook,
  runNotebook,
  stopKernel,
  type NbOutput,
} from '../../scripts/notebookRunner.js';

const dir = join(repoRoot(), 'test', 'fixtures', 'notebooks');
const text = (o: NbOutput | undefined): string =>
  Array.isArray(o?.text) ? (o!.text as string[]).join('') : String(o?.text);

/** Whether a process still runs (a zombie awaiting its reaper does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

test('the probe notebook runs cell by cell into nbformat 4 and stops at the first failing cell', async () => {
  const path = join(dir, 'probe.ipynb');
  const before = readFileSync(path, 'utf8');
  const started: number[] = [];
  const streamed: string[] = [];
  const r = await runNotebook(path, {
    timeoutSeconds: 120,
    onCellStart: (e) => started.push(e.n),
    onStream: (_name, t) => streamed.push(t),
  });
  assert.equal(readFileSync(path, 'utf8'), before, 'the source notebook is not modified');
  const code = r.nb.cells.filter((c) => c.cell_type === 'code');
  assert.equal(r.ok, false);
  assert.equal(r.failure?.n, 5);
  assert.equal(r.failure?.of, 6);
  assert.match(r.failure!.source, /probe failure/);
  assert.match(r.failure!.output, /Error: probe failure/);
  assert.deepEqual(started, [1, 2, 3, 4, 5], 'the cell after the failure never starts');

  assert.deepEqual(code[0]!.outputs, [{ output_type: 'stream', name: 'stdout', text: ['x = 42\n'] }]);
  assert.equal(code[0]!.execution_count, 1);
  assert.deepEqual(code[1]!.outputs, [
    {
      output_type: 'display_data',
      data: { 'text/plain': 'a bundle', 'image/png': 'iVBORw0KGgo=' },
      metadata: {},
    },
  ]);
  const third = code[2]!.outputs!;
  assert.deepEqual(
    third.map((o) => [o.name, text(o)]),
    [
      ['stderr', 'to stderr\n'],
      ['stdout', 'after await\n'],
    ],
  );
  assert.equal(text(code[3]!.outputs![0]), '43\n', 'the last expression is shown');
  assert.equal(code[4]!.execution_count, null);
  assert.deepEqual(code[5]!.outputs, []);
  assert.ok(streamed.join('').includes('after await'), 'text output is passed on as it arrives');

  // What is written is valid nbformat 4 JSON that reads back to the same notebook.
  const round = JSON.parse(notebookJson(r.nb)) as typeof r.nb;
  assert.equal(round.nbformat, 4);
  assert.equal(cellSource(round.cells[1]!), cellSource(readNotebook(path).cells[1]!));
  assert.deepEqual(
    round.cells.map((c) => c.cell_type),
    readNotebook(path).cells.map((c) => c.cell_type),
  );
});

test('a TypeScript type error fails its cell with the diagnostic, without running it', async () => {
  const r = await runNotebook(join(dir, 'type-error.ipynb'), { timeoutSeconds: 120 });
  assert.equal(r.ok, false);
  assert.equal(r.failure?.n, 1);
  assert.match(r.failure!.output, /Type 'number' is not assignable to type 'string'/);
  assert.doesNotMatch(r.failure!.output, /compiled/);
});

test('stopping the runner takes down the kernel and what it started; a cell timeout does the same', async () => {
  const grandchildren: number[] = [];
  const onStream = (_n: string, t: string): void => {
    const m = /grandchild (\d+)/.exec(t);
    if (m) grandchildren.push(Number(m[1]));
  };
  // 1. stop() while the second cell waits forever. No cell limit (the paper profile's default): the
  // first cell must finish rather than be stopped at once, as a timer of Infinity ms would.
  const running = runNotebook(join(dir, 'hang.ipynb'), {
    timeoutSeconds: Infinity,
    onStream,
    onCellStart: (e) => {
      if (e.n === 2) setTimeout(() => void stopKernel(2000), 200);
    },
  });
  const r = await running;
  assert.equal(r.ok, false);
  assert.equal(r.failure?.n, 2);
  assert.match(r.failure!.reason, /killed by SIGTERM/);
  // 2. The same notebook with a 3-second cell timeout.
  const t = await runNotebook(join(dir, 'hang.ipynb'), { timeoutSeconds: 3, onStream });
  assert.equal(t.failure?.n, 2);
  assert.match(t.failure!.reason, /longer than --timeout 3 s/);
  assert.equal(grandchildren.length, 2);
  for (const pid of grandchildren)
    assert.equal(alive(pid), false, `the kernel's child ${pid} was stopped too`);
});

test("each cell reports the kernel's peak resident memory so far; a 400 MB buffer shows in it", async () => {
  const path = join(dir, 'memory.ipynb');
  const peaks: (number | null)[] = [];
  const r = await runNotebook(path, { timeoutSeconds: 120, onCellDone: (e) => peaks.push(e.peakRssBytes) });
  assert.equal(r.ok, true, JSON.stringify(r.failure));
  assert.equal(peaks.length, 2);
  const [before, after] = peaks as [number, number];
  // A Node kernel with tslab loaded is tens to hundreds of MiB; the filled buffer is resident, so the
  // high-water mark rises by at least its size, and the notebook's peak is the last cell's.
  assert.ok(before > 20 * 2 ** 20 && before < 2 ** 31, `kernel peak before the buffer: ${before}`);
  assert.ok(after - before >= 400 * 2 ** 20, `rise ${after - before} bytes for a 400 MiB buffer`);
  assert.equal(r.peakRssBytes, after);
});
