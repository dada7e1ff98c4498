/**
 * The executed copies that are committed (notebooks/executed/), so that a reader on GitHub sees the
 * results without running anything. From a full executed notebook it keeps the text output and one
 * PNG per figure and drops what is large, machine-specific or changes from run to run:
 * - the inlined plotly.js bundle and each figure's interactive HTML (the PNG stays; the HTML is in
 *   figures/ beside it);
 * - the repository's absolute path (outputs name files relative to the repository root);
 * - progress lines (rates and ETAs), wall times inside other lines, and stderr, which differ
 *   between two runs of the same commit.
 * Two clones that run the same commit on the demo profile write byte-identical copies.
 */
import type { NbCell, NbOutput, Notebook } from './notebookRunner.js';
import { sourceLines } from './notebookRunner.js';

export const SLIM_DIR = 'notebooks/executed';

/** A training progress line (rate and ETA, src/train/loop.ts): no two runs share one. */
const PROGRESS_LINE = /\bETA\b|\d img\/s\b/;
/**
 * A wall time inside a line worth keeping: `... in 9.0s -> ...`, `... (123s)`, a detection epoch's
 * `(11s, validation 1.0s)`, and a detection run's closing `..., 168.5s` (src/train/detectionRun.ts).
 */
const WALL_TIME =
  / in \d+(?:\.\d+)?\s?(?:ms|s|min)\b| \(\d+(?:\.\d+)?\s?(?:ms|s|min)(?:, validation \d+(?:\.\d+)?s)?\)|, \d+(?:\.\d+)?s$/g;

function text(o: NbOutput): string {
  return Array.isArray(o.text) ? (o.text as string[]).join('') : String(o.text ?? '');
}

function slimOutput(o: NbOutput, rootPrefix: RegExp): NbOutput | null {
  const rel = (s: string): string => s.replace(rootPrefix, '');
  if (o.output_type === 'stream') {
    if (o.name !== 'stdout') return null;
    // A carriage return redraws a progress line: only what was left on screen counts.
    const lines = text(o)
      .split('\n')
      .map((l) => l.slice(l.lastIndexOf('\r') + 1))
      .filter((l) => !PROGRESS_LINE.test(l))
      .map((l) => rel(l.replace(WALL_TIME, '')));
    const kept = lines.join('\n');
    return kept.trim() ? { output_type: 'stream', name: 'stdout', text: sourceLines(kept) } : null;
  }
  if (o.output_type === 'display_data' || o.output_type === 'execute_result') {
    const data = (o.data ?? {}) as Record<string, unknown>;
    const html = typeof data['text/html'] === 'string' ? (data['text/html'] as string) : '';
    const plain = typeof data['text/plain'] === 'string' ? rel(data['text/plain'] as string) : '';
    const slim: Record<string, unknown> = {};
    if (typeof data['image/png'] === 'string') slim['image/png'] = data['image/png'];
    // Static HTML (tables) renders on GitHub; HTML with scripts (Plotly) does not and is large.
    else if (html && !/<script\b/i.test(html)) slim['text/html'] = sourceLines(rel(html));
    if (plain) slim['text/plain'] = sourceLines(plain);
    if (Object.keys(slim).length === 0) return null;
    const out: NbOutput = { output_type: o.output_type, data: slim, metadata: {} };
    if (o.output_type === 'execute_result') out.execution_count = o.execution_count ?? null;
    return out;
  }
  return o;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The committed copy of an executed notebook (see the file comment). */
export function slimNotebook(nb: Notebook, root: string): Notebook {
  const rootPrefix = new RegExp(`${escapeRegExp(root.replace(/\/+$/, ''))}/`, 'g');
  const cells: NbCell[] = nb.cells.map((c) => {
    if (c.cell_type === 'markdown') {
      // The source's link to this copy becomes this copy's link back to the source.
      const src = (Array.isArray(c.source) ? c.source.join('') : c.source).replace(
        /\[the executed copy\]\(executed\/([^)]+)\)[^\n]*/,
        'this is the executed copy of [the source notebook](../$1), written by `npm run reproduce` (demo profile).',
      );
      return { ...c, source: sourceLines(src) };
    }
    if (c.cell_type !== 'code') return c;
    const outputs = (c.outputs ?? [])
      .map((o) => slimOutput(o, rootPrefix))
      .filter((o): o is NbOutput => o !== null);
    return { ...c, outputs, metadata: {} };
  });
  return { ...nb, cells };
}
