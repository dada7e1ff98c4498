/**
 * RoIAlign with torchvision 0.14 `ops.roi_align` semantics, on NHWC feature maps, differentiable
 * with respect to the features.
 *
 * Why not `tf.image.cropAndResize`: it samples at different points (bin edges instead of bin
 * centres, no per-bin averaging) and has no gradient in TensorFlow.js. Why not `tf.gather`: its
 * gradient is `unsortedSegmentSum`, which the tfjs CPU kernel computes with one full pass per
 * segment (one segment per feature-map cell), far too slow for FPN maps. So the op is a
 * `tf.customGrad` whose forward pass and backward pass (the transposed scatter-add) run over one
 * precomputed sampling plan, in time proportional to the samples taken: in the native addon's
 * threaded loops when it is built (bit-identical to the JavaScript ones, about 4x faster on 2
 * cores), else in JavaScript.
 */
import * as tf from '@tensorflow/tfjs';
import { loadNative } from '../../backend/native.js';

/** Options of {@link roiAlign}, as torchvision's `roi_align` arguments. */
export interface RoiAlignOptions {
  /** `[ph, pw]`: output bins per RoI. */
  outputSize: [number, number];
  /** Multiplies box coordinates to get feature-map coordinates (1/stride, e.g. 0.25 for P2). */
  spatialScale: number;
  /** Samples per bin along each axis; `<= 0` is adaptive: `ceil(roiSize / bins)`. */
  samplingRatio: number;
  /** Pixel-centre model: subtract 0.5 from the scaled box and do not enlarge tiny RoIs to 1 cell. */
  aligned: boolean;
}

/**
 * A sampling plan: for every output cell, feature positions and weights. Cells are in output order
 * `(k, py, px)`; cell `i` uses `entries[start[i] .. start[i+1])`.
 */
export interface Plan {
  start: Int32Array;
  /** Flat position `(b * H + y) * W + x` of a feature vector. */
  pos: Int32Array;
  weight: Float32Array;
}

const f32 = Math.fround;

/** One axis of one bin: the rows (or columns) it samples and their summed bilinear weights. */
interface AxisTaps {
  idx: number[];
  w: number[];
}

function addTap(t: AxisTaps, i: number, w: number): void {
  if (w === 0) return;
  const at = t.idx.indexOf(i);
  if (at >= 0) t.w[at]! += w;
  else {
    t.idx.push(i);
    t.w.push(w);
  }
}

/**
 * Taps of one bin along one axis. A sample outside [-1, size] invalidates the whole sample, which
 * is separable: it zeroes this axis factor, so the 2-D weight (a product) is zero too.
 */
function axisTaps(start: number, binSize: number, bin: number, grid: number, size: number): AxisTaps {
  const t: AxisTaps = { idx: [], w: [] };
  for (let i = 0; i < grid; i++) {
    // float32 at every step, in the C++ evaluation order, so samples land where torchvision's do
    let v = f32(f32(start + f32(bin * binSize)) + f32(f32((i + 0.5) * binSize) / grid));
    if (v < -1 || v > size) continue;
    if (v <= 0) v = 0;
    let lo = Math.floor(v);
    let hi: number;
    if (lo >= size - 1) {
      lo = hi = size - 1;
      v = lo;
    } else hi = lo + 1;
    const l = v - lo;
    addTap(t, lo, 1 - l);
    addTap(t, hi, l);
  }
  return t;
}

/** A growable pair of typed arrays for the plan's entries. */
class Entries {
  pos = new Int32Array(1024);
  weight = new Float32Array(1024);
  length = 0;
  push(p: number, w: number): void {
    if (this.length === this.pos.length) {
      const pos = new Int32Array(this.length * 2);
      const weight = new Float32Array(this.length * 2);
      pos.set(this.pos);
      weight.set(this.weight);
      this.pos = pos;
      this.weight = weight;
    }
    this.pos[this.length] = p;
    this.weight[this.length++] = w;
  }
}

/**
 * {@link axisTaps} into typed scratch at `at` (room for `2 * grid` taps): the same taps, summed in
 * the same order. Returns how many.
 */
