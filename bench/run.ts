/**
 * `npm run bench [-- --only conv,resnet]`: runs the bench groups, prints a table and writes
 * bench-results.json (a list of { name, value, unit, peer, peerValue, ratio, gemm }) in the repo
 * root; gemm is the GEMM the native kernels ran on (CXR_GEMM chooses; native/README.md).
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { registerAcceleratedBackend } from '../src/backend/index.js';
import { loadNative } from '../src/backend/native.js';
import { repoRoot } from '../src/config.js';
import { BENCH_GROUPS } from './groups.js';
import type { BenchResult } from './registry.js';

const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? (process.argv[onlyArg + 1] ?? '').split(',').filter(Boolean) : null;
const unknown = (only ?? []).filter((id) => !BENCH_GROUPS.some((g) => g.id === id));
if (unknown.length > 0) {
  console.error(
    `unknown bench group(s): ${unknown.join(', ')}; known: ${BENCH_GROUPS.map((g) => g.id).join(', ')}`,
  );
  process.exit(2);
}

const reg = registerAcceleratedBackend();
console.log(`backend: ${reg.ok ? `cxr-cpu (${reg.reason})` : `plain tfjs cpu: ${reg.reason}`}`);
if (!reg.ok) await tf.setBackend('cpu');
const nativeInfo = loadNative().addon?.info();
const gemm = !nativeInfo
  ? 'none'
  : nativeInfo.gemm === 'bundled'
    ? `bundled:${/(\w+) micro-kernel/.exec(nativeInfo.blas)?.[1] ?? '?'}`
    : nativeInfo.gemm;
console.log(`gemm: ${gemm}`);

/** Timings are only comparable on an otherwise idle machine; say so when it is not. */
function loadNote(when: string): void {
  const load = os.loadavg()[0];
  const cores = os.cpus().length;
  if (load > cores * 0.75) {
    console.warn(
      `warning: machine busy ${when} (1-min load ${load.toFixed(1)} on ${cores} cores); ` +
        'timings of both sides are unreliable, and OpenMP-based PyTorch suffers more from it',
    );
  }
}

const fmt = (v: number | null) =>
  v == null ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const results: BenchResult[] = [];
loadNote('at start');
for (const group of BENCH_GROUPS.filter((g) => !only || only.includes(g.id))) {
  console.log(`\n== ${group.id}: ${group.description}`);
  const t0 = performance.now();
  const rows = await group.run();
  results.push(...rows.map((r) => ({ ...r, gemm })));
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(
    `${'name'.padEnd(width)}  ${'ours'.padStart(8)}  ${'peer'.padStart(8)}  ${'ratio'.padStart(6)}  unit`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(width)}  ${fmt(r.value).padStart(8)}  ${fmt(r.peerValue).padStart(8)}  ` +
        `${fmt(r.ratio).padStart(6)}  ${r.unit}`,
    );
  }
  console.log(
    `(${group.id}: ${((performance.now() - t0) / 1000).toFixed(0)} s; peer: ${rows[0]?.peer ?? '-'}; ratio > 1: ours better)`,
  );
}
loadNote('at end');
const file = path.join(repoRoot(), 'bench-results.json');
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${path.relative(process.cwd(), file) || file}`);
