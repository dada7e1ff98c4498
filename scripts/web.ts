/**
 * `npm run web`: bundles the page (web/src/main.ts, with esbuild) and copies it, the TensorFlow.js
 * and DICOM codecs' WebAssembly and the exported detectors (web/models/, written by notebook 06)
 * into web/dist/: plain files, relative paths, no server needed beyond a static one.
 *
 *   npm run web [-- --profile smoke|demo|paper] [--models DIR] [--out DIR] [--screenshot [FILE]]
 *
 * `--screenshot` then opens the built page in headless Chromium (wasm backend), runs detection on the
 * first gallery image three times and the heat maps of its top box, prints the timings and saves the
 * page as FILE (default web/screenshot.png, the one the README shows).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { repoRoot } from '../src/config.js';
import { chromiumHint, findBrowser } from '../src/plots/chromium.js';
import { checkWebManifest } from '../src/web/format.js';
import { runPage } from './webPage.js';

const require = createRequire(import.meta.url);

/** Node built-ins that packages reach only on their Node path (emscripten loaders, tfjs's platform check). */
const NODE_ONLY =
  /^(node:)?(fs|fs\/promises|path|crypto|module|url|os|util|worker_threads|perf_hooks|child_process|zlib|stream)$/;

/**
 * Keeps the browser bundle honest: the library's one Node-only seam, the native addon loader, is
 * replaced by its browser stand-in, and any other Node built-in imported by the project's own code
 * is a build error (so a file the page needs cannot quietly grow a node:fs import).
 */