function axisTapsInto(
  start: number,
  binSize: number,
  bin: number,
  grid: number,
  size: number,
  idx: Int32Array,
  w: Float64Array,
  at: number,
): number {
  let n = 0;
  const add = (i: number, wt: number): void => {
    if (wt === 0) return;
    for (let k = 0; k < n; k++)
      if (idx[at + k] === i) {
        w[at + k]! += wt;
        return;
      }
    idx[at + n] = i;
    w[at + n++] = wt;
  };
  for (let i = 0; i < grid; i++) {
    let v = f32(f32(start + f32(bin * binSize)) + f32(f32((i + 0.5) * binSize) / grid));
    if (v < -1 || v > size) continue;
    if (v <= 0) v = 0;
    let lo = Math.floor(v);
    let hi: number;
    if (lo >= size - 1) {
      lo = hi = size - 1;
      v = lo;
    } else hi = lo + 1;
    const l = v - lo;
    add(lo, 1 - l);
    add(hi, l);
  }
  return n;
}

/** One RoI's checked batch index, float32 origin, bin sizes and sampling grid, as torchvision computes them. */
function roiGeometry(r: number[], k: number, n: number, opts: RoiAlignOptions) {
  if (r.length !== 5) throw new Error(`roiAlign: rois[${k}] must be [batchIndex, x1, y1, x2, y2]`);
  const b = r[0]!;
  if (!Number.isInteger(b) || b < 0 || b >= n)
    throw new Error(`roiAlign: rois[${k}] batch index ${b} not in [0, ${n})`);
  const [ph, pw] = opts.outputSize;
  const offset = opts.aligned ? 0.5 : 0;
  // torchvision computes the RoI geometry in float32; the adaptive grid ceil(roiSize / bins)
  // depends on it (8.000001 / 2 -> 5 samples, not 4).
  const scale = f32(opts.spatialScale);
  const x1 = f32(f32(f32(r[1]!) * scale) - offset);
  const y1 = f32(f32(f32(r[2]!) * scale) - offset);
  let rw = f32(f32(f32(f32(r[3]!) * scale) - offset) - x1);
  let rh = f32(f32(f32(f32(r[4]!) * scale) - offset) - y1);
  if (!opts.aligned) {
    rw = Math.max(rw, 1);
    rh = Math.max(rh, 1);
  }
  const gh = opts.samplingRatio > 0 ? opts.samplingRatio : Math.ceil(f32(rh / ph));
  const gw = opts.samplingRatio > 0 ? opts.samplingRatio : Math.ceil(f32(rw / pw));
  return { b, x1, y1, binH: f32(rh / ph), binW: f32(rw / pw), gh, gw, count: Math.max(gh * gw, 1) };
}

/**
 * The sampling plan of {@link roiAlign}: for every output cell its feature positions and weights.
 * The same plan as {@link roiAlignPlanReference} (tested equal), written into typed arrays.
 */
export function roiAlignPlan(shape: number[], rois: number[][], opts: RoiAlignOptions): Plan {
  const [n, h, w] = shape as [number, number, number, number];
  const [ph, pw] = opts.outputSize;
  const start = new Int32Array(rois.length * ph * pw + 1);
  const out = new Entries();
  let cell = 0;
  let colIdx = new Int32Array(0);
  let colW = new Float64Array(0);
  let rowIdx = new Int32Array(0);
  let rowW = new Float64Array(0);
  const colN = new Int32Array(pw);
  for (let k = 0; k < rois.length; k++) {
    const { b, x1, y1, binH, binW, gh, gw, count } = roiGeometry(rois[k]!, k, n, opts);
    const cs = 2 * Math.max(gw, 0);
    if (colIdx.length < pw * cs) {
      colIdx = new Int32Array(pw * cs);
      colW = new Float64Array(pw * cs);
    }
    if (rowIdx.length < 2 * gh) {
      rowIdx = new Int32Array(2 * gh);
      rowW = new Float64Array(2 * gh);
    }
    for (let px = 0; px < pw; px++) colN[px] = axisTapsInto(x1, binW, px, gw, w, colIdx, colW, px * cs);
    for (let py = 0; py < ph; py++) {
      const rn = axisTapsInto(y1, binH, py, gh, h, rowIdx, rowW, 0);
      for (let px = 0; px < pw; px++) {
        const cn = colN[px]!;
        const co = px * cs;
        for (let a = 0; a < rn; a++) {
          const rowBase = (b * h + rowIdx[a]!) * w;
          const ra = rowW[a]!;
          for (let c = 0; c < cn; c++) out.push(rowBase + colIdx[co + c]!, (ra * colW[co + c]!) / count);
        }
        start[++cell] = out.length;
      }
    }
  }
  return { start, pos: out.pos.slice(0, out.length), weight: out.weight.slice(0, out.length) };
}

