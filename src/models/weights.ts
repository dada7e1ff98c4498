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
 * Input convention: every model here takes raw pixels in [0, 1] (grey: 1 channel). An imported model
 * expects its own input normalisation (torchvision: RGB, (x − mean)/std with ImageNet's mean and std;
 * Keras "caffe": BGR, 255·x − mean). That affine map is folded into conv1 and bn1 at import
 * (`foldInputNormalisation`): conv1's filters are scaled per input channel (and, for a 1-channel model,
 * summed over R, G, B: a grey image fed as R = G = B), and the constant the offsets add to each conv1
 * output channel moves into bn1's running mean. This is exact wherever conv1's 7×7 window lies inside
 * the image; at the padded border it differs, because the peer pads the *normalised* image with 0 (a
 * pixel of value `mean`) and we pad raw pixels with 0 (test/models/importParity.test.ts shows both).
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
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
    if (t.dtype !== 'float32')
      throw new Error(`saveCheckpoint: ${name} is ${t.dtype}; only float32 is stored`);
    raw.set(name, { shape: [...t.shape], data: t.dataSync() as Float32Array });
  }
  writeFileAtomic(
    path,
    encodeSafetensors(raw, { format: 'cxr-notebooks checkpoint', state: JSON.stringify(state) }),
  );
}

/**
 * Reads a checkpoint written by `saveCheckpoint`. An empty or unreadable file (a disk that filled,
 * a copy cut short) is an error that names it and says to delete it.
 */
export function readCheckpoint<S = unknown>(path: string): { tensors: Map<string, RawTensor>; state: S } {
  const bytes = readFileSync(path);
  const fix = `delete it (rm '${path}') and rerun: the step it belongs to is recomputed`;
  if (bytes.length === 0) throw new Error(`checkpoint ${path} is empty (0 bytes): ${fix}`);
  try {
    const c = decodeSafetensors(bytes, path);
    return { tensors: c.tensors, state: JSON.parse(c.metadata.state ?? '{}') as S };
  } catch (e) {
    throw new Error(`checkpoint ${path} is unreadable (${(e as Error).message}): ${fix}`, { cause: e });
  }
}

/** Throws, naming the file and the tensor, when weights hold NaN or infinite values. */
export function assertFiniteWeights(tensors: ReadonlyMap<string, RawTensor>, path: string): void {
  for (const [name, t] of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) {
        throw new Error(
          `${path}: tensor ${name} holds ${t.data[i]} at index ${i}: the weights are corrupt (a diverged or damaged save); download or export them again`,
        );
      }
    }
  }
}

/**
 * The checks before a weight file is opened: it exists, is a file (not a folder) and, for `.h5`,
 * starts with the HDF5 signature. Each failure names the path and says what to do.
 */
export function checkWeightFile(path: string, kind: 'safetensors' | 'hdf5'): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`weights file ${path}: no such file; set CXR_IMAGENET_WEIGHTS to an existing file`);
  }
  if (st.isDirectory())
    throw new Error(
      `weights path ${path} is a directory, not a file: point CXR_IMAGENET_WEIGHTS at the .safetensors or .h5 file inside it`,
    );
  if (st.size === 0) throw new Error(`weights file ${path} is empty (0 bytes): download it again`);
  if (kind === 'hdf5') {
    const head = Buffer.alloc(8);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
    if (!head.equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      throw new Error(
        `weights file ${path} is not an HDF5 file (no HDF5 signature): use Keras' resnet50 ... notop .h5 download, or a torchvision/timm .safetensors file`,
      );
    }
  }
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

/**
 * The input normalisation a pretrained model was trained with: its input channel c is
 * `scale[c] · pixel + offset[c]` for a pixel in [0, 1], in the file's channel order.
 */
export interface InputNormalisation {
  name: string;
  scale: number[];
  offset: number[];
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** torchvision's (and timm's ResNet) ImageNet preprocessing: RGB, (x − mean) / std. */
export const TORCHVISION_IMAGENET: InputNormalisation = {
  name: 'torchvision ImageNet, (x - mean) / std with mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]',
  scale: IMAGENET_STD.map((s) => 1 / s),
  offset: IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]!),
};

/** Keras ResNet50's `preprocess_input` ("caffe" mode): BGR, 255·x − mean with mean [103.939, 116.779, 123.68]. */
export const KERAS_CAFFE: InputNormalisation = {
  name: 'Keras caffe, BGR 255 x - mean with mean [103.939, 116.779, 123.68]',
  scale: [255, 255, 255],
  offset: [-103.939, -116.779, -123.68],
};

/**
 * Folds `norm` into a conv1 kernel (HWIO, I = norm's channels): returns the kernel for raw pixels
 * (`inChannels` 1: summed over the file's channels, as for a grey image fed as R = G = B; else the
 * same channels, each scaled) and the per-output-channel constant `bias[k] = Σ_{h,w,c} offset[c]·W[h,w,c,k]`
 * that the offsets add (to be subtracted from bn1's running mean).
 */
