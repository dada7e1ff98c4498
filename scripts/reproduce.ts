/**
 * `npm run reproduce [-- --profile smoke|demo|paper] [--only 01,02] [--timeout SECONDS] [--quiet]`
 *
 * Executes the notebooks in order on the tslab kernel (scripts/notebookRunner.ts: Node only, no
 * Jupyter) and writes executed copies to executed/<profile>/ with each notebook's wall time in
 * executed/<profile>/timings.json. The source notebooks stay output-free. A demo run also writes the
 * slim copies that are committed (notebooks/executed/, scripts/slimNotebook.ts), and after a whole
 * demo run (no --only) the tables and timings in REPRODUCTION.md are rewritten (scripts/reproduction.ts).
 *
 * The run owns its kernel: SIGINT, SIGTERM or SIGHUP to this process, or the death of the npm that
 * started it, stops the kernel and everything it started within seconds.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROFILE_NAMES, repoRoot, type ProfileName } from '../src/config.js';
import { cellSource, notebookJson, runNotebook, stopKernel } from './notebookRunner.js';
import { preflight } from './preflight.js';
import { updateReproduction } from './reproduction.js';
import { SLIM_DIR, slimNotebook } from './slimNotebook.js';

interface Args {
  profile: ProfileName;
  only: string[] | null;
  /** Seconds per cell; Infinity: no limit. */
  timeout: number;
  quiet: boolean;
  dryRun: boolean;
}

/**
 * The default per-cell limit: an hour catches a hung cell in smoke and demo, whose longest cell takes
 * minutes; the `paper` profile's cells train for days (600 Barlow Twins epochs, 50 detection epochs per
 * run), so it has none (its dry run keeps the hour).
 */
function defaultTimeout(profile: ProfileName, dryRun: boolean): number {
  return profile === 'paper' && !dryRun ? Infinity : 3600;
}

function fail(msg: string): never {
  console.error(`reproduce: ${msg}`);
  process.exit(1);
}

function parseArgs(argv: string[]): Args {
  const env = process.env.CXR_PROFILE;
  let profile = (env && env !== '' ? env : 'demo') as ProfileName;
  let only: string[] | null = null;
  let timeout: number | null = null;
  let quiet = false;
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a.startsWith('--profile')) profile = value() as ProfileName;
    else if (a.startsWith('--only'))
      only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a.startsWith('--timeout')) {
      const v = value();
      timeout = v === 'none' || v === '0' ? Infinity : Number(v);
    } else if (a === '--quiet') quiet = true;
    else if (a === '--dry-run') dryRun = true;
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: npm run reproduce -- [--profile smoke|demo|paper] [--dry-run] [--only 01,02] [--timeout SECONDS_PER_CELL|none] [--quiet]\n' +
          '  --timeout: default 3600 s per cell; none for the paper profile (its cells run for days); none or 0: no limit\n' +
          "  --dry-run: the profile's whole grid and models on a phantom at its data sizes, every training stopped after a step or two\n" +
          '             (--profile paper --dry-run: the rehearsal of the paper run on a CPU; --profile smoke --dry-run: the same path in CI)',
      );
      process.exit(0);
    } else fail(`unknown argument ${a} (try --help)`);
  }
  if (!PROFILE_NAMES.includes(profile))
    fail(`profile '${profile}' is not one of ${PROFILE_NAMES.join(', ')}`);
  if (timeout !== null && !(timeout > 0)) fail('--timeout must be a positive number of seconds, or none');
  return { profile, only, timeout: timeout ?? defaultTimeout(profile, dryRun), quiet, dryRun };
}

function fmt(seconds: number): string {
  const m = Math.floor(Math.round(seconds) / 60);
  return m > 0 ? `${m}m${String(Math.round(seconds) % 60).padStart(2, '0')}s` : `${seconds.toFixed(1)}s`;
}

function firstLine(src: string): string {
  const line = src.split('\n').find((l) => l.trim() && !l.trim().startsWith('//'));
  return (line ?? '').trim().slice(0, 70);
}

