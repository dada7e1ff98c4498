/**
 * The GEMM under every native kernel: each bundled micro-kernel this CPU runs, and the system
 * BLAS when one loaded, against a double-precision reference on shapes chosen to hit every
 * edge of the blocking (partial register tiles, depth and row blocks cut mid-way, 1 x N and
 * N x 1, leading dimensions wider than the matrix), all four transpose combinations, and
 * alpha/beta (beta = 0 must not read C: it starts as NaN there). Then how CXR_GEMM picks one,
 * and the kernel tests and the training test once more in a child process with the other GEMM
 * forced, so one `npm test` covers both.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadNative, type NativeAddon } from '../../src/backend/native.js';
import { repoRoot } from '../../src/config.js';
import { int, mulberry32, nativeTest, pick, randomValues, type Rng } from './helpers.js';

interface Case {
  ta: boolean;
  tb: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  /** extra columns of the stored matrices beyond what op() needs (strided operands) */
  pad: number;
}

/**
 * Runs one case with `which` and checks every element against the sum in double. The bound is
 * the classical one for a float32 dot product of length k, |err| <= (k + 2) u (|alpha| sum
 * |a||b| + |beta c|) with u = 2^-24, doubled for the final scaling: rounding can reach it only
 * by accident, a wrong index or a missed panel misses it by orders of magnitude.
 */
function check(addon: NativeAddon, which: string, c: Case, rng: Rng): void {
  const { ta, tb, m, n, k, alpha, beta, pad } = c;
  const [ar, ac] = ta ? [k, m] : [m, k];
  const [br, bc] = tb ? [n, k] : [k, n];
  // At least 1, as BLAS requires (OpenBLAS rejects lda = 0 when k = 0 and computes nothing).
  const lda = Math.max(1, ac + pad);
  const ldb = Math.max(1, bc + pad);
  const ldc = n + pad;
  const a = randomValues(rng, Math.max(1, ar * lda));
  const b = randomValues(rng, Math.max(1, br * ldb));
  const c0 =
    beta === 0 ? new Float32Array(Math.max(1, m * ldc)).fill(NaN) : randomValues(rng, Math.max(1, m * ldc));
  const out = Float32Array.from(c0);
  const ran = addon.sgemm(which, ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, out, ldc);
  assert.ok(ran, `${which} did not run`);
  const what = `${which} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta} pad=${pad}`;
  const u = 2 ** -24;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        const x = ta ? a[p * lda + i] : a[i * lda + p];
        const y = tb ? b[j * ldb + p] : b[p * ldb + j];
        sum += x * y;
        mag += Math.abs(x * y);
      }
      const old = beta === 0 ? 0 : beta * c0[i * ldc + j];
      const ref = alpha * sum + old;
      const bound = 2 * (k + 2) * u * (Math.abs(alpha) * mag + Math.abs(old)) + 1e-30;
      const got = out[i * ldc + j];
      if (!(Math.abs(got - ref) <= bound))
        assert.fail(`${what}: C[${i}][${j}] = ${got}, reference ${ref} (bound ${bound})`);
    }
    // The padding columns of C are not part of the product and must be left alone.
    for (let j = n; j < ldc && i * ldc + j < out.length; j++)
      assert.ok(Object.is(out[i * ldc + j], c0[i * ldc + j]), `${what}: C[${i}][${j}] (padding) was written`);
  }
}

/** The fixed edge cases, then random ones. */
function cases(rng: Rng): Case[] {
  const out: Case[] = [];
  const fixed: [number, number, number][] = [
    [1, 1, 1],
    [1, 37, 5],
    [37, 1, 5],
    [1, 1, 300],
    [5, 7, 0],
    [12, 32, 256],
    [13, 33, 257],
    [11, 31, 255],
    [6, 16, 1],
    [250, 40, 20],
    [490, 3, 9],
    [3, 3100, 4],
    [7, 70, 600],
    [241, 97, 513],
  ];
  for (const ta of [false, true])
    for (const tb of [false, true])
      for (const [m, n, k] of fixed) out.push({ ta, tb, m, n, k, alpha: 1, beta: 0, pad: 0 });
  for (let i = 0; i < 80; i++) {
    out.push({
      ta: rng() < 0.5,
      tb: rng() < 0.5,
      m: pick(rng, [int(rng, 1, 30), int(rng, 1, 160)]),
      n: pick(rng, [int(rng, 1, 40), int(rng, 1, 120)]),
      k: pick(rng, [int(rng, 1, 20), int(rng, 1, 400)]),
      alpha: pick(rng, [1, 1, -0.5, 2.25, 0]),
      beta: pick(rng, [0, 0, 1, 0.5, -2]),
      pad: pick(rng, [0, 0, 3]),
    });
  }
  return out;
}

