/**
 * Provenance. Every results file carries a manifest saying which profile, config, seed, backend,
 * package versions and commit made it, and how long it took (docs/ARCHITECTURE.md, "Conventions").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { engineInfo } from './engine.js';
import { writeJsonAtomic } from './io.js';

export interface Manifest {
  notebook: string;
  profile: string;
  seed: number;
  config: Config;
  backend: { name: string; path: string } | null;
  versions: Record<string, string>;
  git: { commit: string; dirty: boolean } | null;
  node: string;
  /** Seconds from the run's start (`startRun`) to this write. */
  wallSeconds: number;
}

/** A results file: manifest plus data. */
export interface Results<T> {
  manifest: Manifest;
  data: T;
}

const TRACKED_PACKAGES = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'tslab',
  'plotly.js-dist',
  'arquero',
];

function packageVersion(root: string, name: string): string | null {
  const p = join(root, 'node_modules', name, 'package.json');
  if (!existsSync(p)) return null;
  return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
}

/** The versions of the packages whose behaviour a result depends on (absent ones are left out). */
export function packageVersions(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of TRACKED_PACKAGES) {
    const v = packageVersion(root, name);
    if (v) out[name] = v;
  }
  return out;
}

/** The commit of the working tree and whether it has uncommitted changes; null outside git. */
export function gitState(root: string): { commit: string; dirty: boolean } | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return null;
  }
}

/** A run in progress: knows its config and start time, and writes results with their manifest. */
export interface Run {
  config: Config;
  startedAt: number;
  manifest(): Manifest;
  /** Writes `results/<profile>/<notebook>/<name>.json` atomically and returns its path. */
  save<T>(name: string, data: T): string;
}

/** Starts a run: the clock for `wallSeconds` and the place results go. */
export function startRun(config: Config): Run {
  const startedAt = Date.now();
  const versions = packageVersions(config.paths.root);
  const git = gitState(config.paths.root);
  const run: Run = {
    config,
    startedAt,
    manifest(): Manifest {
      const e = engineInfo();
      return {
        notebook: config.notebook,
        profile: config.profile,
        seed: config.seed,
        config,
        backend: e ? { name: e.backend, path: e.path } : null,
        versions,
        git,
        node: process.versions.node,
        wallSeconds: Math.round((Date.now() - startedAt) / 10) / 100,
      };
    },
    save<T>(name: string, data: T): string {
      const path = resultsPath(config, name);
      const results: Results<T> = { manifest: run.manifest(), data };
      writeJsonAtomic(path, results);
      return path;
    },
  };
  return run;
}

/** Where a notebook's named result lives. */
export function resultsPath(config: Config, name: string, notebook = config.notebook): string {
  return join(config.paths.results, notebook, `${name}.json`);
}

/**
 * Reads a result written by `Run.save`, possibly by an earlier notebook; says which notebook to run
 * first when it is missing.
 */
export function loadResults<T>(config: Config, notebook: string, name: string): Results<T> {
  const path = resultsPath(config, name, notebook);
  if (!existsSync(path)) {
    throw new Error(`missing ${path}: run notebook ${notebook} first (profile ${config.profile})`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as Results<T>;
}
