/**
 * A training process killed with SIGKILL in its second epoch (no handler runs, as in a crash or a lost
 * machine) and started again resumes from the checkpoint of its first epoch, says so, and ends with the
 * same losses, numbers and weights as a run that was never stopped: Barlow Twins pretraining and a
 * detection fine-tuning, each in its own process (test/helpers/killableRun.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/config.js';
import { tempDir } from '../helpers.js';

const script = join(repoRoot(), 'build', 'test', 'helpers', 'killableRun.js');

function run(
  kind: string,
  dir: string,
  killAtRead: number,
): { status: number | null; signal: string | null; out: string } {
  const r = spawnSync(process.execPath, [script, kind, dir, String(killAtRead)], {
    encoding: 'utf8',
    env: { ...process.env, CXR_NUM_THREADS: '1' },
    timeout: 120_000,
  });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

for (const [kind, killAt, resumed] of [
  // Reads: the probe batch, steps 0 and 1 (epoch 1, then its checkpoint), step 2: killed there.
  ['pretrain', 4, /Barlow Twins \(scratch\): resumed from .*bt-\w+\.ckpt at step 2\/4/],
  // Reads of the training images: steps 0 and 1 (then validation and the checkpoint), step 2: killed there.
  ['detection', 3, /none 64px seed 7: resumed from .*detector\.ckpt at step 2\/4/],
] as const) {
  test(`${kind}: killed with SIGKILL in epoch 2 and started again, it resumes from epoch 1's checkpoint and ends as an uninterrupted run`, () => {
    const whole = tempDir();
    const a = run(kind, whole, 0);
    assert.equal(a.status, 0, a.out);
    assert.doesNotMatch(a.out, /resumed from/);

    const cut = tempDir();
    const killed = run(kind, cut, killAt);
    assert.equal(killed.signal, 'SIGKILL', killed.out);
    assert.ok(!existsSync(join(cut, 'result.json')));
    assert.ok(
      readdirSync(join(cut, 'ck')).some((f) => f.endsWith('.ckpt')),
      `a checkpoint of epoch 1 was left: ${readdirSync(join(cut, 'ck')).join(', ')}`,
    );
    const b = run(kind, cut, 0);
    assert.equal(b.status, 0, b.out);
    assert.match(b.out, resumed);
    assert.deepEqual(
      JSON.parse(readFileSync(join(cut, 'result.json'), 'utf8')),
      JSON.parse(readFileSync(join(whole, 'result.json'), 'utf8')),
    );
  });
}
