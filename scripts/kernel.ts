/**
 * A tslab kernel without Jupyter: the child process that `scripts/notebookRunner.ts` starts for one
 * notebook. tslab's Jupyter handler takes plain callbacks for the cell's text and rich output; only
 * its ZmqServer needs zeromq, so this process feeds the handler over Node's IPC channel instead.
 *
 * Messages in: `{ type: 'execute', code }`, `{ type: 'shutdown' }`.
 * Messages out: `{ type: 'ready' }`, `{ type: 'stream', name, text }`,
 * `{ type: 'display', data, metadata, displayId, update }`, `{ type: 'reply', status, count }`.
 *
 * The runner starts this process as the leader of its own process group, so that one signal to the
 * group stops it and everything it started (Chromium for the PNGs). If the runner dies without
 * stopping it (SIGKILL), the IPC channel closes and this process takes its group down itself.
 */
import { createRequire } from 'node:module';

export type KernelRequest = { type: 'execute'; code: string } | { type: 'shutdown' };
export type KernelMessage =
  | { type: 'ready' }
  | { type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | {
      type: 'display';
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
      displayId: string | null;
      update: boolean;
    }
  | { type: 'reply'; status: 'ok' | 'error' | 'abort'; count: number | null };

interface Converter {
  close(): void;
}
interface DisplayData {
  data: Record<string, string | Uint8Array>;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}
interface Handler {
  handleExecute(
    req: { code: string; silent: boolean; store_history: boolean; user_expressions: object },
    writeStream: (name: string, text: string) => void,
    writeDisplayData: (data: DisplayData, update: boolean) => void,
  ): Promise<{ status: string; execution_count?: number }>;
  close(): void;
}

function send(msg: KernelMessage): void {
  process.send?.(msg);
}

/** Takes the whole process group down (this process leads it). */
function stopGroup(): never {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // not a group leader (started by hand): this process alone
  }
  process.exit(1);
}

function main(): void {
  if (!process.send) {
    console.error('kernel: start me through scripts/notebookRunner.ts (I talk over an IPC channel)');
    process.exit(2);
  }
  process.on('disconnect', stopGroup);
  // Resolve tslab from the working directory (the notebook's folder), exactly as the notebook's
  // own imports and src/plots/display.ts do, so that all share one copy of tslab's jupyter module.
  const req = createRequire(`${process.cwd()}/kernel.js`);
  const { createConverter } = req('tslab/dist/converter.js') as {
    createConverter(o: { isJS: boolean; isBrowser: boolean }): Converter;
  };
  const { createExecutor } = req('tslab/dist/executor.js') as {
    createExecutor(
      root: string,
      convs: object,
      console: { log: (...a: unknown[]) => void; error: (...a: unknown[]) => void },
    ): { interrupt(): void };
  };
  const { JupyterHandlerImpl } = req('tslab/dist/jupyter.js') as {
    JupyterHandlerImpl: new (executor: object, isJs: boolean) => Handler;
  };
  let node: Converter | undefined;
  let browser: Converter | undefined;
  const convs = {
    get node(): Converter {
      return (node ??= createConverter({ isJS: false, isBrowser: false }));
    },
    get browser(): Converter {
      return (browser ??= createConverter({ isJS: false, isBrowser: true }));
    },
    close(): void {
      node?.close();
      browser?.close();
    },
  };
  void convs.node; // warm the TypeScript service before the first cell, as tslab's kernel does
  const executor = createExecutor(process.cwd(), convs, { log: console.log, error: console.error });
  const handler = new JupyterHandlerImpl(executor, false);
  process.on('SIGINT', () => executor.interrupt());
  // A kernel outlives a cell's stray async error, as tslab's own kernel does; the error is shown
  // in the output of whichever cell is running.
  process.on('uncaughtException', (err) => console.error('UncaughtException:', err));
  process.on('unhandledRejection', (reason) => console.error('UnhandledPromiseRejection:', reason));

  const writeStream = (name: string, text: string): void =>
    send({ type: 'stream', name: name === 'stderr' ? 'stderr' : 'stdout', text });
  const writeDisplayData = (d: DisplayData, update: boolean): void => {
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(d.data))
      data[k] = typeof v === 'string' ? v : Buffer.from(v).toString('base64');
    send({
      type: 'display',
      data,
      metadata: d.metadata ?? {},
      displayId: d.transient?.display_id ?? null,
      update,
    });
  };
  process.on('message', (m: KernelRequest) => {
    if (m.type === 'shutdown') {
      handler.close();
      process.exit(0);
    }
    if (m.type === 'execute') {
      void handler
        .handleExecute(
          { code: m.code, silent: false, store_history: true, user_expressions: {} },
          writeStream,
          writeDisplayData,
        )
        .then((r) => {
          const status = r.status === 'ok' || r.status === 'abort' ? r.status : 'error';
          send({ type: 'reply', status, count: r.execution_count ?? null });
        });
    }
  });
  send({ type: 'ready' });
}

main();