/** The sampling plan built plainly (arrays of taps, `indexOf`, pushes): the reference {@link roiAlignPlan} is tested against. */
export function roiAlignPlanReference(shape: number[], rois: number[][], opts: RoiAlignOptions): Plan {
  const [n, h, w] = shape as [number, number, number, number];
  const [ph, pw] = opts.outputSize;
  const start = new Int32Array(rois.length * ph * pw + 1);
  const pos: number[] = [];
  const weight: number[] = [];
  let cell = 0;
  for (let k = 0; k < rois.length; k++) {
    const { b, x1, y1, binH, binW, gh, gw, count } = roiGeometry(rois[k]!, k, n, opts);
    const cols: AxisTaps[] = [];
    for (let px = 0; px < pw; px++) cols.push(axisTaps(x1, binW, px, gw, w));
    for (let py = 0; py < ph; py++) {
      const rowsT = axisTaps(y1, binH, py, gh, h);
      for (let px = 0; px < pw; px++) {
        const colsT = cols[px]!;
        for (let a = 0; a < rowsT.idx.length; a++) {
          const rowBase = (b * h + rowsT.idx[a]!) * w;
          for (let c = 0; c < colsT.idx.length; c++) {
            pos.push(rowBase + colsT.idx[c]!);
            weight.push((rowsT.w[a]! * colsT.w[c]!) / count);
          }
        }
        start[++cell] = pos.length;
      }
    }
  }
  return { start, pos: Int32Array.from(pos), weight: Float32Array.from(weight) };
}

/** out[cell] = sum of weight * features[pos] (per channel). */
function gatherPlan(
  plan: Plan,
  x: Float32Array | Int32Array | Uint8Array,
  channels: number,
  cells: number,
  useNative = true,
): Float32Array {
  const out = new Float32Array(cells * channels);
  const native = useNative ? loadNative().addon : null;
  if (native && x instanceof Float32Array) {
    native.roiGather(plan.start, plan.pos, plan.weight, x, out, cells, channels);
    return out;
  }
  for (let i = 0; i < cells; i++) {
    const o = i * channels;
    for (let e = plan.start[i]!; e < plan.start[i + 1]!; e++) {
      const wgt = plan.weight[e]!;
      const base = plan.pos[e]! * channels;
      for (let c = 0; c < channels; c++) out[o + c]! += wgt * x[base + c]!;
    }
  }
  return out;
}

/** The transpose of {@link gatherPlan}: scatter-add weight * dy[cell] into the feature gradient. */
function scatterPlan(
  plan: Plan,
  dy: Float32Array | Int32Array | Uint8Array,
  channels: number,
  cells: number,
  size: number,
  useNative = true,
): Float32Array {
  const dx = new Float32Array(size);
  const native = useNative ? loadNative().addon : null;
  if (native && dy instanceof Float32Array) {
    native.roiScatter(plan.start, plan.pos, plan.weight, dy, dx, cells, channels);
    return dx;
  }
  for (let i = 0; i < cells; i++) {
    const o = i * channels;
    for (let e = plan.start[i]!; e < plan.start[i + 1]!; e++) {
      const wgt = plan.weight[e]!;
      const base = plan.pos[e]! * channels;
      for (let c = 0; c < channels; c++) dx[base + c]! += wgt * dy[o + c]!;
    }
  }
  return dx;
}

/**
 * RoIAlign (He et al., Mask R-CNN) exactly as torchvision 0.14 `ops.roi_align`, but NHWC.
 *
 * Each RoI is cut into `ph x pw` bins; each bin is the mean of `gh x gw` bilinear samples at the
 * sub-bin centres. A sample with y < -1 or y > H (x likewise) counts as 0; coordinates in [-1, 0]
 * are clamped to 0 and those past H - 1 to H - 1. The gradient flows into `features` (not into the
 * box coordinates, which are plain numbers, as in Faster R-CNN where proposals are constants).
 *
 * @param features `[N, H, W, C]` float32 feature maps (NHWC).
 * @param rois `[K][5]` rows `[batchIndex, x1, y1, x2, y2]`, boxes in input-image pixels.
 * @param opts output size, spatial scale, sampling ratio, aligned flag (see {@link RoiAlignOptions}).
 * @param loops `'js'` forces the JavaScript loops (tests compare them with the native ones).
 * @returns `[K, ph, pw, C]` pooled features.
 */
