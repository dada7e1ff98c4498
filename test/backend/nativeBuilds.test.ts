/**
 * The two builds of the addon (scripts/build-native.mjs): the baseline x86-64 one and, on x86-64, the
 * AVX2 one the loader prefers on AVX2 CPUs. They must compute the same bits (the AVX2 build only
 * widens the compiler's vectorisation; -mno-fma keeps every multiply and add a separate rounding), so
 * the demo's numbers do not depend on which one a machine loads. Each child process below trains a
 * small ResNet for three steps (training-mode batch norm, residual add + relu, SGD with momentum)
 * and runs the frozen feature pass (eval conv + batch norm), then prints a SHA-256 of every weight
 * and feature.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ADDON_AVX2_PATH, cpuFlags } from '../../src/backend/native.js';
import { repoRoot } from '../../src/config.js';
import { nativeTest } from './helpers.js';

const src = (p: string) => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);

const WORKLOAD = `
const tf = await import('@tensorflow/tfjs');
const { createHash } = await import('node:crypto');
const { initEngine } = await import(${src('engine.js')});
const { momentumOptimizer } = await import(${src('backend/index.js')});
const { ResNet } = await import(${src('models/resnet.js')});
const { makeRng } = await import(${src('rng.js')});
const { extractFeatures } = await import(${src('train/linearEval.js')});
const engine = await initEngine('auto');
const { loadNative } = await import(${src('backend/native.js')});
const model = new ResNet({ blocks: [1, 1, 1, 1], width: 16, inChannels: 1, numClasses: 10 }, makeRng(3));
const vars = model.store.trainable().map((p) => p.variable);
const opt = momentumOptimizer(0.05, 0.9);
const x = tf.randomNormal([8, 32, 32, 1], 0, 1, 'float32', 5);
const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10).toFloat();
for (let i = 0; i < 3; i++) {
  const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x, { training: true }).logits), true, vars);
  loss.dispose();
}
const hash = createHash('sha256');
for (const v of vars) hash.update(Buffer.from(v.dataSync().buffer));
const images = tf.randomUniform([20, 32, 32, 1], 0, 1, 'float32', 6);
const features = extractFeatures(model, images, 8);
hash.update(Buffer.from(features.buffer, features.byteOffset, features.byteLength));
console.log(JSON.stringify({ reason: engine.backend + ' ' + loadNative().reason, hash: hash.digest('hex') }));
`;

function runWith(isa: string): { reason: string; hash: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', WORKLOAD], {
    cwd: repoRoot(),
    env: { ...process.env, CXR_NATIVE_ISA: isa },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

nativeTest(
  'the AVX2 build of the addon trains and extracts features to the same bits as the baseline build',
  () => {
    const baseline = runWith('baseline');
    assert.match(baseline.reason, /^cxr-cpu .*(baseline x86-64 build|native build)/);
    if (process.arch !== 'x64' || cpuFlags()?.has('avx2') !== true) {
      // No second build here: auto must load the baseline one.
      const auto = runWith('auto');
      assert.equal(auto.hash, baseline.hash);
      assert.doesNotMatch(auto.reason, /AVX2 build/);
      return;
    }
    assert.ok(
      existsSync(path.join(repoRoot(), ADDON_AVX2_PATH)),
      `${ADDON_AVX2_PATH} was not built (npm run build:native)`,
    );
    const avx2 = runWith('auto');
    assert.match(avx2.reason, /AVX2 build/, 'an AVX2 CPU loads the AVX2 build');
    assert.equal(
      avx2.hash,
      baseline.hash,
      'weights after 3 steps and features, AVX2 build vs baseline build',
    );
  },
);

nativeTest('CXR_NATIVE_ISA rejects a build it cannot load, with the reason', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${src('backend/native.js')}); console.log(m.loadNative().reason);`,
    ],
    { env: { ...process.env, CXR_NATIVE_ISA: 'sse9' }, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /CXR_NATIVE_ISA=sse9: use auto, baseline or avx2/);
});