function addon(): NativeAddon {
  const native = loadNative();
  assert.ok(native.addon, native.reason);
  return native.addon;
}

/**
 * Runs fn with the addon's pool at `threads` (more than the cores is fine: it is about the split
 * into row blocks and column groups, which a one-thread run never takes), then restores it.
 */
function withThreads(threads: number, fn: () => void): void {
  const before = addon().info().threads;
  addon().setNumThreads(threads);
  try {
    fn();
  } finally {
    addon().setNumThreads(before);
  }
}

nativeTest('every bundled GEMM micro-kernel this CPU runs equals a double-precision reference', () => {
  const kernels = addon().info().bundledKernels.split(',');
  assert.ok(kernels.includes('generic'), `bundled kernels: ${kernels.join(',')}`);
  for (const threads of [1, 3])
    withThreads(threads, () => {
      for (const kernel of kernels) {
        const rng = mulberry32(181 + threads);
        for (const c of cases(rng)) check(addon(), kernel, c, rng);
      }
    });
});

nativeTest(
  'the GEMM in use ("auto"), the bundled one as it runs without a BLAS, and the system BLAS when loaded equal the reference too',
  () => {
    const info = addon().info();
    const whiches = info.gemm === 'bundled' ? ['auto', 'bundled'] : ['auto', 'bundled', 'system'];
    for (const which of whiches) {
      const rng = mulberry32(182);
      for (const c of cases(rng).slice(0, 70)) check(addon(), which, c, rng);
    }
    // A bundled kernel this CPU lacks or that does not exist is refused, not silently replaced.
    assert.equal(
      addon().sgemm(
        'no-such-kernel',
        0,
        0,
        1,
        1,
        1,
        1,
        new Float32Array(1),
        1,
        new Float32Array(1),
        1,
        0,
        new Float32Array(1),
        1,
      ),
      false,
    );
  },
);