export function roiAlign(
  features: tf.Tensor4D,
  rois: number[][],
  opts: RoiAlignOptions,
  loops: 'auto' | 'js' = 'auto',
): tf.Tensor4D {
  const [, , , channels] = features.shape;
  const [ph, pw] = opts.outputSize;
  if (!(ph > 0 && pw > 0 && Number.isInteger(ph) && Number.isInteger(pw))) {
    throw new Error(`roiAlign: outputSize must be two positive integers, got ${opts.outputSize}`);
  }
  const plan = roiAlignPlan(features.shape, rois, opts);
  const cells = rois.length * ph * pw;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const value = tf.tensor4d(gatherPlan(plan, x.dataSync(), channels, cells, loops === 'auto'), [
      rois.length,
      ph,
      pw,
      channels,
    ]);
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.tensor(scatterPlan(plan, dy.dataSync(), channels, cells, x.size, loops === 'auto'), x.shape);
    return { value, gradFunc };
  });
  return op(features) as tf.Tensor4D;
}

/**
 * MMDetection's `SingleRoIExtractor.map_roi_levels`: the FPN level of each box,
 * `clamp(floor(log2(sqrt(w * h) / finestScale + 1e-6)), 0, numLevels - 1)` (0 = P2). With
 * `finestScale` 56 the boundaries fall at sqrt(area) = 112, 224, 448 pixels.
 * @param boxes `[K][4+]` boxes; the last four numbers of a row are `[x1, y1, x2, y2]` (so rows of
 *   `[batchIndex, x1, y1, x2, y2]` work too).
 */
export function mapRoiLevels(boxes: number[][], finestScale = 56, numLevels = 4): number[] {
  return boxes.map((b) => {
    const o = b.length - 4;
    const scale = Math.sqrt((b[o + 2]! - b[o]!) * (b[o + 3]! - b[o + 1]!));
    const lvl = Math.floor(Math.log2(scale / finestScale + 1e-6));
    return Math.min(Math.max(lvl, 0), numLevels - 1);
  });
}

// Row permutation with the inverse permutation as its gradient: tf.gather's own gradient goes
// through the CPU kernel of unsortedSegmentSum, which is quadratic in the row count.
function permuteRows(x: tf.Tensor, perm: number[]): tf.Tensor {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.gather(args[0] as tf.Tensor, perm),
    gradFunc: (dy: tf.Tensor) => tf.gather(dy, inv),
  }));
  return op(x);
}

/** Options of {@link multiLevelRoiAlign}: RoIAlign settings plus the level rule. */
export interface MultiLevelRoiAlignOptions {
  /** Stride of each feature map in pixels, finest first (P2–P5: `[4, 8, 16, 32]`). */
  strides: number[];
  outputSize: [number, number];
  /** 0 = adaptive, as MMDetection's `RoIAlign(output_size=7, sampling_ratio=0)`. */
  samplingRatio: number;
  /** MMCV's RoIAlign defaults to aligned = true. */
  aligned: boolean;
  /** Box side mapped to the finest level, 56 in MMDetection. */
  finestScale: number;
}

/**
 * RoIAlign over an FPN: each RoI is pooled from the level {@link mapRoiLevels} picks, with one
 * {@link roiAlign} call per level (no per-box ops), and the rows are put back in input order.
 * @param features per level `[N, Hl, Wl, C]` (NHWC), finest first.
 * @param rois `[K][5]` rows `[batchIndex, x1, y1, x2, y2]` in input pixels.
 * @returns `[K, ph, pw, C]`, row i pooled from `rois[i]`.
 */
export function multiLevelRoiAlign(
  features: tf.Tensor4D[],
  rois: number[][],
  opts: MultiLevelRoiAlignOptions,
): tf.Tensor4D {
  if (features.length !== opts.strides.length)
    throw new Error(`multiLevelRoiAlign: ${features.length} maps but ${opts.strides.length} strides`);
  const levels = mapRoiLevels(rois, opts.finestScale, features.length);
  return tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    const order: number[] = [];
    features.forEach((f, l) => {
      const idx: number[] = [];
      levels.forEach((lv, i) => lv === l && idx.push(i));
      if (idx.length === 0) return;
      order.push(...idx);
      parts.push(
        roiAlign(
          f,
          idx.map((i) => rois[i]!),
          {
            outputSize: opts.outputSize,
            spatialScale: 1 / opts.strides[l]!,
            samplingRatio: opts.samplingRatio,
            aligned: opts.aligned,
          },
        ),
      );
    });
    const c = features[0]!.shape[3];
    if (parts.length === 0) return tf.zeros([0, opts.outputSize[0], opts.outputSize[1], c]) as tf.Tensor4D;
    const sorted = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    // inverse of `order`: output row i is sorted row pos[i]
    const pos = new Array<number>(order.length);
    order.forEach((o, j) => (pos[o] = j));
    // All RoIs on one level in input order (every RoI of the demo's 96 px detector is on P2): no copy
    if (pos.every((p, i) => p === i)) return sorted;
    return permuteRows(sorted, pos) as tf.Tensor4D;
  });
}
