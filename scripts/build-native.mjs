#!/usr/bin/env node
// Builds the native kernels addon (native/) with the C++ compiler directly: the sources are a
// dozen files with no dependency beyond Node's N-API headers (no BLAS at build time: the addon
// opens OpenBLAS at run time when it is installed, else runs its bundled GEMM), so node-gyp
// and its Python are needed only where Node's headers are not installed beside node; then
// npm's bundled node-gyp builds binding.gyp. Runs from the root package's "install" script,
// so `npm ci` builds it; when no compiler is found or the build fails it prints why and exits
// 0, and the project runs on plain tfjs. `--strict` (npm run build:native) exits non-zero.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const outFile = path.join(nativeDir, 'build', 'Release', 'cxr_native.node');
const avx2File = path.join(nativeDir, 'build', 'Release', 'cxr_native_avx2.node');
const strict = process.argv.includes('--strict');
const APT = 'npm run setup:system (or apt-get install -y g++)';

function skip(why) {
  const msg =
    `cxr-notebooks: native kernels not built: ${why}.\n` +
    `  The project still works on plain TensorFlow.js (about 100x slower training).\n` +
    `  To enable them: ${process.platform === 'darwin' ? 'xcode-select --install' : APT}   then   npm run build:native`;
  console.warn(msg);
  process.exit(strict ? 1 : 0);
}

if (process.env.CXR_SKIP_NATIVE === '1') skip('CXR_SKIP_NATIVE=1');
if (process.platform !== 'linux' && process.platform !== 'darwin')
  skip(`platform ${process.platform} is not supported (Linux and macOS only)`);

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].find((c) => c && which(c));
if (!cxx) skip('no C++ compiler (c++, g++ or clang++) on PATH');

// Node's headers: beside the running node (official tarballs, nvm, Debian's nodejs in
// /usr/include/node) or where npm_config_nodedir points.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const headerDir = [process.env.npm_config_nodedir, prefix]
  .filter(Boolean)
  .map((d) => path.join(d, 'include', 'node'))
  .find((d) => existsSync(path.join(d, 'node_api.h')));

const sources = readdirSync(path.join(nativeDir, 'src'))
  .filter((f) => f.endsWith('.cc'))
  .sort()
  .map((f) => path.join(nativeDir, 'src', f));

if (headerDir) {
  console.log(`cxr-notebooks: building native kernels (native/, ${cxx}, Node headers ${headerDir}) ...`);
  mkdirSync(path.dirname(outFile), { recursive: true });
  const compile = (flags, file) =>
    new Promise((done) => {
      const tmp = `${file}.tmp`;
      const args = [
        '-O3',
        ...flags,
        '-std=c++17',
        '-fPIC',
        '-fvisibility=hidden',
        '-DNODE_GYP_MODULE_NAME=cxr_native',
        '-DBUILDING_NODE_EXTENSION',
        '-DNAPI_DISABLE_CPP_EXCEPTIONS',
        `-I${headerDir}`,
        ...sources,
        '-o',
        tmp,
        ...(process.platform === 'darwin'
          ? ['-bundle', '-undefined', 'dynamic_lookup']
          : ['-shared', '-pthread', '-ldl']),
      ];
      const child = spawn(cxx, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('error', (e) => done({ ok: false, out: String(e) }));
      child.on('close', (code, signal) => {
        if (code === 0) renameSync(tmp, file);
        done({ ok: code === 0, out: `${out}\n(exit ${code ?? signal})` });
      });
    });
  // On x86-64 a second build for CPUs with AVX2, where the compiler vectorises the memory-bound loops
  // (batch norm, element-wise ops, im2col) 8 floats wide instead of SSE2's 4. -mno-fma keeps every
  // a * b + c two roundings, as in the baseline build, so both builds compute the same bits
  // (test/backend/nativeBuilds.test.ts); the loader (src/backend/native.ts) takes this one where the
  // CPU has AVX2. Both compile at once (two cores).
  const [base, avx2] = await Promise.all([
    compile([], outFile),
    process.arch === 'x64' ? compile(['-mavx2', '-mno-fma'], avx2File) : Promise.resolve(null),
  ]);
  if (!base.ok) {
    console.warn(base.out.trim().split('\n').slice(-20).join('\n'));
    skip(`${cxx} failed; output above`);
  }
  if (avx2 && !avx2.ok) {
    console.warn(avx2.out.trim().split('\n').slice(-10).join('\n'));
    console.warn(
      'cxr-notebooks: the AVX2 build of the native kernels failed (output above); the baseline build runs everywhere.',
    );
  }
} else {
  // No headers beside node: npm's bundled node-gyp fetches them (needs python3 and the network).
  if (!which('python3'))
    skip(`Node's headers not found beside ${process.execPath}, and node-gyp needs python3`);
  const gyp = [
    process.env.npm_config_node_gyp,
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ]
    .filter(Boolean)
    .find((p) => existsSync(p));
  if (!gyp && !which('node-gyp'))
    skip(`Node's headers not found beside ${process.execPath}, and no node-gyp`);
  const [cmd, cmdArgs] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  console.log('cxr-notebooks: building native kernels (native/) with node-gyp ...');
  const r = spawnSync(cmd, cmdArgs, { cwd: nativeDir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n'));
    skip(`node-gyp failed (exit ${r.status ?? r.signal}); output above`);
  }
}
console.log(
  `cxr-notebooks: native kernels built: native/build/Release/cxr_native.node${existsSync(avx2File) ? ' (and cxr_native_avx2.node)' : ''}`,
);
