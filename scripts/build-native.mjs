#!/usr/bin/env node
// Builds the OpenBLAS kernels addon (native/) with npm's bundled node-gyp. Runs from the
// root package's "install" script, so `npm ci` builds it; when OpenBLAS or a compiler is
// missing it prints why and exits 0, and the project runs on plain tfjs.
// `--strict` (npm run build:native) makes a failed build exit non-zero instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const strict = process.argv.includes('--strict');
const APT = 'apt-get install -y libopenblas-dev g++ make python3';

function skip(why) {
  const msg =
    `cxr-notebooks: native kernels not built: ${why}.\n` +
    `  The project still works on plain TensorFlow.js (much slower training).\n` +
    `  To enable them: ${APT}   then   npm run build:native`;
  console.warn(msg);
  process.exit(strict ? 1 : 0);
}

if (process.env.CXR_SKIP_NATIVE === '1') skip('CXR_SKIP_NATIVE=1');
if (process.platform !== 'linux') skip(`platform ${process.platform} is not supported (Linux only)`);

const headerDirs = [
  '/usr/include/x86_64-linux-gnu',
  '/usr/include/aarch64-linux-gnu',
  '/usr/include/openblas',
  '/usr/include',
];
if (!headerDirs.some((d) => existsSync(path.join(d, 'cblas.h'))))
  skip('OpenBLAS headers (cblas.h) not found');
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
if (!which('c++') && !which('g++')) skip('no C++ compiler (c++/g++) on PATH');
if (!which('make')) skip('make not found');
if (!which('python3')) skip('python3 not found (node-gyp needs it)');

// npm exports its bundled node-gyp to scripts; outside npm, look beside npm itself.
const candidates = [
  process.env.npm_config_node_gyp,
  path.join(
    path.dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  ),
].filter(Boolean);
const gyp = candidates.find((p) => existsSync(p));
if (!gyp && !which('node-gyp')) skip('node-gyp not found (it ships with npm)');

// Build against the headers of the running node when they are installed (Debian's nodejs
// puts them in /usr/include/node), so node-gyp never tries to download them.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir =
  !process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))
    ? [`--nodedir=${prefix}`]
    : [];
const [cmd, cmdArgs] = gyp
  ? [process.execPath, [gyp, 'rebuild', ...nodedir]]
  : ['node-gyp', ['rebuild', ...nodedir]];
console.log(`cxr-notebooks: building native kernels (${path.relative(root, nativeDir)}/) ...`);
const r = spawnSync(cmd, cmdArgs, { cwd: nativeDir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  console.warn(tail);
  skip(`node-gyp failed (exit ${r.status ?? r.signal}); output above`);
}
console.log('cxr-notebooks: native kernels built: native/build/Release/cxr_native.node');
