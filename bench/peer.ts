/**
 * Runs a peer script in bench/peers/ with Debian's Python (/usr/bin/python3 and its
 * python3-torch, not whatever `python3` is first on PATH) and returns its JSON output.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../src/config.js';

export const PEER_PYTHON = '/usr/bin/python3';

export interface PeerOutput {
  ok: true;
  data: Record<string, unknown>;
}
export interface PeerFailure {
  ok: false;
  reason: string;
}

/** The peer's name as shown in results, with its torch version once known. */
export let peerName = 'pytorch (Debian python3-torch)';

export function runPeer(script: string, args: unknown, timeoutSeconds = 600): PeerOutput | PeerFailure {
  const file = path.join(repoRoot(), 'bench', 'peers', script);
  const r = spawnSync(PEER_PYTHON, [file, JSON.stringify(args)], {
    encoding: 'utf8',
    timeout: timeoutSeconds * 1000,
    // Same environment as our side, including the OPENBLAS_CORETYPE our loader chose (torch
    // uses OpenBLAS for its matrix products too), and the same two threads.
    env: { ...process.env, OMP_NUM_THREADS: '2' },
  });
  if (r.error) return { ok: false, reason: r.error.message };
  if (r.status !== 0) return { ok: false, reason: (r.stderr || '').trim().split('\n').slice(-3).join(' | ') };
  try {
    const data = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
    const core = process.env.OPENBLAS_CORETYPE;
    if (typeof data.torch === 'string')
      peerName = `pytorch ${data.torch}${core ? ` (OPENBLAS_CORETYPE=${core})` : ''}`;
    return { ok: true, data };
  } catch {
    return { ok: false, reason: `unparseable output: ${r.stdout.slice(-200)}` };
  }
}
