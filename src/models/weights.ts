/**
 * Checkpoints and ImageNet weight import.
 *
 * Checkpoints are safetensors files (float32, tfjs layouts, our torchvision-style names) with the
 * training state as JSON in `__metadata__.state`; written atomically, so a crash leaves the previous
 * checkpoint intact, and read back bit for bit.
 *
 * Import maps someone else's ResNet-50 onto `ResNet`:
 * - torchvision / timm state dicts saved as safetensors (same names; torch conv OIHW → HWIO,
 *   `fc.weight` `[out, in]` → `[in, out]`; int64 `num_batches_tracked` ignored);
 * - Keras `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5` (HDF5, Keras 2 layout
 *   `<layer>/<layer>/<weight>:0`), names `conv1_conv`, `conv1_bn`, `conv2_block1_1_conv`,
 *   `conv2_block1_0_conv` (shortcut), …, read with h5wasm. Keras ResNet50 is ResNet v1 (stride in the
 *   first 1×1 conv), so the model must be built with `variant: 'v1'`. Its convs have biases and its
 *   BatchNorm eps is 1.001e-5: both fold exactly into the running statistics (a conv bias b before BN
 *   shifts the mean: running_mean − b; in training mode the batch mean absorbs b anyway; eps 1.001e-5
 *   = our 1e-5 plus 1e-8 added to running_var).
 * A model with 1 input channel gets conv1's filters summed over the RGB input channels (a grey image
 * fed as R=G=B gives the same response).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io.js';
import { type RawTensor, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { ResNet } from './resnet.js';

export type { RawTensor } from './safetensors.js';
export { assignTensors, sameShape } from './assign.js';
import { assignTensors, sameShape } from './assign.js';

/** Writes named tensors and a JSON-able state object to `path` atomically. */
export function saveCheckpoint(path: string, tensors: Map<string, tf.Tensor>, state: unknown = {}): void {
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') throw new Error(`saveCheckpoint: ${name} is ${t.dtype}; only float32 is stored`);
    raw.set(name, { shape: [...t.shape], data: t.dataSync() as Float32Array });
  }
  writeFileAtomic(path, encodeSafetensors(raw, { format: 'cxr-notebooks checkpoint', state: JSON.stringify(state) }));
}

/** Reads a checkpoint written by `saveCheckpoint`. */
export function readCheckpoint<S = unknown>(path: string): { tensors: Map<string, RawTensor>; state: S } {
  const c = decodeSafetensors(readFileSync(path), path);
  return { tensors: c.tensors, state: JSON.parse(c.metadata.state ?? '{}') as S };
}

/** Row-major transpose of plain data: out[perm-ordered index] = in[index]. */
export function transposeRaw(t: RawTensor, perm: number[]): RawTensor {
  const shape = perm.map((p) => t.shape[p]!);
  const inStrides = strides(t.shape);
  const outStrides = strides(shape);
  const out = new Float32Array(t.data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let rem = o;
    let src = 0;
    for (let d = 0; d < shape.length; d++) {
      idx[d] = Math.floor(rem / outStrides[d]!);
      rem -= idx[d]! * outStrides[d]!;
      src += idx[d]! * inStrides[perm[d]!]!;
    }
    out[o] = t.data[src]!;
  }
  return { shape, data: out };
}

function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** HWIO kernel with I=3 → I=1 by summing over input channels. */
function sumInputChannels(t: RawTensor): RawTensor {
  const [h, w, i, o] = t.shape as [number, number, number, number];
  const out = new Float32Array(h * w * o);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < i; c++) for (let k = 0; k < o; k++) out[p * o + k]! += t.data[(p * i + c) * o + k]!;
  return { shape: [h, w, 1, o], data: out };
}

/** What an import did. */
export interface ImportReport {
  /** Model parameters that were set. */
  loaded: string[];
  /** File entries not used (classifier heads, counters). */
  ignored: string[];
  notes: string[];
}

