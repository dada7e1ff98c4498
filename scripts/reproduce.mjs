#!/usr/bin/env node
// `npm run reproduce`: compiles src/ (tsc) and then runs build/scripts/reproduce.js in this same
// process. One process from start to end, so that a signal to `npm run reproduce` (which npm passes
// to its child) reaches what owns the compiler and, later, the notebook kernel; a nested
// `npm run build` under a shell would be orphaned by such a signal and keep running.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tscBin = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const tsc = spawn(process.execPath, [tscBin, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });

/**
 * The processes whose end means "stop": the parent, and under npm every ancestor up to npm itself,
 * because a SIGKILL to npm leaves its shell (our parent) alive and waiting. Passed on to
 * build/scripts/reproduce.js in CXR_WATCH_PIDS.
 */
function watchedAncestors() {
  // [_, ppid, command] of a process: /proc on Linux (minimal images have no ps), else ps.
  const parentOf = (pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const ppid = stat.slice(close + 2).split(' ')[1];
      return [stat, ppid, stat.slice(stat.indexOf('(') + 1, close)];
    } catch {
      const r = spawnSync('ps', ['-o', 'ppid=,comm=', '-p', String(pid)], { encoding: 'utf8' });
      return /^\s*(\d+)\s+(\S+)/.exec(r.stdout ?? '');
    }
  };
  const pids = [process.ppid];
  if (!process.env.npm_lifecycle_event) return pids;
  for (let i = 0; i < 3; i++) {
    const pid = pids[pids.length - 1];
    const m = parentOf(pid);
    if (!m || /^npm/.test(m[2]) || Number(m[1]) <= 1) break;
    pids.push(Number(m[1]));
  }
  return pids;
}
const watched = watchedAncestors();
process.env.CXR_WATCH_PIDS = watched.join(',');
const stop = (why, code) => {
  tsc.kill('SIGKILL');
  console.error(
    `\nreproduce: stopped (${why}) while compiling src/; nothing ran yet, start again with: npm run reproduce`,
  );
  process.exit(code);
};
const handlers = {
  SIGINT: () => stop('Ctrl-C', 130),
  SIGTERM: () => stop('SIGTERM', 143),
  SIGHUP: () => stop('SIGHUP', 129),
};
for (const [sig, h] of Object.entries(handlers)) process.on(sig, h);
const watch = setInterval(() => {
  for (const pid of watched) {
    try {
      process.kill(pid, 0);
    } catch {
      stop(`its parent process ${pid} ended`, 1);
    }
  }
}, 1000);
tsc.on('exit', (code, signal) => {
  clearInterval(watch);
  for (const [sig, h] of Object.entries(handlers)) process.off(sig, h);
  if (code !== 0) {
    console.error(`reproduce: compiling src/ failed (${signal ?? `exit ${code}`})`);
    process.exit(code ?? 1);
  }
  import(pathToFileURL(path.join(root, 'build', 'scripts', 'reproduce.js')).href).catch((e) => {
    console.error(`reproduce: ${e.stack ?? e}`);
    process.exit(1);
  });
});
