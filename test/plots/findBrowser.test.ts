/**
 * The one browser finder (src/plots/chromium.ts, findBrowser) and the registry Chromium it falls back
 * to (src/plots/registryChromium.ts): the order configured > system (PATH, snap stubs refused) >
 * registry > none, on a PATH made for each case; then the real package, unpacked.
 */
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findBrowser } from '../../src/plots/chromium.js';
import {
  registryChromium,
  registryChromiumPackage,
  untar,
  type UnpackedChromium,
} from '../../src/plots/registryChromium.js';
import { tempDir } from '../helpers.js';

const fakeRegistry: UnpackedChromium = {
  path: '/cache/chromium',
  env: { LD_LIBRARY_PATH: '/cache/lib', FONTCONFIG_PATH: '/cache' },
  version: '0.0.0',
};

/** A registry lookup that counts its calls (the unpacking is costly: it must run only as the last resort). */
function counting(result: UnpackedChromium | null) {
  const calls = { n: 0 };
  return { calls, registry: () => (calls.n++, result) };
}

/** A folder for PATH holding executables with the given names and contents. */
function pathWith(files: Record<string, string>): string {
  const dir = tempDir('cxr-path-');
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body, { mode: 0o755 });
  return dir;
}

test('findBrowser: none turns browsers off; a configured path wins without a look anywhere else', () => {
  const r = counting(fakeRegistry);
  assert.equal(findBrowser('none', { pathEnv: pathWith({ chromium: '#!/bin/sh\n' }), ...r }), null);
  assert.deepEqual(findBrowser('/opt/chrome', { pathEnv: '', ...r }), {
    path: '/opt/chrome',
    origin: 'configured',
    env: {},
  });
  assert.equal(r.calls.n, 0);
});

test('findBrowser: a system browser on PATH comes before the registry one, in the candidates order', () => {
  const dir = pathWith({ 'google-chrome': '#!/bin/sh\n', chromium: '#!/bin/sh\n' });
  const r = counting(fakeRegistry);
  const b = findBrowser('', { pathEnv: dir, platform: 'linux', ...r });
  assert.deepEqual(b, { path: join(dir, 'chromium'), origin: 'system', env: {} });
  assert.equal(r.calls.n, 0);
  const only = pathWith({ 'google-chrome-stable': '#!/bin/sh\n' });
  assert.equal(
    findBrowser('', { pathEnv: only, platform: 'linux', ...r })?.path,
    join(only, 'google-chrome-stable'),
  );
});

test('findBrowser: a snap stub counts as absent; then the registry Chromium, with its environment', () => {
  const dir = pathWith({ chromium: '#!/bin/sh\nexec /snap/bin/chromium "$@"\n' });
  const r = counting(fakeRegistry);
  assert.deepEqual(findBrowser('', { pathEnv: dir, platform: 'linux', ...r }), {
    path: '/cache/chromium',
    origin: 'registry',
    env: fakeRegistry.env,
  });
  assert.equal(r.calls.n, 1);
  assert.equal(findBrowser('', { pathEnv: pathWith({}), platform: 'linux', registry: () => null }), null);
});

test('untar: files and folders with their modes; an entry leaving the folder is refused', () => {
  const entry = (name: string, body: string, type = '0', mode = 0o644) => {
    const h = Buffer.alloc(512);
    h.write(name, 0, 'utf8');
    h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100);
    h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(type, 156);
    h.write('ustar\x0000', 257);
    const data = Buffer.alloc(Math.ceil(body.length / 512) * 512);
    data.write(body);
    return Buffer.concat([h, data]);
  };
  const dest = tempDir();
  const tar = Buffer.concat([
    entry('fonts/', '', '5', 0o755),
    entry('fonts/a.ttf', 'x'.repeat(700)),
    entry('lib/libnss3.so', 'elf', '0', 0o755),
    Buffer.alloc(1024),
  ]);
  assert.deepEqual(untar(tar, dest), ['fonts/a.ttf', 'lib/libnss3.so']);
  assert.equal(statSync(join(dest, 'fonts', 'a.ttf')).size, 700);
  assert.equal(statSync(join(dest, 'lib', 'libnss3.so')).mode & 0o777, 0o755);
  assert.throws(() => untar(Buffer.concat([entry('../evil', 'x'), Buffer.alloc(1024)]), dest), /leaves/);
  assert.ok(!existsSync(join(dest, '..', 'evil')));
});

test('registryChromium: the installed package unpacks once into a browser with its libraries and fonts', () => {
  const pkg = registryChromiumPackage();
  assert.ok(pkg, '@sparticuz/chromium (an optional dependency) is not installed: run npm ci');
  const cache = tempDir('cxr-regchrome-');
  const first = registryChromium(pkg, cache);
  assert.ok(first);
  assert.equal(first.path, join(cache, pkg.version, 'chromium'));
  accessSync(first.path, constants.X_OK);
  assert.ok(statSync(first.path).size > 100e6, 'the browser binary is unpacked in full');
  for (const lib of ['libnss3.so', 'libnspr4.so', 'libexpat.so.1'])
    assert.ok(existsSync(join(first.env.LD_LIBRARY_PATH!, lib)), lib);
  assert.ok(
    readdirSync(join(cache, pkg.version, 'fonts'), { recursive: true }).some((f) =>
      String(f).endsWith('.ttf'),
    ),
  );
  assert.ok(existsSync(join(first.env.FONTCONFIG_PATH!, 'fonts.conf')));
  // The second call finds the finished folder and does not unpack again.
  const marker = join(cache, pkg.version, '.unpacked');
  const mtime = statSync(marker).mtimeMs;
  assert.deepEqual(registryChromium(pkg, cache), first);
  assert.equal(statSync(marker).mtimeMs, mtime);
  assert.deepEqual(readdirSync(cache), [pkg.version], 'no temporary folder is left behind');
});
