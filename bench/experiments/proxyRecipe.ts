/**
 * Notebook 03's ImageNet-proxy pretraining alone, for several seeds, with proxy overrides: held-out accuracy and the
 * loss curve's tail per seed, into a scratch checkpoint folder. The GEMM is chosen by `CXR_GEMM` (openblas,
 * bundled:generic, bundled:avx2, bundled:avx512): the demo seed's proxy collapsed on the AVX kernels with the
 * constant-rate recipe (docs/FRESH_MACHINE.md, round 3), so a recipe is judged on every GEMM and several seeds.
 *
 * Usage: node build/bench/experiments/proxyRecipe.js [profile] ['{"schedule":"cosine",...}'] [seeds, e.g. 2024,1,2,3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeConfig, type ProfileName, type ProxyPretrainConfig } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { pretrainProxy } from '../../src/train/pretrainRun.js';

const profile = (process.argv[2] ?? 'demo') as ProfileName;
const proxy = JSON.parse(process.argv[3] ?? '{}') as Partial<ProxyPretrainConfig>;
const seeds = (process.argv[4] ?? '2024').split(',').map(Number);
const scratch = mkdtempSync(join(tmpdir(), 'proxy-recipe-'));
let engineReady = false;
for (const seed of seeds) {
  const env = { CXR_SEED: String(seed) };
  const base = makeConfig({ notebook: '03_pretraining', profile, env });
  const config = makeConfig({
    notebook: '03_pretraining',
    profile,
    env,
    proxy,
    paths: { ...base.paths, checkpoints: join(scratch, `ck-${seed}`), results: join(scratch, `res-${seed}`) },
  });
  if (!engineReady) {
    await initEngine(config.backend);
    engineReady = true;
    console.log(`gemm ${process.env.CXR_GEMM ?? 'auto'}; proxy ${JSON.stringify(config.proxy)}`);
  }
  const t0 = Date.now();
  const r = await pretrainProxy(config, makeRng(config.seed).fork('03_pretraining').fork('proxy'));
  const losses = r.losses.map((l) => l.loss);
  console.log(
    `seed ${seed}: held-out ${(100 * r.heldOutAccuracy).toFixed(1)} % | loss ${losses[0]!.toFixed(3)} -> ` +
      `${losses.at(-1)!.toFixed(3)} | max of last third ${Math.max(...losses.slice(Math.floor((2 * losses.length) / 3))).toFixed(2)}` +
      ` | tail ${losses
        .slice(-6)
        .map((l) => l.toFixed(2))
        .join(' ')} | ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}
rmSync(scratch, { recursive: true, force: true });