/** loadNative's reason and GEMM kind in a fresh process with `env` added. */
function loadWith(env: Record<string, string>): { reason: string; gemm: string | null } {
  const script =
    `const m = await import(${JSON.stringify(new URL('../../src/backend/native.js', import.meta.url).href)});` +
    'const r = m.loadNative(); console.log(JSON.stringify({ reason: r.reason, gemm: r.addon ? r.addon.info().gemm : null }));';
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

nativeTest('CXR_GEMM chooses the GEMM, and a choice that cannot be honoured is an error', () => {
  const bundled = loadWith({ CXR_GEMM: 'bundled' });
  assert.equal(bundled.gemm, 'bundled');
  assert.match(bundled.reason, /GEMM bundled: bundled SGEMM, \w+ micro-kernel \d+x\d+ \(CXR_GEMM=bundled\)/);
  assert.equal(loadWith({ CXR_GEMM: 'bundled:generic' }).gemm, 'bundled');
  // No BLAS library where CXR_BLAS_LIB points: auto falls back and says why, openblas refuses.
  const hidden = loadWith({ CXR_GEMM: 'auto', CXR_BLAS_LIB: '/nonexistent/libopenblas.so.0' });
  assert.equal(hidden.gemm, 'bundled');
  assert.match(hidden.reason, /\/nonexistent\/libopenblas\.so\.0 not found/);
  const forced = loadWith({ CXR_GEMM: 'openblas', CXR_BLAS_LIB: '/nonexistent/libopenblas.so.0' });
  assert.equal(forced.gemm, null);
  assert.match(forced.reason, /native addon failed to load: CXR_GEMM=openblas, but no BLAS library loaded/);
  assert.match(loadWith({ CXR_GEMM: 'fastest' }).reason, /CXR_GEMM=fastest is not one of/);
  assert.match(loadWith({ CXR_GEMM: 'bundled:sse9' }).reason, /no bundled kernel 'sse9'/);
});

/**
 * In a fresh process with `env` added: the reason line, and for NN, NT and TN products (128 x 96 x 80)
 * whether 'auto' gives the bits of 'bundled' and of 'system'.
 */
function routesWith(env: Record<string, string>): {
  reason: string;
  avx512: boolean;
  system: boolean;
  modes: Record<string, { bundled: boolean; system: boolean }>;
} {
  const script =
    `const m = await import(${JSON.stringify(new URL('../../src/backend/native.js', import.meta.url).href)});` +
    `const r = m.loadNative(); const a = r.addon; const info = a.info();
     let seed = 7; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
     const [M, N, K] = [128, 96, 80]; const modes = {};
     for (const [name, ta, tb] of [['NN', 0, 0], ['NT', 0, 1], ['TN', 1, 0]]) {
       const A = Float32Array.from({ length: M * K }, rnd), B = Float32Array.from({ length: K * N }, rnd);
       const run = (which) => { const C = new Float32Array(M * N);
         const ok = a.sgemm(which, ta, tb, M, N, K, 1, A, ta ? M : K, B, tb ? K : N, 0, C, N); return ok ? C : null; };
       const [auto, bundled, system] = ['auto', 'bundled', 'system'].map(run);
       const same = (x, y) => !!x && !!y && x.every((v, i) => Object.is(v, y[i]));
       modes[name] = { bundled: same(auto, bundled), system: same(auto, system) };
     }
     console.log(JSON.stringify({ reason: r.reason, avx512: info.bundledKernels.split(',').includes('avx512'), system: info.gemm !== 'bundled', modes }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

nativeTest(
  'auto sends NN and NT products to the bundled AVX-512 kernel where OpenBLAS runs a core without AVX-512 on an AVX-512 CPU, and TN ones to OpenBLAS',
  () => {
    const narrow = routesWith({ CXR_GEMM: 'auto', OPENBLAS_CORETYPE: 'Haswell' });
    const wide = routesWith({ CXR_GEMM: 'auto', OPENBLAS_CORETYPE: 'SkylakeX' });
    const pinned = routesWith({ CXR_GEMM: 'openblas', OPENBLAS_CORETYPE: 'Haswell' });
    const split = /NN and NT products on the bundled avx512 micro-kernel \(OpenBLAS runs its Haswell kernels/;
    if (!narrow.system || !narrow.avx512) {
      // No OpenBLAS, or a CPU without AVX-512: nothing to split.
      assert.doesNotMatch(narrow.reason, split);
      return;
    }
    assert.match(narrow.reason, split);
    // Each product is distinguishable: the bundled kernel and OpenBLAS do not give the same bits.
    for (const mode of ['NN', 'NT', 'TN'])
      assert.ok(
        !(narrow.modes[mode]!.bundled && narrow.modes[mode]!.system),
        `${mode}: both GEMMs gave the same bits`,
      );
    assert.deepEqual(
      [narrow.modes.NN!.bundled, narrow.modes.NT!.bundled, narrow.modes.TN!.system],
      [true, true, true],
      JSON.stringify(narrow.modes),
    );
    // SkylakeX (AVX-512 kernels) and CXR_GEMM=openblas: every product on OpenBLAS.
    for (const r of [wide, pinned]) {
      assert.doesNotMatch(r.reason, /NN and NT products on the bundled/);
      for (const mode of ['NN', 'NT', 'TN'])
        assert.ok(r.modes[mode]!.system, `${r.reason}: ${mode} not on OpenBLAS`);
    }
  },
);

nativeTest('the kernel and training tests pass with the other GEMM forced (child process)', () => {
  const info = addon().info();
  // Where the system BLAS runs by default, the child forces the bundled GEMM; where the bundled
  // one runs, the child forces its portable micro-kernel (the one a CPU without AVX2 gets).
  const gemm = info.gemm === 'bundled' ? 'bundled:generic' : 'bundled';
  const files = ['conv', 'matmul', 'training'].map((f) => `build/test/backend/${f}.test.js`);
  // NODE_TEST_CONTEXT (set by a parent `node --test`) would make the child report to it, not print TAP.
  const env: NodeJS.ProcessEnv = { ...process.env, CXR_GEMM: gemm, CXR_SKIP_NATIVE: '' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...files], {
    cwd: repoRoot(),
    env,
    encoding: 'utf8',
  });
  const tail = `${r.stdout}${r.stderr}`.split('\n').slice(-30).join('\n');
  assert.equal(r.status, 0, `CXR_GEMM=${gemm}: ${tail}`);
  assert.match(r.stdout, /# fail 0/);
  assert.doesNotMatch(r.stdout, /# pass 0\b/);
});
