/**
 * The few lines `npm run reproduce` prints before it runs: which optional pieces are present, and
 * what each missing one costs. Nothing here installs anything (`npm run setup:system` does, when
 * asked). The Node version is the one hard requirement.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative } from '../src/backend/native.js';
import { chromiumHint, describeBrowser, findBrowser } from '../src/plots/chromium.js';

/** Throws when this Node is older than package.json's `engines.node` (a `>=X.Y` range). */
export function checkNode(root: string, version = process.versions.node): void {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const m = /^>=\s*(\d+)(?:\.(\d+))?/.exec(pkg.engines?.node ?? '');
  if (!m) return;
  const [major, minor] = version.split('.').map(Number) as [number, number];
  const [needMajor, needMinor] = [Number(m[1]), Number(m[2] ?? 0)];
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new Error(
      `Node ${version} is too old: this project needs Node ${needMajor}.${needMinor} or newer ` +
        '(the notebooks require() the ES-module build of src/). Install a current Node LTS (https://nodejs.org, or nvm install --lts).',
    );
  }
}

/** apt.txt's packages that dpkg does not list as installed; [] where there is no dpkg. */
export function missingAptPackages(root: string): string[] {
  const path = join(root, 'apt.txt');
  if (!existsSync(path) || spawnSync('sh', ['-c', 'command -v dpkg-query'], { stdio: 'ignore' }).status !== 0)
    return [];
  const wanted = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  return wanted.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return !(r.status === 0 && /install ok installed/.test(r.stdout));
  });
}

export function preflight(root: string, opts: { quiet?: boolean } = {}): void {
  checkNode(root);
  const lines: string[] = [];
  const native = loadNative();
  lines.push(
    native.addon
      ? `native kernels: ${native.reason}`
      : `native kernels: MISSING (${native.reason}) -> plain TensorFlow.js, training about 100x slower; fix: npm run setup:system && npm run build:native`,
  );
  // The bundled GEMM where no system BLAS loaded (not when CXR_GEMM chose it): say what OpenBLAS adds.
  if (native.addon?.info().gemm === 'bundled' && !/CXR_GEMM=/.test(native.reason))
    lines.push(
      'OpenBLAS: not found -> the bundled GEMM runs (convolutions somewhat slower; `npm run bench -- --only gemm` compares); fix: npm run setup:system',
    );
  let browser: ReturnType<typeof findBrowser> = null;
  let browserError = '';
  try {
    browser = findBrowser(process.env.CXR_CHROMIUM ?? '');
  } catch (e) {
    browserError = `; ${(e as Error).message}`;
  }
  lines.push(
    browser
      ? `PNG figures: ${describeBrowser(browser)}`
      : `PNG figures: MISSING (no Chromium${browserError}) -> figures as HTML only; fix: ${chromiumHint()}`,
  );
  const missing = missingAptPackages(root);
  if (missing.length)
    lines.push(`apt.txt: not installed: ${missing.join(' ')} (npm run setup:system installs them)`);
  if (!opts.quiet || !native.addon || !browser || lines.some((l) => l.startsWith('OpenBLAS')))
    console.log(lines.map((l) => `preflight: ${l}`).join('\n'));
}