function writeAtomic(path: string, text: string | Buffer): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** A kernel's peak resident memory as printed beside each cell (the kernel's high-water mark so far). */
function fmtGiB(bytes: number | null): string {
  return bytes === null ? '' : `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Keeps each notebook's last wall time and its kernel's peak resident memory in <out>/timings.json
 * (REPRODUCTION.md quotes the times; the peaks are what a memory plan is checked against).
 */
function recordTiming(out: string, name: string, seconds: number, peakRssBytes: number | null): void {
  const path = join(out, 'timings.json');
  let timings: Record<string, { seconds: number; finished: string; peakRssGiB?: number }> = {};
  try {
    timings = JSON.parse(readFileSync(path, 'utf8')) as typeof timings;
  } catch {
    // first run, or an unreadable file: start afresh
  }
  timings[name] = {
    seconds: Math.round(seconds * 10) / 10,
    finished: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(peakRssBytes === null ? {} : { peakRssGiB: Math.round((peakRssBytes / 2 ** 30) * 100) / 100 }),
  };
  const sorted = Object.fromEntries(
    Object.keys(timings)
      .sort()
      .map((k) => [k, timings[k]]),
  );
  writeAtomic(path, `${JSON.stringify(sorted, null, 2)}\n`);
}

/** Where the run is, for the one line printed when it is stopped. */
const position = { notebook: '', cell: 0, of: 0, started: Date.now(), remaining: [] as string[] };

/** Set once a signal or a parent's end stops the run: from then on only the stop line is printed. */
let stopping = false;

function installStopHandlers(args: Args): void {
  const stop = (why: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    const where = !position.notebook
      ? 'before the first notebook'
      : position.cell
        ? `in ${position.notebook}, cell ${position.cell}/${position.of}`
        : `in ${position.notebook} (its kernel was starting)`;
    const resume = `npm run reproduce -- --profile ${args.profile}${args.dryRun ? ' --dry-run' : ''}${position.remaining.length ? ` --only ${position.remaining.join(',')}` : ''}`;
    void stopKernel(2000).then(() => {
      console.error(
        `\nreproduce: stopped (${why}) ${where} after ${fmt((Date.now() - position.started) / 1000)}; finished work is kept, resume with: ${resume}`,
      );
      process.exit(code);
    });
  };
  process.on('SIGINT', () => stop('Ctrl-C', 130));
  process.on('SIGTERM', () => stop('SIGTERM', 143));
  process.on('SIGHUP', () => stop('SIGHUP', 129));
  // npm runs this script under a shell; if either is killed (even with SIGKILL) nothing forwards a
  // signal here, so watch them (scripts/reproduce.mjs lists them) and stop when one goes away.
  const watched = (process.env.CXR_WATCH_PIDS ?? String(process.ppid))
    .split(',')
    .map(Number)
    .filter((p) => p > 1);
  setInterval(() => {
    for (const pid of watched) {
      try {
        process.kill(pid, 0);
      } catch {
        stop(`its parent process ${pid} ended`, 1);
      }
    }
  }, 1000).unref();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = repoRoot();
  installStopHandlers(args);
  preflight(root, { quiet: args.quiet });
  const nbDir = join(root, 'notebooks');
  let notebooks = readdirSync(nbDir)
    .filter((f) => /^\d\d_.+\.ipynb$/.test(f))
    .sort();
  if (args.only) {
    const wanted = args.only;
    const unknown = wanted.filter((w) => !notebooks.some((n) => n.startsWith(w)));
    if (unknown.length) fail(`--only ${unknown.join(',')}: no such notebook (have ${notebooks.join(', ')})`);
    notebooks = notebooks.filter((n) => wanted.some((w) => n.startsWith(w)));
  }
  const folder = args.dryRun ? `${args.profile}-dry-run` : args.profile;
  const out = join(root, 'executed', folder);
  mkdirSync(out, { recursive: true });
  console.log(
    `reproduce: profile ${args.profile}${args.dryRun ? ' (dry run)' : ''}, ${notebooks.length} notebook(s); executed copies in ${relative(root, out)}/; per-cell limit ${Number.isFinite(args.timeout) ? `${args.timeout} s` : 'none'}`,
  );
  const env = { ...process.env, CXR_PROFILE: args.profile, CXR_DRY_RUN: args.dryRun ? '1' : '0' };
  const total = Date.now();
  for (const [i, file] of notebooks.entries()) {
    const name = file.replace(/\.ipynb$/, '');
    position.notebook = name;
    position.cell = 0;
    position.remaining = notebooks.slice(i).map((n) => n.slice(0, 2));
    const start = Date.now();
    let header = false;
    const result = await runNotebook(join(nbDir, file), {
      timeoutSeconds: args.timeout,
      env,
      onCellStart: ({ n, of }) => {
        position.cell = n;
        position.of = of;
        if (!header) console.log(`[${i + 1}/${notebooks.length}] ${name}: ${of} code cells`);
        header = true;
      },
      onCellDone: ({ n, of, cell, seconds, ok, peakRssBytes }) => {
        if (!stopping)
          console.log(
            `    cell ${n}/${of} ${fmt(seconds).padStart(7)} ${fmtGiB(peakRssBytes).padStart(9)}  ${ok ? '' : 'FAILED  '}${firstLine(cellSource(cell))}`,
          );
      },
      onStream: args.quiet
        ? undefined
        : (_name, text) => {
            if (stopping) return;
            for (const line of text.split('\n'))
              if (line.trim()) console.log(`      | ${line.slice(0, 160)}`);
          },
    });
    if (stopping) await new Promise(() => {}); // the stop handler prints and exits
    const outPath = join(out, file);
    writeAtomic(outPath, notebookJson(result.nb));
    if (!result.ok) {
      const f = result.failure!;
      console.error(
        `\nFAILED: ${name}, cell ${f.n} of ${f.of}, after ${fmt((Date.now() - start) / 1000)}: ${f.reason}`,
      );
      if (f.source) console.error(`---- cell source ----\n${f.source}`);
      const tail = f.output.trim().split('\n').slice(-40).join('\n');
      if (tail) console.error(`---- output (last 40 lines) ----\n${tail}`);
      console.error(`\nPartial executed copy: ${relative(root, outPath)}`);
      console.error(
        `Resume after a fix with: npm run reproduce -- --profile ${args.profile}${args.dryRun ? ' --dry-run' : ''} --only ${position.remaining.join(',')}`,
      );
      process.exit(1);
    }
    recordTiming(out, name, (Date.now() - start) / 1000, result.peakRssBytes);
    let slimNote = '';
    if (args.profile === 'demo' && !args.dryRun) {
      const slimDir = join(root, SLIM_DIR);
      mkdirSync(slimDir, { recursive: true });
      writeAtomic(join(slimDir, file), notebookJson(slimNotebook(result.nb, root)));
      slimNote = ` (slim copy: ${SLIM_DIR}/${file})`;
    }
    console.log(
      `    done in ${fmt((Date.now() - start) / 1000)}, kernel peak memory ${fmtGiB(result.peakRssBytes).trim() || 'unknown'} -> ${relative(root, outPath)}${slimNote}`,
    );
  }
  position.notebook = '';
  console.log(`all ${notebooks.length} notebook(s) done in ${fmt((Date.now() - total) / 1000)}`);
  // Only a whole run rewrites the page: a partial one would mix its timings with an older run's.
  if (args.profile === 'demo' && !args.dryRun && !args.only && existsSync(join(root, 'REPRODUCTION.md'))) {
    const done = updateReproduction(root);
    if (done.length) console.log(`REPRODUCTION.md: tables and timings rewritten (${done.join(', ')})`);
  }
  process.exit(0);
}

main().catch((e: unknown) => fail((e as Error).stack ?? String(e)));