export function foldInputNormalisation(
  conv1: RawTensor,
  norm: InputNormalisation,
  inChannels: number,
): { kernel: RawTensor; bias: Float32Array } {
  const [h, w, i, o] = conv1.shape as [number, number, number, number];
  if (norm.scale.length !== i || norm.offset.length !== i)
    throw new Error(
      `foldInputNormalisation: conv1 has ${i} input channels, ${norm.name} has ${norm.scale.length}`,
    );
  if (inChannels !== 1 && inChannels !== i)
    throw new Error(`foldInputNormalisation: cannot map ${i} input channels onto ${inChannels}`);
  const kernel = new Float32Array(h * w * inChannels * o);
  // float64 sums: the bias adds ~150 terms of mixed sign.
  const bias = new Float64Array(o);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < i; c++) {
      const cOut = inChannels === 1 ? 0 : c;
      for (let k = 0; k < o; k++) {
        const v = conv1.data[(p * i + c) * o + k]!;
        kernel[(p * inChannels + cOut) * o + k]! += norm.scale[c]! * v;
        bias[k]! += norm.offset[c]! * v;
      }
    }
  }
  return { kernel: { shape: [h, w, inChannels, o], data: kernel }, bias: Float32Array.from(bias) };
}

/** What an import did. */
export interface ImportReport {
  /** Model parameters that were set. */
  loaded: string[];
  /** File entries not used (classifier heads, counters). */
  ignored: string[];
  notes: string[];
}

/**
 * Folds the file's input normalisation into conv1 (in `mapped`, HWIO) and bn1's running mean, so that
 * the model takes raw [0, 1] pixels. `norm` null: the file's conv1 is used as it is (3 → 1 channels
 * still summed).
 */
function adaptStem(
  model: ResNet,
  mapped: Map<string, RawTensor>,
  norm: InputNormalisation | null,
  notes: string[],
): void {
  const conv1 = mapped.get('conv1.weight');
  const mean = mapped.get('bn1.running_mean');
  if (!conv1) return;
  const want = model.options.inChannels;
  const have = conv1.shape[2]!;
  if (norm === null && have === want) return;
  const identity: InputNormalisation = {
    name: 'none',
    scale: new Array<number>(have).fill(1),
    offset: new Array<number>(have).fill(0),
  };
  const folded = foldInputNormalisation(conv1, norm ?? identity, want);
  mapped.set('conv1.weight', folded.kernel);
  if (have !== want)
    notes.push(
      `conv1: filters summed over the file's ${have} input channels for the ${want}-channel model (a grey image as R = G = B)`,
    );
  if (norm) {
    if (!mean)
      throw new Error('input normalisation: the file has no bn1.running_mean to fold the offsets into');
    mapped.set('bn1.running_mean', { shape: mean.shape, data: mean.data.map((m, k) => m - folded.bias[k]!) });
    notes.push(
      `input normalisation folded into conv1 and bn1 (${norm.name}): the model takes raw [0, 1] pixels; exact away from the 3-pixel padded border`,
    );
  }
}

/** Options of the ResNet importers. */
export interface ImportOptions {
  /** The file's input normalisation, folded in at import; null: none (layout-only import). Default: the file format's own. */
  inputNorm?: InputNormalisation | null;
}

function finishImport(
  model: ResNet,
  mapped: Map<string, RawTensor>,
  where: string,
  ignored: string[],
  notes: string[],
): ImportReport {
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
  // layer3.5 exists only in ResNet-50 and deeper: such a file cannot fit the small smoke/demo backbones.
  if (mapped.has('layer3.5.conv1.weight') && !target.has('layer3.5.conv1.weight')) {
    const o = model.options;
    throw new Error(
      `${where}: this file holds a ResNet-50 and needs the paper profile's backbone (blocks 3-4-6-3, width 64); this model has blocks ${o.blocks.join('-')}, width ${o.width}. Run with CXR_PROFILE=paper, or unset CXR_IMAGENET_WEIGHTS to use the ImageNet-proxy`,
    );
  }
  tf.tidy(() => assignTensors(target, mapped, where));
  return { loaded: [...target.keys()], ignored, notes };
}

