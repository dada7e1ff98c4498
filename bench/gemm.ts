/**
 * The bundled SGEMM against the system BLAS (OpenBLAS), both called through the addon in the
 * same process on the same buffers, in alternating rounds so that a load change hits both:
 * GFLOP/s of the bundled GEMM (as it runs without a BLAS: the best micro-kernel, AVX2 for products
 * at most 16 wide where the best is AVX-512), with OpenBLAS as the peer (ratio =
 * bundled / OpenBLAS). Shapes: a square product and the GEMMs of ResNet convolutions (im2col
 * forward, input and filter gradient) and of the demo's narrow network.
 */
import { loadNative } from '../src/backend/native.js';
import { mulberry32 } from '../test/backend/helpers.js';
import { faster, median, type BenchGroup, type BenchResult } from './registry.js';

interface GemmSpec {
  name: string;
  ta: boolean;
  tb: boolean;
  m: number;
  n: number;
  k: number;
}

const SPECS: GemmSpec[] = [
  { name: 'square', ta: false, tb: false, m: 1024, n: 1024, k: 1024 },
  // conv3x3 b8 56x56 64->64 as im2col: forward, input gradient (dy w^T), filter gradient (x^T dy)
  { name: 'conv3x3 56px fwd', ta: false, tb: false, m: 25088, n: 64, k: 576 },
  { name: 'conv3x3 56px dgrad', ta: false, tb: true, m: 25088, n: 576, k: 64 },
  { name: 'conv3x3 56px wgrad', ta: true, tb: false, m: 576, n: 64, k: 25088 },
  // conv1x1 b8 14x14 1024->256 (ResNet-50 stage 3)
  { name: 'conv1x1 14px fwd', ta: false, tb: false, m: 1568, n: 256, k: 1024 },
  // the demo's width-16 network: conv3x3 b64 16x16 16->16
  { name: 'demo conv3x3 fwd', ta: false, tb: false, m: 16384, n: 16, k: 144 },
];

function fill(size: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = rng() - 0.5;
  return v;
}

export async function run(): Promise<BenchResult[]> {
  const { addon, reason } = loadNative();
  if (!addon) throw new Error(`gemm bench: ${reason}`);
  const info = addon.info();
  const kernel = info.bundledKernels.split(',')[0];
  const hasSystem = info.gemm !== 'bundled';
  if (!hasSystem) console.warn(`gemm: no system BLAS in use (${info.blas}); bundled GEMM rows only`);
  const peer = hasSystem
    ? info.blas.replace(/ \(.*$/, '').replace(/ NO_LAPACKE| DYNAMIC_ARCH| NO_AFFINITY/g, '')
    : null;
  const results: BenchResult[] = [];
  for (const s of SPECS) {
    const a = fill(s.m * s.k, 1);
    const b = fill(s.k * s.n, 2);
    const c = new Float32Array(s.m * s.n);
    const lda = s.ta ? s.m : s.k;
    const ldb = s.tb ? s.k : s.n;
    const call = (which: string) => () =>
      addon.sgemm(which, s.ta ? 1 : 0, s.tb ? 1 : 0, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n);
    const sides = hasSystem ? [call('bundled'), call('system')] : [call('bundled')];
    const times: number[][] = sides.map(() => []);
    for (const f of sides) f(); // warm-up (packing buffers, BLAS threads)
    // Rounds of ~0.3 s per side, alternating, so that a change of load hits both; not call by call,
    // because OpenBLAS's threads spin for a while after each call and would slow the next one.
    for (let round = 0; round < 4; round++) {
      sides.forEach((f, i) => {
        const start = performance.now();
        do {
          const t0 = performance.now();
          f();
          times[i].push((performance.now() - t0) / 1000);
        } while (performance.now() - start < 300);
      });
    }
    const flop = 2 * s.m * s.n * s.k;
    const [ours, theirs] = times.map((t) => flop / median(t) / 1e9);
    const name = `sgemm ${s.ta ? 'T' : 'N'}${s.tb ? 'T' : 'N'} ${s.m}x${s.n}x${s.k} (${s.name}) bundled (${s.n <= 16 && kernel === 'avx512' ? 'avx2' : kernel})`;
    results.push(faster(name, ours, 'GFLOP/s', peer, theirs ?? null));
  }
  return results;
}
