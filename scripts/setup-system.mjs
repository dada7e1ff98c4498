#!/usr/bin/env node
// `npm run setup:system`: installs the system packages listed in apt.txt that are missing, with
// apt-get (as root, or through sudo). It is the only place the project runs apt-get, and only when
// asked to. `--check` lists what is missing and exits 1 if anything is, installing nothing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wanted = readFileSync(path.join(root, 'apt.txt'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean);
const check = process.argv.includes('--check');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (process.platform === 'darwin') {
  console.log(
    'setup:system: on macOS the native kernels use Accelerate (no BLAS to install) and the Xcode command line tools\n' +
      '  (xcode-select --install); for PNG figures install Google Chrome or Chromium (brew install --cask chromium).',
  );
  process.exit(0);
}
if (!has('dpkg-query') || !has('apt-get')) {
  console.error(`setup:system: this system has no apt; install the equivalents of: ${wanted.join(' ')}`);
  process.exit(1);
}
const installed = (pkg) => {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && /install ok installed/.test(r.stdout);
};
const missing = wanted.filter((p) => !installed(p));
if (missing.length === 0) {
  console.log(`setup:system: all of apt.txt is installed (${wanted.join(', ')})`);
  process.exit(0);
}
console.log(`setup:system: missing from apt.txt: ${missing.join(' ')}`);
if (check) process.exit(1);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const prefix = isRoot ? [] : has('sudo') ? ['sudo'] : null;
if (!prefix) {
  console.error(`setup:system: not root and no sudo; as root run: apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
const run = (args) => {
  console.log(`+ ${[...prefix, ...args].join(' ')}`);
  const [cmd, ...rest] = [...prefix, ...args];
  const r = spawnSync(cmd, rest, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(['apt-get', 'update', '-qq']);
run(['apt-get', 'install', '-y', '--no-install-recommends', ...missing]);
console.log(
  'setup:system: done; if g++ was among them, build the native kernels now: npm run build:native (OpenBLAS needs no rebuild: the addon opens it at run time)',
);