function adaptStem(model: ResNet, conv1: RawTensor, notes: string[]): RawTensor {
  const want = model.options.inChannels;
  if (conv1.shape[2] === 3 && want === 1) {
    notes.push('conv1: RGB filters summed over input channels for the 1-channel model');
    return sumInputChannels(conv1);
  }
  return conv1;
}

function finishImport(model: ResNet, mapped: Map<string, RawTensor>, where: string, ignored: string[], notes: string[]): ImportReport {
  const target = new Map<string, tf.Variable>();
  for (const p of model.store.all()) {
    // A classifier head is task-specific: keep ours unless the file's has exactly our shape.
    if (p.name.startsWith('fc.')) {
      const t = mapped.get(p.name);
      if (!t || !sameShape(t.shape, p.variable.shape)) {
        notes.push(`${p.name}: kept the model's own (file has ${t ? `[${t.shape}]` : 'none'})`);
        continue;
      }
    }
    target.set(p.name, p.variable);
  }
  for (const name of mapped.keys()) if (!target.has(name)) ignored.push(name);
  tf.tidy(() => assignTensors(target, mapped, where));
  return { loaded: [...target.keys()], ignored, notes };
}

/** torchvision/timm ResNet state dict (already decoded) → model. Throws on any missing or mis-shaped tensor. */
export function importTorchResNet(model: ResNet, tensors: Map<string, RawTensor>, where = 'torch weights'): ImportReport {
  const notes: string[] = [];
  const ignored: string[] = [];
  const mapped = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    let u = t;
    if (t.shape.length === 4) u = transposeRaw(t, [2, 3, 1, 0]); // OIHW → HWIO
    else if (t.shape.length === 2) u = transposeRaw(t, [1, 0]); // [out, in] → [in, out]
    if (name === 'conv1.weight') u = adaptStem(model, u, notes);
    mapped.set(name, u);
  }
  if (model.options.variant !== 'v1.5') notes.push('torchvision weights are ResNet v1.5; this model is built as v1');
  return finishImport(model, mapped, where, ignored, notes);
}

/** Reads a torchvision/timm `.safetensors` file into the model. */
export function loadTorchResNetWeights(model: ResNet, path: string): ImportReport {
  const c = decodeSafetensors(readFileSync(path), path);
  const r = importTorchResNet(model, c.tensors, path);
  r.ignored.push(...c.skipped.keys());
  return r;
}

/** Keras layer name for a torchvision module prefix (`layer2.0.conv1` → `conv3_block1_1_conv`). */
export function kerasLayerName(torchModule: string): string {
  if (torchModule === 'conv1') return 'conv1_conv';
  if (torchModule === 'bn1') return 'conv1_bn';
  const m = /^layer(\d)\.(\d+)\.(conv|bn)(\d)$/.exec(torchModule) ?? /^layer(\d)\.(\d+)\.downsample\.(0|1)$/.exec(torchModule);
  if (!m) throw new Error(`kerasLayerName: no Keras name for ${torchModule}`);
  const stage = Number(m[1]) + 1;
  const block = Number(m[2]) + 1;
  if (m[3] === '0' || m[3] === '1') return `conv${stage}_block${block}_0_${m[3] === '0' ? 'conv' : 'bn'}`;
  return `conv${stage}_block${block}_${m[4]}_${m[3]}`;
}

const KERAS_BN_EPS = 1.001e-5;
const OUR_BN_EPS = 1e-5;
const BN_FIELDS: Record<string, string> = { weight: 'gamma:0', bias: 'beta:0', running_mean: 'moving_mean:0', running_var: 'moving_variance:0' };

/**
 * Keras ResNet50 weights keyed `<layer>/<weight>` (e.g. `conv2_block1_1_conv/kernel:0`) → model.
 * Throws on any missing or mis-shaped tensor, and when the model is not `variant: 'v1'`.
 */
