/** File writing that a crash cannot leave half-done: write a temporary file, then rename. */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `<path>.tmp-PID` files left by writers that were killed mid-write (their process is
 * gone); a live writer's file is left alone. Returns the files removed.
 */
export function removeStaleTempFiles(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

/**
 * Writes `data` to `path` atomically (same-directory temp file + rename), creating folders; stale
 * temp files of killed writers are removed first. A full disk is an error that names the file and
 * says what to do; the previous file at `path` stays intact.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  removeStaleTempFiles(path);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw explainWriteError(path, data.length, e);
  }
}

/** A write error as the person at the keyboard needs it: a full disk names the file and what to do. */
export function explainWriteError(path: string, bytes: number, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new Error(
      `disk full writing ${path} (${bytes} bytes): free space on ${dirname(path)} and rerun; the previous version of the file, if any, is intact`,
      { cause: e },
    );
  }
  return e as Error;
}

/** Writes JSON atomically, pretty-printed with a trailing newline so diffs stay readable. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
