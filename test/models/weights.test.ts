import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { ResNet, type ResNetOptions } from '../../src/models/resnet.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from '../../src/models/safetensors.js';
import {
  kerasLayerName,
  loadKerasResNetWeights,
  loadTorchResNetWeights,
  readCheckpoint,
  saveCheckpoint,
  transposeRaw,
} from '../../src/models/weights.js';
import { tempDir } from '../helpers.js';

before(async () => {
  await initEngine('cpu');
});

const TINY: ResNetOptions = { blocks: [1, 2, 1, 1], width: 2, inChannels: 3, numClasses: 5 };

function raw(v: tf.Tensor): RawTensor {
  return { shape: [...v.shape], data: v.dataSync() as Float32Array };
}

/** Makes every running statistic non-trivial, so a mapping that drops one shows in the output. */
function perturbBuffers(m: ResNet, seed: number): void {
  const rng = makeRng(seed);
  for (const p of m.store.all()) {
    if (p.name.endsWith('running_mean'))
      p.variable.assign(tf.tensor(Array.from({ length: p.variable.size }, () => rng.uniform(-0.2, 0.2))));
    if (p.name.endsWith('running_var'))
      p.variable.assign(tf.tensor(Array.from({ length: p.variable.size }, () => rng.uniform(0.5, 2))));
    if (p.kind === 'norm')
      p.variable.assign(tf.tensor(Array.from({ length: p.variable.size }, () => rng.uniform(0.5, 1.5))));
  }
}

function evalOut(m: ResNet, x: tf.Tensor4D): Float32Array {
  return tf.tidy(() => m.forward(x, { training: false }).logits!.dataSync() as Float32Array);
}

test('checkpoint save -> load round-trips every tensor bit for bit, with its state', () => {
  const dir = tempDir();
  const m = new ResNet(TINY, makeRng(1));
  perturbBuffers(m, 2);
  const path = join(dir, 'ck.safetensors');
  saveCheckpoint(path, new Map(m.store.all().map((p) => [p.name, p.variable])), { step: 7, note: 'x' });
  const back = readCheckpoint<{ step: number }>(path);
  assert.equal(back.state.step, 7);
  for (const p of m.store.all()) {
    const t = back.tensors.get(p.name)!;
    assert.deepEqual(t.shape, p.variable.shape);
    assert.deepEqual(Array.from(t.data), Array.from(p.variable.dataSync()), p.name);
  }
  m.dispose();
});

