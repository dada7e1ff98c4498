/**
 * Where the demo's frozen feature pass goes (`demo-probe-features`): `node build/bench/probeProfile.js [reps]`
 * times `extractFeatures` on the demo backbone (256 images, batch 64, eval mode; wall and CPU seconds,
 * median of `reps`) and lists the time per tfjs kernel of one batch (tf.profile).
 */
import * as tf from '@tensorflow/tfjs';
import { setConvBatchNormFusion } from '../src/backend/index.js';
import { makeConfig } from '../src/config.js';
import { initEngine } from '../src/engine.js';
import { makeBackbone } from '../src/models/backbones.js';
import { makeRng } from '../src/rng.js';
import { extractFeatures } from '../src/train/linearEval.js';
import { wallAndCpu } from './registry.js';

const reps = Number(process.argv[2] ?? 5);
const loops = Number(process.argv[3] ?? 0);
await initEngine('auto');
const config = makeConfig({ notebook: 'bench', profile: 'demo', env: {} });
const size = config.backbone.inputSize;
const resnet = makeBackbone(config, makeRng(4));
const images = tf.randomUniform([256, size, size, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
if (loops > 0) {
  // perf record target: the pass alone, many times.
  for (let i = 0; i < loops; i++) extractFeatures(resnet, images, 64);
} else {
  const pass = (): Float32Array => extractFeatures(resnet, images, 64);
  // A/B in this process, alternating: the separate ops (Conv2D, FusedBatchNorm, Relu / CxrAddRelu) and the fused kernel.
  let ref: Float32Array | null = null;
  for (let round = 1; round <= 2; round++)
    for (const fused of [false, true]) {
      setConvBatchNormFusion(fused);
      const f = pass();
      if (!fused) ref = f;
      else if (ref && !f.every((v, i) => Object.is(v, ref![i])))
        throw new Error('the fused pass does not give the same features bit for bit');
      console.log(
        `round ${round}, ${fused ? 'fused kernel ' : 'separate ops '}: extractFeatures ${size}px, 256 images, batch 64: ${wallAndCpu(pass, reps, true)}`,
      );
    }
  console.log('features of both variants equal bit for bit');
  const one = images.slice(0, 64) as tf.Tensor4D;
  const info = await tf.profile(() => {
    extractFeatures(resnet, one, 64);
    return [];
  });
  const by = new Map<string, [number, number]>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? [0, 0];
    by.set(k.name, [e[0] + (k.kernelTimeMs as number), e[1] + 1]);
  }
  const total = [...by.values()].reduce((a, b) => a + b[0], 0);
  console.log(`one batch: ${info.kernels.length} kernel calls, ${total.toFixed(1)} ms in kernels`);
  for (const [k, [v, n]] of [...by].sort((a, b) => b[1][0] - a[1][0]))
    console.log(`  ${k.padEnd(24)} ${String(n).padStart(4)} calls ${v.toFixed(1).padStart(8)} ms`);
}