const browserPlugin = (root: string): esbuild.Plugin => ({
  name: 'cxr-browser',
  setup(build) {
    build.onResolve({ filter: /(^|\/)native\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path) === join(root, 'src', 'backend', 'native.js')
        ? { path: join(root, 'web', 'src', 'shims', 'native.ts') }
        : undefined,
    );
    build.onResolve({ filter: NODE_ONLY }, (args) => {
      if (args.importer.includes(`${join('node_modules')}`))
        return { path: args.path, namespace: 'node-only' };
      return {
        errors: [
          {
            text: `${args.path} imported by ${relative(root, args.importer)}: the web bundle takes no Node built-ins (keep this code path browser-safe)`,
          },
        ],
      };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({
      contents: 'module.exports = {};',
      loader: 'js',
    }));
  },
});

export interface WebBuild {
  out: string;
  /** Bytes of each file written, by path relative to `out`. */
  files: Record<string, number>;
}

/** Builds the site into `out` with the models of `modelsDir` (a folder exportWebModels wrote). */
export async function buildSite(opts: {
  modelsDir: string;
  out: string;
  minify?: boolean;
}): Promise<WebBuild> {
  const root = repoRoot();
  const manifestPath = join(opts.modelsDir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new Error(
      `no exported detectors in ${opts.modelsDir}: run \`npm run reproduce\` (notebook 06 writes them; \`-- --profile smoke\` for ${join('web', 'models', 'smoke')})`,
    );
  }
  const manifest = checkWebManifest(JSON.parse(readFileSync(manifestPath, 'utf8')));
  rmSync(opts.out, { recursive: true, force: true });
  mkdirSync(join(opts.out, 'models', 'gallery'), { recursive: true });
  await esbuild.build({
    entryPoints: [join(root, 'web', 'src', 'main.ts')],
    bundle: true,
    format: 'iife', // a classic script: module scripts do not load from file:// in Chromium
    platform: 'browser',
    target: 'es2020',
    outfile: join(opts.out, 'app.js'),
    minify: opts.minify ?? true,
    legalComments: 'linked',
    logLevel: 'error',
    alias: { 'node:buffer': 'buffer', pngjs: require.resolve('pngjs/browser.js') },
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [browserPlugin(root)],
  });
  copyFileSync(join(root, 'web', 'index.html'), join(opts.out, 'index.html'));
  copyFileSync(join(root, 'web', 'style.css'), join(opts.out, 'style.css'));
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const f of [
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ])
    copyFileSync(join(wasmDir, f), join(opts.out, f));
  // The DICOM codecs' emscripten loaders look for their .wasm next to the page.
  const codec = (pkg: string, file: string) =>
    join(dirname(dirname(require.resolve(`${pkg}/wasmjs`))), 'dist', file);
  copyFileSync(codec('@cornerstonejs/codec-charls', 'charlswasm.wasm'), join(opts.out, 'charlswasm.wasm'));
  copyFileSync(
    codec('@cornerstonejs/codec-openjpeg', 'openjpegwasm.wasm'),
    join(opts.out, 'openjpegwasm.wasm'),
  );
  copyFileSync(manifestPath, join(opts.out, 'models', 'manifest.json'));
  for (const m of manifest.models)
    copyFileSync(join(opts.modelsDir, m.file), join(opts.out, 'models', m.file));
  for (const g of manifest.gallery)
    copyFileSync(join(opts.modelsDir, g.file), join(opts.out, 'models', g.file));
  const files: Record<string, number> = {};
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(opts.out, p)] = statSync(p).size;
    }
  };
  walk(opts.out);
  return { out: opts.out, files };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function cli(): Promise<void> {
  const root = repoRoot();
  const profile = arg('profile') ?? process.env.CXR_PROFILE ?? 'demo';
  const modelsDir = resolve(
    arg('models') ??
      (profile === 'demo' ? join(root, 'web', 'models') : join(root, 'web', 'models', profile)),
  );
  const out = resolve(arg('out') ?? join(root, 'web', 'dist'));
  const t0 = performance.now();
  const b = await buildSite({ modelsDir, out });
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  const sum = (pred: (f: string) => boolean) =>
    Object.entries(b.files)
      .filter(([f]) => pred(f))
      .reduce((a, [, n]) => a + n, 0);
  console.log(
    `web/dist built in ${((performance.now() - t0) / 1000).toFixed(1)} s from ${relative(root, modelsDir) || '.'}: ` +
      `app.js ${mb(b.files['app.js'] ?? 0)}, WebAssembly ${mb(sum((f) => f.endsWith('.wasm')))}, detector weights ${mb(sum((f) => f.endsWith('.safetensors')))}, ` +
      `gallery ${mb(sum((f) => f.startsWith(join('models', 'gallery'))))}; total ${mb(sum(() => true))}`,
  );
  console.log(
    `open ${join(relative(process.cwd(), out) || '.', 'index.html')} through any static server, e.g. \`python3 -m http.server -d ${relative(process.cwd(), out)}\``,
  );
  if (process.argv.includes('--screenshot')) {
    const next = arg('screenshot');
    const file = resolve(next && !next.startsWith('--') ? next : join(root, 'web', 'screenshot.png'));
    const chromium = findBrowser(process.env.CXR_CHROMIUM ?? '');
    if (!chromium) throw new Error(`--screenshot needs Chromium (${chromiumHint()})`);
    const { page, consoleErrors } = await runPage({
      chromium,
      dist: out,
      query: 'backend=wasm&image=0&box=0&repeat=2',
      screenshot: file,
    });
    if (page.state !== 'done')
      throw new Error(`the page did not finish: ${page.message} ${consoleErrors.join(' | ')}`);
    const ms = (v: number) => `${Math.round(v)} ms`;
    const t = page.timings;
    console.log(
      `screenshot ${relative(root, file)}; Chromium ${page.backend}: weights loaded and built in ${ms(t.loadMs)}, detection of both models first ${ms(t.detectMs[0]!)}, next ${t.detectMs.slice(1).map(ms).join(', ')}; Ablation-CAM of one box, both models: ${t.camMs.map(ms).join(', ')}`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  cli().catch((e: Error) => {
    console.error(`npm run web: ${e.message}`);
    process.exit(1);
  });
}
