/**
 * Locating and running the Python reference implementations ("peers") beside our benchmarks.
 * Peer source code is never committed: it is looked up in `<repo>/.cache/peers/` (git-ignored;
 * see bench/peers/README.md) or in `$CXR_PEERS_DIR`, and run with Debian's `/usr/bin/python3`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/config.js';

export type { BenchResult } from '../registry.js';

/** The peers cache folder. */
export function peersDir(): string {
  return process.env.CXR_PEERS_DIR ?? join(repoRoot(), '.cache', 'peers');
}

/** Python interpreter for the peers (Debian's, which has numpy). */
export const PYTHON = process.env.CXR_PEER_PYTHON ?? '/usr/bin/python3';

/**
 * Runs `script` (Python source) with `input` written as JSON to `<tmp>/input.json`; the script
 * writes `<tmp>/output.json`. Returns the parsed output, or an Error saying why the peer is unavailable.
 */
export function runPython(script: string, input: unknown, timeoutMs = 600_000): Record<string, any> | Error {
  if (!existsSync(PYTHON)) return new Error(`${PYTHON} not found`);
  const dir = mkdtempSync(join(tmpdir(), 'cxr-peer-'));
  try {
    writeFileSync(join(dir, 'input.json'), JSON.stringify(input));
    writeFileSync(join(dir, 'peer.py'), script);
    const r = spawnSync(PYTHON, [join(dir, 'peer.py'), dir], {
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 64 << 20,
    });
    if (r.error) return r.error;
    if (r.status !== 0)
      return new Error(
        `peer exited with ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`,
      );
    return JSON.parse(readFileSync(join(dir, 'output.json'), 'utf8')) as Record<string, any>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median of a few timings (ms). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Prints one line to stderr saying why a peer is missing (once per benchmark). */
export function peerUnavailable(what: string, why: string): void {
  process.stderr.write(`[bench] peer ${what} unavailable: ${why} (see bench/peers/README.md)\n`);
}
