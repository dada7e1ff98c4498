/**
 * Bench: Barlow Twins training throughput (images/s, one image = its two views) for ResNet-50 at
 * 64 px (batch 32) and 224 px (batch 8), on the fastest backend that loads (`initEngine('auto')`),
 * beside PyTorch on the same machine (bench/peers/pretrain_torch.py with Debian's /usr/bin/python3,
 * 2 threads). Both sides: 1-channel ResNet-50, projector reduced to 2048-2048-2048 (the paper's
 * 8192-8192-8192 would dominate the time at these batch sizes), the same loss, main.py's LARS; views
 * are random tensors made in advance (augmentation not timed). Ours and the peer alternate for
 * `benchRounds()` rounds (registry.ts `alternate`); each side builds its model afresh every round.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { repoRoot } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { makeRng } from '../src/rng.js';
import { BarlowTwins, Lars } from '../src/models/barlowTwins.js';
import { ResNet } from '../src/models/resnet.js';
import { alternate, benchRounds, faster, type BenchResult as PretrainBenchResult } from './registry.js';

const PROJECTOR = [2048, 2048, 2048];

function ours(size: number, batch: number, steps: number, warmup: number): number {
  const rng = makeRng(1);
  const bt = new BarlowTwins(
    new ResNet({ blocks: [3, 4, 6, 3], width: 64, inChannels: 1, zeroInitResidual: true }, rng),
    PROJECTOR,
    rng,
  );
  const opt = new Lars();
  const y1 = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y2 = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const vars = bt.trainable();
  const byTf = new Map([...vars].map(([n, v]) => [v.name, n]));
  const step = (): void => {
    const { value, grads } = tf.variableGrads(() => bt.loss(y1, y2), [...vars.values()]);
    const named: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) named[byTf.get(k)!] = g;
    opt.applyGradients(vars, named, 0.01, 0.0002);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  for (let i = 0; i < warmup; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const dt = (performance.now() - t0) / 1000 / steps;
  tf.dispose([y1, y2]);
  opt.dispose();
  bt.dispose();
  return batch / dt;
}

function peer(
  size: number,
  batch: number,
  steps: number,
  warmup: number,
): { name: string; value: number | null } {
  const r = spawnSync(
    '/usr/bin/python3',
    [
      join(repoRoot(), 'bench', 'peers', 'pretrain_torch.py'),
      JSON.stringify({ size, batch, steps, warmup, threads: 2, projector: PROJECTOR }),
    ],
    { encoding: 'utf8', timeout: 900_000, env: { ...process.env, OMP_NUM_THREADS: '2' } },
  );
  try {
    const d = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { torch: string; images_per_s: number };
    return { name: `pytorch ${d.torch} (2 threads)`, value: d.images_per_s };
  } catch {
    return {
      name: `pytorch (failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0]})`,
      value: null,
    };
  }
}

/**
 * Runs both settings; `steps` timed steps after `warmup` untimed ones on each side (default 2: a
 * process's first step costs about twice a later one, its second ~10 % more, while buffers and
 * caches fill; ResNet-50 at 224 px, ours: 7.2, 3.7, 3.5, 3.4 s).
 */
export async function run(
  opts: { steps64?: number; steps224?: number; warmup?: number } = {},
): Promise<PretrainBenchResult[]> {
  const warmup = opts.warmup ?? 2;
  const info = await initEngine('auto');
  const out: PretrainBenchResult[] = [];
  const rounds = benchRounds();
  for (const [size, batch, steps] of [
    [64, 32, opts.steps64 ?? 3],
    [224, 8, opts.steps224 ?? 2],
  ] as const) {
    const r = alternate(
      rounds,
      () => ours(size, batch, steps, warmup),
      () => peer(size, batch, steps, warmup),
    );
    out.push({
      ...faster(
        `Barlow Twins train ResNet-50 ${size}px batch ${batch} (${info.backend}, projector 2048-2048-2048)`,
        r.value,
        'images/s',
        r.peer,
        r.peerValue,
      ),
      rounds: r.rounds,
    });
  }
  return out;
}

// `node build/bench/pretrain.js` runs it alone.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/build\//, '/build/'))) {
  run().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
