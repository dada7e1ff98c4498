import * as cxr from './build/src/index.js';
import * as tf from '@tensorflow/tfjs';
const size = Number(process.argv[2] ?? 128), bs = Number(process.argv[3] ?? 8), inSize = Number(process.argv[4] ?? 64);
const config = cxr.makeConfig({ notebook: 'dbg', profile: 'demo', backbone: { inputSize: inSize } });
await cxr.initEngine('auto');
const rng = cxr.makeRng(1);
// Barlow Twins step
const nih = cxr.openNih(config, { log: () => {} });
const source = await cxr.nihTrainSource(nih, config.data.imageSize);
const bb = cxr.loadBackbone(config, 'none', rng.fork('b'));
const model = new cxr.BarlowTwins(bb, config.pretrain.projector, rng.fork('p'), 0.0051);
const p = config.pretrain;
const task = new cxr.PretrainTask(model, source, { batchSize: p.batchSize, inputSize: inSize, epochs: 2, stepsPerEpoch: 10, lrWeights: p.lrWeights, lrBiases: p.lrBiases, weightDecay: p.weightDecay, warmupEpochs: 1, seed: 1 });
for (let s = 0; s < 3; s++) { const t0 = performance.now(); task.trainStep(s, rng.fork(s)); console.log('bt step', inSize, 'px batch', p.batchSize, ((performance.now()-t0)/1000).toFixed(2)+'s'); }
// detection step
const vindr = cxr.openVindr(config, { log: () => {} });
const splits = cxr.detectionSplits(config, vindr);
const set = await cxr.loadDetectionSet(splits.train.slice(0, 32), size);
const { detector } = cxr.buildDetector(config, 'none', rng);
const opt = tf.train.momentum(0.01, 0.9);
for (let s = 0; s < 4; s++) {
  const x = set.images.slice([s*bs % 32,0,0,0],[bs,-1,-1,-1]);
  const t0 = performance.now();
  cxr.detectionTrainStep(detector, opt, x, set.targets.slice(s*bs % 32, s*bs%32+bs), { step: s });
  console.log('det step', size, 'px batch', bs, ((performance.now()-t0)/1000).toFixed(2)+'s');
  x.dispose();
}
const t0 = performance.now(); cxr.detectAll(detector, set, 8); console.log('detect 32 imgs', ((performance.now()-t0)/1000).toFixed(2)+'s');
const x = set.images.slice([0,0,0,0],[bs,-1,-1,-1]);
const prof = await tf.profile(() => { cxr.detectionTrainStep(detector, opt, x, set.targets.slice(0, bs), { step: 9 }); });
const agg = {};
for (const k of prof.kernels) { agg[k.name] = (agg[k.name] || 0) + (k.kernelTimeMs || 0); }
const tot = Object.values(agg).reduce((a,b)=>a+b,0);
console.log('total kernel ms', tot.toFixed(0), 'kernels', prof.kernels.length);
console.log(Object.entries(agg).sort((a,b)=>b[1]-a[1]).slice(0,14).map(([k,v])=>k+' '+v.toFixed(0)).join('\n'));
const t1 = performance.now(); cxr.detectionTrainStep(detector, opt, x, set.targets.slice(0, bs), { step: 10 }); console.log('wall step', ((performance.now()-t1)/1000).toFixed(2));
