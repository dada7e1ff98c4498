/**
 * The Chromium that `npm ci` brings (the optional dependency `@sparticuz/chromium`), for machines with
 * no browser of their own: the npm registry is often the only network a machine (or a hospital's)
 * has. The package ships a brotli-compressed chrome-headless-shell built for AWS Lambda with the
 * libraries Lambda lacks (NSS, expat), SwiftShader and the Open Sans fonts; its own loader unpacks the
 * libraries only when it believes it runs on Lambda, so we unpack everything ourselves, once, into
 * `node_modules/.cache/cxr-chromium/<version>/`, and hand the browser the environment it needs.
 *
 * This build does not run headless command-line actions (`--screenshot`, `--dump-dom` wait forever
 * with no output: tried on Debian 12, with and without its libraries, `--single-process`,
 * `--no-zygote`, fonts): it is driven over the DevTools protocol instead (see `renderPng`).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

/**
 * Where the package lies, or null when it is not installed (an optional dependency, x64 Linux only).
 * Looked up in the node_modules folders above this file, as Node resolves packages: the package's
 * `exports` hide its package.json and bin/ from `require.resolve`.
 */
export function registryChromiumPackage(from = dirname(fileURLToPath(import.meta.url))): {
  dir: string;
  version: string;
} | null {
  for (let d = from; ; d = dirname(d)) {
    const pkgJson = join(d, 'node_modules', '@sparticuz', 'chromium', 'package.json');
    if (existsSync(pkgJson)) {
      const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
      return { dir: dirname(pkgJson), version };
    }
    if (dirname(d) === d) return null;
  }
}

/**
 * Unpacks a tar archive (regular files and folders, as the package's archives hold) into `dest`.
 * Entries that would land outside `dest` are refused.
 */
export function untar(tar: Buffer, dest: string): string[] {
  const written: string[] = [];
  const field = (h: Buffer, at: number, len: number) => {
    const s = h.subarray(at, at + len);
    const end = s.indexOf(0);
    return s.subarray(0, end < 0 ? len : end).toString('utf8');
  };
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const prefix = field(h, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(h, 0, 100);
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    const mode = parseInt(field(h, 100, 8).trim() || '644', 8);
    const type = String.fromCharCode(h[156]!);
    const body = off + 512;
    off = body + Math.ceil(size / 512) * 512;
    if (type === 'x' || type === 'g') continue; // pax headers: these archives carry no long names
    const rel = normalize(name);
    if (rel.startsWith('..') || rel.startsWith(sep)) throw new Error(`tar entry '${name}' leaves ${dest}`);
    const path = join(dest, rel);
    if (type === '5') {
      mkdirSync(path, { recursive: true });
    } else if (type === '0' || type === '\0') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, tar.subarray(body, body + size));
      chmodSync(path, mode & 0o777);
      written.push(rel);
    } else {
      throw new Error(`tar entry '${name}' has type '${type}', which this unpacker does not handle`);
    }
  }
  return written;
}

/** A fontconfig file that finds the package's fonts and keeps its cache beside them. */
function fontsConf(dir: string): string {
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
    '<fontconfig>',
    `  <dir>${join(dir, 'fonts')}</dir>`,
    `  <cachedir>${join(dir, 'fontconfig-cache')}</cachedir>`,
    '</fontconfig>',
    '',
  ].join('\n');
}

export interface UnpackedChromium {
  /** The browser binary. */
  path: string;
  /** What the browser needs in its environment: its libraries and its fonts. */
  env: Record<string, string>;
  version: string;
}

/**
 * The registry Chromium, unpacked (the first call unpacks, about 200 MB, a few seconds; later calls
 * find the finished folder). Null when the package is not installed or this is no x64 Linux; throws, naming the folder, when
 * unpacking fails.
 */
export function registryChromium(
  pkg = registryChromiumPackage(),
  cacheRoot?: string,
): UnpackedChromium | null {
  // The package's browser is an x64 Linux build (for Lambda); elsewhere it cannot run.
  if (!pkg || process.platform !== 'linux' || process.arch !== 'x64') return null;
  const root = cacheRoot ?? join(pkg.dir, '..', '..', '.cache', 'cxr-chromium');
  const dir = join(root, pkg.version);
  const done = join(dir, '.unpacked');
  const result = (): UnpackedChromium => ({
    path: join(dir, 'chromium'),
    env: { LD_LIBRARY_PATH: join(dir, 'lib'), FONTCONFIG_PATH: dir },
    version: pkg.version,
  });
  if (existsSync(done)) return result();
  // Unpack beside the final folder and rename it into place, so a crash or a concurrent process never
  // leaves a half-written browser behind the marker.
  const tmp = `${dir}.tmp-${process.pid}`;
  const bin = join(pkg.dir, 'bin');
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const chromium = join(tmp, 'chromium');
    writeFileSync(chromium, brotliDecompressSync(readFileSync(join(bin, 'chromium.br'))));
    chmodSync(chromium, 0o755);
    for (const archive of ['al2023.tar.br', 'swiftshader.tar.br', 'fonts.tar.br'])
      untar(brotliDecompressSync(readFileSync(join(bin, archive))), tmp);
    writeFileSync(join(tmp, 'fonts.conf'), fontsConf(dir));
    writeFileSync(join(tmp, '.unpacked'), `${pkg.version}\n`);
    // A folder without the marker is debris (say, a copy interrupted by hand); one with it is another
    // process's finished copy, possibly in use: never removed.
    if (existsSync(dir) && !existsSync(done)) rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(done)) throw e; // another process won the race: use its copy
    }
  } catch (e) {
    throw new Error(
      `could not unpack the registry Chromium (@sparticuz/chromium ${pkg.version}) from ${bin} into ${dir}: ${(e as Error).message}`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return result();
}