test('safetensors codec: header aligned, F64/F16/BF16 read as float32, int64 listed as skipped', () => {
  const enc = encodeSafetensors(new Map([['a', { shape: [2], data: new Float32Array([1.5, -2]) }]]), {
    k: 'v',
  });
  const n = Number(new DataView(enc.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  // A hand-built file: F64 [1,2], F16 1.0 (0x3c00), BF16 -2 (0xc000), I64 counter.
  const header = JSON.stringify({
    d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
    h: { dtype: 'F16', shape: [1], data_offsets: [16, 18] },
    b: { dtype: 'BF16', shape: [1], data_offsets: [18, 20] },
    n: { dtype: 'I64', shape: [], data_offsets: [20, 28] },
  });
  const buf = new Uint8Array(8 + header.length + 28);
  const dv = new DataView(buf.buffer);
  dv.setBigUint64(0, BigInt(header.length), true);
  buf.set(Buffer.from(header), 8);
  const o = 8 + header.length;
  dv.setFloat64(o, 1, true);
  dv.setFloat64(o + 8, 2, true);
  dv.setUint16(o + 16, 0x3c00, true);
  dv.setUint16(o + 18, 0xc000, true);
  const c = decodeSafetensors(buf);
  assert.deepEqual(Array.from(c.tensors.get('d')!.data), [1, 2]);
  assert.deepEqual(Array.from(c.tensors.get('h')!.data), [1]);
  assert.deepEqual(Array.from(c.tensors.get('b')!.data), [-2]);
  assert.equal(c.skipped.get('n'), 'I64');
  assert.throws(() => decodeSafetensors(new Uint8Array(4)), /too short/);
});

test('torchvision-layout safetensors (OIHW, fc [out,in], num_batches_tracked) import gives the same network', () => {
  const dir = tempDir();
  const a = new ResNet(TINY, makeRng(3));
  perturbBuffers(a, 4);
  // Write A the way torch.save_file(model.state_dict()) would: torch layouts, an int64 counter per BN.
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let off = 0;
  const put = (name: string, dtype: string, shape: number[], bytes: Uint8Array): void => {
    header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
    chunks.push(bytes);
    off += bytes.length;
  };
  for (const p of a.store.all()) {
    let t = raw(p.variable);
    if (t.shape.length === 4) t = transposeRaw(t, [3, 2, 0, 1]);
    if (t.shape.length === 2) t = transposeRaw(t, [1, 0]);
    put(p.name, 'F32', t.shape, new Uint8Array(t.data.buffer.slice(0)));
    if (p.name.endsWith('running_var'))
      put(p.name.replace('running_var', 'num_batches_tracked'), 'I64', [], new Uint8Array(8));
  }
  const h = Buffer.from(JSON.stringify(header));
  const file = Buffer.concat([Buffer.from(new BigUint64Array([BigInt(h.length)]).buffer), h, ...chunks]);
  const path = join(dir, 'resnet.safetensors');
  writeFileSync(path, file);
  const b = new ResNet(TINY, makeRng(99));
  // Layout only here (no input normalisation): importParity.test.ts checks the fold against torchvision.
  const report = loadTorchResNetWeights(b, path, { inputNorm: null });
  assert.equal(report.loaded.length, a.store.all().length);
  assert.ok(report.ignored.some((n) => n.endsWith('num_batches_tracked')));
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  assert.deepEqual(evalOut(b, x), evalOut(a, x));

  // Greyscale: conv1 summed over RGB, so a grey image gives what A gives on R=G=B.
  const grey = new ResNet({ ...TINY, inChannels: 1 }, makeRng(5));
  const r2 = loadTorchResNetWeights(grey, path, { inputNorm: null });
  assert.ok(r2.notes.some((n) => /summed over the file's 3 input channels/.test(n)));
  const g = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 12) as tf.Tensor4D;
  const g3 = tf.concat([g, g, g], 3) as tf.Tensor4D;
  const [ya, yg] = [evalOut(a, g3), evalOut(grey, g)];
  ya.forEach((v, i) => assert.ok(Math.abs(v - yg[i]!) < 1e-4, `${v} vs ${yg[i]}`));

  // A deeper model than the file: a clear error naming what is missing.
  const deeper = new ResNet({ ...TINY, blocks: [2, 2, 1, 1] }, makeRng(6));
  assert.throws(() => loadTorchResNetWeights(deeper, path), /missing layer1\.1\.conv1\.weight/);
  const wider = new ResNet({ ...TINY, width: 4 }, makeRng(7));
  assert.throws(
    () => loadTorchResNetWeights(wider, path),
    /conv1\.weight: file has \[7,7,3,2\], model needs \[7,7,3,4\]/,
  );
  tf.dispose([x, g, g3]);
  [a, b, grey, deeper, wider].forEach((m) => m.dispose());
});

test('Keras names: stem, bottleneck convs and the shortcut', () => {
  assert.equal(kerasLayerName('conv1'), 'conv1_conv');
  assert.equal(kerasLayerName('bn1'), 'conv1_bn');
  assert.equal(kerasLayerName('layer1.0.conv1'), 'conv2_block1_1_conv');
  assert.equal(kerasLayerName('layer3.5.bn3'), 'conv4_block6_3_bn');
  assert.equal(kerasLayerName('layer2.0.downsample.0'), 'conv3_block1_0_conv');
  assert.equal(kerasLayerName('layer2.0.downsample.1'), 'conv3_block1_0_bn');
});

test('Keras HDF5 (written here with h5wasm): conv biases and eps 1.001e-5 fold into BN exactly', async () => {
  const h5 = (await import('h5wasm/node')).default;
  await h5.ready;
  const dir = tempDir();
  const opts: ResNetOptions = { ...TINY, numClasses: 0, variant: 'v1' };
  const a = new ResNet(opts, makeRng(8));
  perturbBuffers(a, 9);
  const path = join(dir, 'resnet50_notop.h5');
  const f = new h5.File(path, 'w');
  const rng = makeRng(10);
  const fields: Record<string, string> = {
    weight: 'gamma:0',
    bias: 'beta:0',
    running_mean: 'moving_mean:0',
    running_var: 'moving_variance:0',
  };
  const biasOf = new Map<string, Float32Array>();
  for (const p of a.store.all()) {
    const dot = p.name.lastIndexOf('.');
    const layer = kerasLayerName(p.name.slice(0, dot));
    if (!f.keys().includes(layer)) f.create_group(layer);
    const g = f.get(layer) as InstanceType<typeof h5.Group>;
    if (!g.keys().includes(layer)) g.create_group(layer);
    const inner = f.get(`${layer}/${layer}`) as InstanceType<typeof h5.Group>;
    let data = Float32Array.from(p.variable.dataSync());
    const name =
      p.name.endsWith('weight') && layer.endsWith('_conv') ? 'kernel:0' : fields[p.name.slice(dot + 1)]!;
    if (name === 'kernel:0') {
      // Keras convs carry a bias; the BN after them sees conv + b, so its moving mean holds mean + b.
      const b = Float32Array.from({ length: p.variable.shape[3]! }, () => rng.uniform(-0.1, 0.1));
      biasOf.set(layer.replace(/_conv$/, '_bn'), b);
      inner.create_dataset({ name: 'bias:0', data: b, shape: [b.length], dtype: '<f' });
    }
    if (name === 'moving_mean:0') data = data.map((m, i) => m + biasOf.get(layer)![i]!);
    if (name === 'moving_variance:0') data = data.map((v) => v - 1e-8);
    inner.create_dataset({ name, data, shape: [...p.variable.shape], dtype: '<f' });
  }
  f.close();
  const b = new ResNet(opts, makeRng(12));
  const report = await loadKerasResNetWeights(b, path, { inputNorm: null });
  assert.equal(report.loaded.length, a.store.all().length);
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 13) as tf.Tensor4D;
  const [pa, pb] = [
    tf.tidy(() => a.forward(x, { training: false }).pooled.dataSync()),
    tf.tidy(() => b.forward(x, { training: false }).pooled.dataSync()),
  ];
  pa.forEach((v, i) => assert.ok(Math.abs(v - pb[i]!) < 1e-4 * Math.max(1, Math.abs(v)), `${v} vs ${pb[i]}`));
  const v15 = new ResNet({ ...opts, variant: 'v1.5' }, makeRng(14));
  await assert.rejects(loadKerasResNetWeights(v15, path), /variant: 'v1'/);
  x.dispose();
  [a, b, v15].forEach((m) => m.dispose());
});