/** torchvision/timm ResNet state dict (already decoded) → model. Throws on any missing or mis-shaped tensor. */
export function importTorchResNet(
  model: ResNet,
  tensors: Map<string, RawTensor>,
  where = 'torch weights',
  opts: ImportOptions = {},
): ImportReport {
  const notes: string[] = [];
  const ignored: string[] = [];
  const mapped = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    let u = t;
    if (t.shape.length === 4)
      u = transposeRaw(t, [2, 3, 1, 0]); // OIHW → HWIO
    else if (t.shape.length === 2) u = transposeRaw(t, [1, 0]); // [out, in] → [in, out]
    mapped.set(name, u);
  }
  adaptStem(model, mapped, opts.inputNorm === undefined ? TORCHVISION_IMAGENET : opts.inputNorm, notes);
  if (model.options.variant !== 'v1.5')
    notes.push('torchvision weights are ResNet v1.5; this model is built as v1');
  return finishImport(model, mapped, where, ignored, notes);
}

/** Reads a torchvision/timm `.safetensors` file into the model. */
export function loadTorchResNetWeights(model: ResNet, path: string, opts: ImportOptions = {}): ImportReport {
  checkWeightFile(path, 'safetensors');
  const c = decodeSafetensors(readFileSync(path), path);
  assertFiniteWeights(c.tensors, path);
  const r = importTorchResNet(model, c.tensors, path, opts);
  r.ignored.push(...c.skipped.keys());
  return r;
}

/** Keras layer name for a torchvision module prefix (`layer2.0.conv1` → `conv3_block1_1_conv`). */
export function kerasLayerName(torchModule: string): string {
  if (torchModule === 'conv1') return 'conv1_conv';
  if (torchModule === 'bn1') return 'conv1_bn';
  const m =
    /^layer(\d)\.(\d+)\.(conv|bn)(\d)$/.exec(torchModule) ??
    /^layer(\d)\.(\d+)\.downsample\.(0|1)$/.exec(torchModule);
  if (!m) throw new Error(`kerasLayerName: no Keras name for ${torchModule}`);
  const stage = Number(m[1]) + 1;
  const block = Number(m[2]) + 1;
  if (m[3] === '0' || m[3] === '1') return `conv${stage}_block${block}_0_${m[3] === '0' ? 'conv' : 'bn'}`;
  return `conv${stage}_block${block}_${m[4]}_${m[3]}`;
}

const KERAS_BN_EPS = 1.001e-5;
const OUR_BN_EPS = 1e-5;
const BN_FIELDS: Record<string, string> = {
  weight: 'gamma:0',
  bias: 'beta:0',
  running_mean: 'moving_mean:0',
  running_var: 'moving_variance:0',
};

/**
 * Keras ResNet50 weights keyed `<layer>/<weight>` (e.g. `conv2_block1_1_conv/kernel:0`) → model.
 * Throws on any missing or mis-shaped tensor, and when the model is not `variant: 'v1'`.
 */
export function importKerasResNet(
  model: ResNet,
  keras: Map<string, RawTensor>,
  where = 'Keras weights',
  opts: ImportOptions = {},
): ImportReport {
  if (model.options.variant !== 'v1') {
    throw new Error(
      `${where}: Keras ResNet50 is ResNet v1 (stride in the first 1x1 conv); build the model with variant: 'v1'`,
    );
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
      if (k) mapped.set(p.name, k);
      const b = take(`${layer}/bias:0`);
      if (b) convBias.set(module, b);
    } else {
      const t = take(`${layer}/${BN_FIELDS[field]}`);
      if (t) mapped.set(p.name, t);
    }
  }
  // Fold each conv's bias into the BN that follows it, and Keras' eps into running_var.
  const bnOf = (convModule: string): string =>
    convModule === 'conv1'
      ? 'bn1'
      : convModule.endsWith('downsample.0')
        ? convModule.replace(/0$/, '1')
        : convModule.replace(/conv(\d)$/, 'bn$1');
  for (const [conv, b] of convBias) {
    const rm = mapped.get(`${bnOf(conv)}.running_mean`);
    if (rm && rm.data.length === b.data.length)
      mapped.set(`${bnOf(conv)}.running_mean`, {
        shape: rm.shape,
        data: rm.data.map((m, i) => m - b.data[i]!),
      });
  }
  for (const [name, t] of mapped) {
    if (name.endsWith('.running_var'))
      mapped.set(name, { shape: t.shape, data: t.data.map((v) => v + (KERAS_BN_EPS - OUR_BN_EPS)) });
  }
  // After the conv-bias fold: bn1's running mean then holds the Keras conv1 bias, and the input offsets add to it.
  adaptStem(model, mapped, opts.inputNorm === undefined ? KERAS_CAFFE : opts.inputNorm, notes);
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
  if (out.size === 0)
    throw new Error(`${path}: no float datasets found (is this a Keras HDF5 weights file?)`);
  return out;
}

/** Reads Keras `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5` into a `variant: 'v1'` model. */
export async function loadKerasResNetWeights(
  model: ResNet,
  path: string,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  checkWeightFile(path, 'hdf5');
  const tensors = await readHdf5Tensors(path);
  assertFiniteWeights(tensors, path);
  return importKerasResNet(model, tensors, path, opts);
}
