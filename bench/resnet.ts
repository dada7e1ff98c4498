/** ResNet-50 training throughput and peak memory, ours vs torchvision's, each in a fresh process. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../src/config.js';
import { peerName, runPeer } from './peer.js';
import { faster, smaller, type BenchGroup, type BenchResult } from './registry.js';

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
    for (const c of CONFIGS) {
      const label = `resnet50 train ${c.size}px b${c.batch}`;
      const mine = ours(c);
      const peer = runPeer('resnet.py', c);
      if (!peer.ok) console.warn(`peer failed: ${peer.reason}`);
      const p = peer.ok ? (peer.data as Record<string, number>) : null;
      results.push(
        faster(`${label} throughput`, mine.images_per_sec, 'images/s', peerName, p?.images_per_sec ?? null),
      );
      results.push(smaller(`${label} peak RSS`, mine.max_rss_mb, 'MB', peerName, p?.max_rss_mb ?? null));
    }
    return results;
  },
};
