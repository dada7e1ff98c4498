/**
 * ResNet-50 training throughput and peak memory, ours vs torchvision's, each in a fresh process,
 * alternately for `benchRounds()` rounds (registry.ts `alternate`).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../src/config.js';
import { peerName, runPeer } from './peer.js';
import {
  alternate,
  benchRounds,
  faster,
  median,
  smaller,
  type BenchGroup,
  type BenchResult,
} from './registry.js';

const CONFIGS = [
  { size: 64, batch: 32, warmup: 2, steps: 5 },
  { size: 224, batch: 8, warmup: 2, steps: 4 },
];

function ours(config: object): Record<string, number> {
  const worker = path.join(repoRoot(), 'build', 'bench', 'resnetWorker.js');
  const r = spawnSync(process.execPath, [worker, JSON.stringify(config)], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`resnet worker failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, number>;
}

export const resnetBench: BenchGroup = {
  id: 'resnet',
  description: 'ResNet-50 training (SGD momentum, random weights), images/s and peak RSS',
  async run() {
    const results: BenchResult[] = [];
    const rounds = benchRounds();
    for (const c of CONFIGS) {
      const label = `resnet50 train ${c.size}px b${c.batch}`;
      console.log(`  ${label}, ${rounds} round(s) of ours then PyTorch, each in a fresh process`);
      const rss = { ours: [] as number[], peer: [] as number[] };
      const speed = alternate(
        rounds,
        () => {
          const mine = ours(c);
          rss.ours.push(mine.max_rss_mb);
          return mine.images_per_sec;
        },
        () => {
          const peer = runPeer('resnet.py', c);
          if (!peer.ok) {
            console.warn(`peer failed: ${peer.reason}`);
            return { name: peerName, value: null };
          }
          const p = peer.data as Record<string, number>;
          rss.peer.push(p.max_rss_mb);
          return { name: peerName, value: p.images_per_sec };
        },
      );
      results.push({
        ...faster(`${label} throughput`, speed.value, 'images/s', speed.peer, speed.peerValue),
        rounds: speed.rounds,
      });
      results.push(
        smaller(
          `${label} peak RSS`,
          median(rss.ours),
          'MB',
          peerName,
          rss.peer.length > 0 ? median(rss.peer) : null,
        ),
      );
    }
    return results;
  },
};