export function importKerasResNet(model: ResNet, keras: Map<string, RawTensor>, where = 'Keras weights'): ImportReport {
  if (model.options.variant !== 'v1') {
    throw new Error(`${where}: Keras ResNet50 is ResNet v1 (stride in the first 1x1 conv); build the model with variant: 'v1'`);
  }
  const notes = ['conv biases folded into running_mean; BN eps 1.001e-5 folded into running_var (+1e-8)'];
  const used = new Set<string>();
  const take = (key: string): RawTensor | undefined => {
    const t = keras.get(key);
    if (t) used.add(key);
    return t;
  };
  const mapped = new Map<string, RawTensor>();
  const convBias = new Map<string, RawTensor>();
  for (const p of model.store.all()) {
    if (p.name.startsWith('fc.')) continue;
    const dot = p.name.lastIndexOf('.');
    const module = p.name.slice(0, dot);
    const field = p.name.slice(dot + 1);
    const layer = kerasLayerName(module);
    if (layer.endsWith('_conv')) {
      const k = take(`${layer}/kernel:0`);
      if (k) mapped.set(p.name, module === 'conv1' ? adaptStem(model, k, notes) : k);
      const b = take(`${layer}/bias:0`);
      if (b) convBias.set(module, b);
    } else {
      const t = take(`${layer}/${BN_FIELDS[field]}`);
      if (t) mapped.set(p.name, t);
    }
  }
  // Fold each conv's bias into the BN that follows it, and Keras' eps into running_var.
  const bnOf = (convModule: string): string =>
    convModule === 'conv1' ? 'bn1' : convModule.endsWith('downsample.0') ? convModule.replace(/0$/, '1') : convModule.replace(/conv(\d)$/, 'bn$1');
  for (const [conv, b] of convBias) {
    const rm = mapped.get(`${bnOf(conv)}.running_mean`);
    if (rm && rm.data.length === b.data.length) mapped.set(`${bnOf(conv)}.running_mean`, { shape: rm.shape, data: rm.data.map((m, i) => m - b.data[i]!) });
  }
  for (const [name, t] of mapped) {
    if (name.endsWith('.running_var')) mapped.set(name, { shape: t.shape, data: t.data.map((v) => v + (KERAS_BN_EPS - OUR_BN_EPS)) });
  }
  const ignored = [...keras.keys()].filter((k) => !used.has(k));
  return finishImport(model, mapped, where, ignored, notes);
}

/**
 * Reads every float dataset of an HDF5 file with h5wasm, keyed by the last two path components
 * (`conv1_conv/kernel:0` for `/conv1_conv/conv1_conv/kernel:0`).
 */
export async function readHdf5Tensors(path: string): Promise<Map<string, RawTensor>> {
  let h5: typeof import('h5wasm');
  try {
    h5 = (await import('h5wasm/node')).default as unknown as typeof import('h5wasm');
  } catch (e) {
    throw new Error(`HDF5 import needs the h5wasm package (npm ci installs it): ${(e as Error).message}`);
  }
  await h5.ready;
  const file = new h5.File(path, 'r');
  const out = new Map<string, RawTensor>();
  try {
    const walk = (group: import('h5wasm').Group, prefix: string): void => {
      for (const key of group.keys()) {
        const child = group.get(key);
        const full = prefix ? `${prefix}/${key}` : key;
        if (child instanceof h5.Group) walk(child, full);
        else if (child instanceof h5.Dataset) {
          const v = child.value;
          if (!(v instanceof Float32Array || v instanceof Float64Array)) continue;
          const parts = full.split('/');
          out.set(parts.slice(-2).join('/'), { shape: [...(child.shape ?? [])], data: Float32Array.from(v) });
        }
      }
    };
    walk(file, '');
  } finally {
    file.close();
  }
  if (out.size === 0) throw new Error(`${path}: no float datasets found (is this a Keras HDF5 weights file?)`);
  return out;
}

/** Reads Keras `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5` into a `variant: 'v1'` model. */
export async function loadKerasResNetWeights(model: ResNet, path: string): Promise<ImportReport> {
  return importKerasResNet(model, await readHdf5Tensors(path), path);
}
