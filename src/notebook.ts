/**
 * The shared first cell of every notebook: engine, seeded RNG, provenance and the figure/table
 * writers bound to the notebook's config (docs/ARCHITECTURE.md, "Notebook habits", 1).
 */
import type { Config } from './config.js';
import { backendLine, initEngine, type EngineInfo } from './engine.js';
import { startRun, type Run } from './manifest.js';
import { show } from './plots/show.js';
import type { Figure } from './plots/figure.js';
import { showTable, type TableData } from './plots/table.js';
import { makeRng, type Rng } from './rng.js';

export interface NotebookSession {
  config: Config;
  engine: EngineInfo;
  /** The notebook's root generator; fork it per purpose (`rng.fork('split')`). */
  rng: Rng;
  run: Run;
  /** Shows a figure inline and writes figures/<name>.html and .png. */
  show(fig: Figure, name: string): void;
  /** Shows a table inline and writes figures/<name>.csv. */
  table(t: TableData, name: string, opts?: { caption?: string; digits?: number }): void;
  /** Writes results/<profile>/<notebook>/<name>.json with its manifest. */
  save<T>(name: string, data: T): void;
}

/** Starts a notebook: picks the backend, prints the backend line, seeds, starts the run clock. */
export async function startNotebook(config: Config): Promise<NotebookSession> {
  const engine = await initEngine(config.backend);
  console.log(backendLine(engine));
  console.log(`profile: ${config.profile}; seed: ${config.seed}; notebook: ${config.notebook}`);
  const run = startRun(config);
  const target = { ...config.plots, dir: config.paths.figures };
  return {
    config,
    engine,
    rng: makeRng(config.seed).fork(config.notebook),
    run,
    // These return nothing so that a cell ending in one of them shows the output, not a path.
    show: (fig, name) => void show(fig, name, target),
    table: (t, name, opts) => void showTable(t, name, config.paths.figures, opts),
    save: (name, data) => void run.save(name, data),
  };
}
