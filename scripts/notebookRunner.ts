/**
 * Runs a notebook cell by cell on the tslab kernel (scripts/kernel.ts, one child process per
 * notebook, a fresh kernel as Jupyter would start) and returns the executed notebook in nbformat 4.
 * No Jupyter and no Python: the kernel talks to this process over Node's IPC channel.
 *
 * The runner owns its kernel: the kernel leads its own process group, and `stop()` (or a cell's
 * timeout) signals the whole group, Chromium included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelMessage, KernelRequest } from './kernel.js';

export interface NbOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  [key: string]: unknown;
}
export interface NbCell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: NbOutput[];
  execution_count?: number | null;
  id?: string;
  [key: string]: unknown;
}
export interface Notebook {
  cells: NbCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export function readNotebook(path: string): Notebook {
  const nb = JSON.parse(readFileSync(path, 'utf8')) as Notebook;
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new Error(`${path}: not an nbformat 4 notebook`);
  return nb;
}

/** nbformat's own layout (one-space indent, sorted keys, trailing newline), so diffs stay small. */
export function notebookJson(nb: Notebook): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `${JSON.stringify(sortKeys(nb), null, 1)}\n`;
}

export function cellSource(cell: NbCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** Splits text into nbformat's list of lines (each keeps its newline). */
export function sourceLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

export interface CellEvent {
  /** 1-based number among the code cells. */
  n: number;
  of: number;
  cell: NbCell;
}
export interface RunHooks {
  onCellStart?(e: CellEvent): void;
  /** `peakRssBytes`: the kernel's peak resident memory so far (Linux's VmHWM; null elsewhere). */
  onCellDone?(e: CellEvent & { seconds: number; ok: boolean; peakRssBytes: number | null }): void;
  /** Text output as it arrives (progress lines of long runs). */
  onStream?(name: 'stdout' | 'stderr', text: string): void;
}
export interface RunOptions extends RunHooks {
  /** Seconds one cell may run before the kernel is stopped; 0 or Infinity: no limit. */
  timeoutSeconds: number;
  env?: NodeJS.ProcessEnv;
}
export interface NotebookResult {
  nb: Notebook;
  ok: boolean;
  /** The failing code cell (1-based among code cells) and why, when not ok. */
  failure?: { n: number; of: number; source: string; reason: string; output: string };
  /** The kernel's peak resident memory over the whole notebook (null where /proc is absent). */
  peakRssBytes: number | null;
}

const KERNEL = join(dirname(fileURLToPath(import.meta.url)), 'kernel.js');

/** The kernel of the notebook now running, so that a signal handler can stop it. */
let current: Kernel | null = null;

/** Stops the running kernel and its children (SIGTERM, then SIGKILL after `graceMs`). */
export function stopKernel(graceMs = 2000): Promise<void> {
  return current ? current.stop(graceMs) : Promise.resolve();
}

class Kernel {
  readonly child: ChildProcess;
  private exited: Promise<void>;
  private exitInfo: string | null = null;
  listener: ((m: KernelMessage) => void) | null = null;
  onExit: ((why: string) => void) | null = null;
  /** What the process wrote outside a cell's captured output (native crashes, V8 aborts). */
  raw = '';

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [KERNEL], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (b: Buffer): void => {
      this.raw = (this.raw + b.toString('utf8')).slice(-20000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('message', (m: KernelMessage) => this.listener?.(m));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = signal ? `the kernel was killed by ${signal}` : `the kernel exited with code ${code}`;
        this.onExit?.(this.exitInfo);
        resolve();
      });
      this.child.on('error', (e) => {
        this.exitInfo = `the kernel could not start: ${e.message}`;
        this.onExit?.(this.exitInfo);
        resolve();
      });
    });
  }

  /**
   * The kernel process's peak resident set (VmHWM of /proc/<pid>/status), the number a memory plan
   * is checked against; null off Linux or once the process is gone. Children (Chromium) not included.
   */
  peakRssBytes(): number | null {
    try {
      const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  send(m: KernelRequest): void {
    if (this.alive && this.child.connected) this.child.send(m);
  }

  private signalGroup(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, sig);
    } catch {
      // the group is gone already
    }
  }

  /** Kills what is left of the group and waits (at most 2 s) until the system has reaped it. */
  private async finishGroup(): Promise<void> {
    this.signalGroup('SIGKILL');
    for (let i = 0; i < 40; i++) {
      try {
        process.kill(-this.child.pid!, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(graceMs: number): Promise<void> {
    // Signal the group even when the leader has exited: Chromium may outlive it.
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    await this.finishGroup();
  }

  async shutdown(): Promise<void> {
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    await this.finishGroup();
  }
}

function fmtStreams(outputs: NbOutput[]): string {
  return outputs
    .filter((o) => o.output_type === 'stream')
    .map((o) => (Array.isArray(o.text) ? (o.text as string[]).join('') : String(o.text)))
    .join('');
}

/** Runs every code cell in order; stops at the first failing one. The input notebook is not changed. */
export async function runNotebook(path: string, opts: RunOptions): Promise<NotebookResult> {
  const nb = structuredClone(readNotebook(path));
  const codeCells = nb.cells.filter((c) => c.cell_type === 'code');
  for (const c of codeCells) {
    c.outputs = [];
    c.execution_count = null;
  }
  const kernel = new Kernel(dirname(path), opts.env ?? process.env);
  current = kernel;
  try {
    // Wait for the kernel to load tslab (or die trying).
    const ready = await new Promise<string | null>((resolve) => {
      kernel.listener = (m) => m.type === 'ready' && resolve(null);
      kernel.onExit = (why) => resolve(why);
    });
    if (ready !== null) {
      return {
        nb,
        ok: false,
        peakRssBytes: null,
        failure: {
          n: 0,
          of: codeCells.length,
          source: '',
          reason: `${ready} before the first cell`,
          output: kernel.raw,
        },
      };
    }
    let peak: number | null = null;
    for (let i = 0; i < codeCells.length; i++) {
      const cell = codeCells[i]!;
      const event = { n: i + 1, of: codeCells.length, cell };
      opts.onCellStart?.(event);
      const start = Date.now();
      const outputs: NbOutput[] = [];
      const byDisplayId = new Map<string, NbOutput>();
      const reply = await new Promise<{ status: string; count: number | null } | { died: string }>(
        (resolve) => {
          let timedOut = false;
          // setTimeout would fire at once for Infinity (and cannot wait beyond ~24.8 days): no timer then.
          const limited = Number.isFinite(opts.timeoutSeconds) && opts.timeoutSeconds > 0;
          const timer = limited
            ? setTimeout(() => {
                timedOut = true;
                void kernel.stop(2000);
              }, opts.timeoutSeconds * 1000)
            : undefined;
          kernel.onExit = (why) => {
            clearTimeout(timer);
            resolve({
              died: timedOut
                ? `the cell ran longer than --timeout ${opts.timeoutSeconds} s; the kernel was stopped`
                : why,
            });
          };
          kernel.listener = (m) => {
            if (m.type === 'stream') {
              opts.onStream?.(m.name, m.text);
              const last = outputs[outputs.length - 1];
              // Consecutive writes to one stream are one output, as Jupyter stores them.
              if (last && last.output_type === 'stream' && last.name === m.name)
                last.text = `${String(last.text)}${m.text}`;
              else outputs.push({ output_type: 'stream', name: m.name, text: m.text });
            } else if (m.type === 'display') {
              const existing = m.displayId ? byDisplayId.get(m.displayId) : undefined;
              if (m.update) {
                if (existing) {
                  existing.data = m.data;
                  existing.metadata = m.metadata;
                }
                return;
              }
              const out: NbOutput = { output_type: 'display_data', data: m.data, metadata: m.metadata };
              if (m.displayId) byDisplayId.set(m.displayId, out);
              outputs.push(out);
            } else if (m.type === 'reply') {
              clearTimeout(timer);
              resolve({ status: m.status, count: m.count });
            }
          };
          kernel.send({ type: 'execute', code: cellSource(cell) });
        },
      );
      for (const o of outputs) if (o.output_type === 'stream') o.text = sourceLines(String(o.text));
      cell.outputs = outputs;
      const seconds = (Date.now() - start) / 1000;
      peak = kernel.peakRssBytes() ?? peak;
      if ('died' in reply || reply.status !== 'ok') {
        opts.onCellDone?.({ ...event, seconds, ok: false, peakRssBytes: peak });
        const reason =
          'died' in reply
            ? reply.died
            : reply.status === 'abort'
              ? 'the cell was aborted'
              : 'the cell threw an error or did not compile';
        const raw = 'died' in reply ? kernel.raw : '';
        return {
          nb,
          ok: false,
          peakRssBytes: peak,
          failure: {
            n: i + 1,
            of: codeCells.length,
            source: cellSource(cell),
            reason,
            output: `${fmtStreams(cell.outputs)}${raw}`,
          },
        };
      }
      cell.execution_count = reply.count;
      opts.onCellDone?.({ ...event, seconds, ok: true, peakRssBytes: peak });
    }
    return { nb, ok: true, peakRssBytes: peak };
  } finally {
    if (kernel.alive) await kernel.shutdown();
    else await kernel.stop(0);
    current = null;
  }
}
