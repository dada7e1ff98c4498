/**
 * Ablation-CAM (Desai & Ramaswamy, WACV 2020): a gradient-free class-activation map. The model is cut
 * at a target layer into `activations = f(x)` and `score = g(activations)`; each channel k of the
 * activations is set to zero in turn and the drop of the score gives its weight
 *
 *   w_k = (y − y_k) / y,     CAM = ReLU(Σ_k w_k A_k),
 *
 * then the map is resized to the image (bilinear) and min–max scaled to [0, 1].
 *
 * Facts carried over from jacobgil/pytorch-grad-cam (`AblationCAM`, commit 084273b), the implementation
 * most papers (this one included, by its figures) use:
 * - the weight is exactly `(y − y_k) / y` with no epsilon; we follow it and only define y = 0, where it
 *   would give NaN, as "all weights 0" (an empty map; `score` says why);
 * - channels are ablated in batches of copies of the cached activations, one ablated channel per row
 *   (its default batch is 32);
 * - channels not ablated (ratio_channels_to_ablate < 1) keep the original score, so their weight is 0;
 * - it scales before it resizes; we resize first, so the map the reader sees spans exactly [0, 1]
 *   (bilinear resizing can otherwise lower the peak below 1).
 * Where it differs on purpose: pytorch-grad-cam ablates to 0 only when the layer's minimum is 0 and
 * otherwise to `min − 1e7`; we ablate to `ablationValue` (0, the paper's choice) always. Its channel
 * choice for a ratio < 1 is an experimental EigenCAM-mask score keeping both ends of the ranking; ours
 * keeps the channels with the largest total activation |A_k|, the ones that can move the score most.
 */
import * as tf from '@tensorflow/tfjs';

/** A heat map: `data` is `[height * width]` row-major, pixel (x, y) at `data[y * width + x]`. */
export interface CamMap {
  data: Float32Array;
  width: number;
  height: number;
}

/** What a head may return for a batch of B rows: B target scores. */
export type HeadOutput = tf.Tensor | ArrayLike<number>;

/**
 * The model above the target layer: maps activations `[B, h, w, K]` (NHWC) to one target score per
 * row (`[B]`, a tensor or numbers). It may be async (e.g. a detector's post-processing). It must not
 * dispose its input; a tensor it returns is read and disposed by the caller.
 */
export type CamHead = (activations: tf.Tensor4D) => HeadOutput | Promise<HeadOutput>;

/** Options of {@link ablationCam}. */
export interface AblationCamOptions {
  /** The target layer's activations for one image, `[1, h, w, K]` (NHWC). Not disposed. */
  activations: tf.Tensor4D;
  /** The rest of the model, activations → target score per row. */
  head: CamHead;
  /** Size of the heat map returned, `[height, width]` in pixels of the image (the input to f). */
  imageSize: [number, number];
  /** Ablated copies per forward pass of the head, default 32. Results do not depend on it. */
  batchSize?: number;
  /**
   * Fraction of the K channels to ablate, in (0, 1], default 1 (all). With less, the
   * `max(1, floor(fraction · K))` channels with the largest Σ|A_k| are ablated and the others get weight 0.
   */
  channelFraction?: number;
  /** Value an ablated channel is set to, default 0 (the paper's "ablate" for post-ReLU activations). */
  ablationValue?: number;
}

/** What {@link ablationCam} computed. */
export interface AblationCamResult {
  /** The heat map at `imageSize`, in [0, 1] (all zeros when no channel had positive evidence). */
  cam: CamMap;
  /** `ReLU(Σ_k w_k A_k)` at the layer's resolution `[h, w]`, before resizing and scaling. */
  lowRes: CamMap;
  /** `[K]` ablation weights w_k (0 for channels not ablated). */
  weights: Float32Array;
  /** Target score y of the unablated activations. */
  score: number;
  /** `[K]` target score y_k with channel k ablated (y for channels not ablated). */
  ablatedScores: Float32Array;
  /** The channels that were ablated, in the order they were run. */
  ablated: Int32Array;
}

async function readScores(out: HeadOutput, rows: number, what: string): Promise<Float32Array> {
  let values: ArrayLike<number>;
  if (out instanceof tf.Tensor) {
    try {
      values = await out.data<'float32'>();
    } finally {
      out.dispose();
    }
  } else {
    values = out;
  }
  if (values.length !== rows)
    throw new Error(`ablationCam: the head returned ${values.length} scores for ${rows} rows (${what})`);
  const scores = Float32Array.from(values);
  for (let i = 0; i < rows; i++) {
    if (!Number.isFinite(scores[i]))
      throw new Error(
        `ablationCam: the head returned a non-finite score (${scores[i]}) for row ${i} (${what})`,
      );
  }
  return scores;
}

/**
 * The channels to ablate: all of them in order when `fraction` is 1, else the
 * `max(1, floor(fraction · K))` with the largest Σ_{x,y} |A_k(x, y)| (ties: lower index first).
 * @param activations `[1, h, w, K]`.
 */
export function channelsToAblate(activations: tf.Tensor4D, fraction = 1): Int32Array {
  if (!(fraction > 0 && fraction <= 1))
    throw new RangeError(`channelsToAblate: fraction must be in (0, 1], got ${fraction}`);
  const k = activations.shape[3];
  if (fraction === 1) return Int32Array.from({ length: k }, (_, i) => i);
  const sums = tf.tidy(() => tf.sum(tf.abs(activations), [0, 1, 2]));
  const magnitude = sums.dataSync();
  sums.dispose();
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => magnitude[b]! - magnitude[a]! || a - b);
  return Int32Array.from(order.slice(0, Math.max(1, Math.floor(fraction * k))));
}

/**
 * Copies of `activations` with channel `channels[i]` of row i set to `value`: `[B, h, w, K]`, B = channels.length.
 * One broadcast multiply by a `[B, 1, 1, K]` mask builds the whole batch.
 */
export function ablatedBatch(activations: tf.Tensor4D, channels: ArrayLike<number>, value = 0): tf.Tensor4D {
  const k = activations.shape[3];
  const rows = channels.length;
  const keep = new Float32Array(rows * k).fill(1);
  for (let i = 0; i < rows; i++) keep[i * k + channels[i]!] = 0;
  return tf.tidy(() => {
    const mask = tf.tensor4d(keep, [rows, 1, 1, k]);
    const kept = tf.mul(activations, mask) as tf.Tensor4D;
    return value === 0 ? kept : (tf.add(kept, tf.mul(tf.sub(1, mask), value)) as tf.Tensor4D);
  });
}

/** Bilinear resize (half-pixel centres, like OpenCV's INTER_LINEAR) and min–max scaling to [0, 1]. */
function resizeAndScale(map: tf.Tensor2D, height: number, width: number): Float32Array {
  const resized = tf.tidy(() =>
    tf.image
      .resizeBilinear(map.expandDims(-1) as tf.Tensor3D, [height, width], false, true)
      .reshape([height * width]),
  );
  const data = resized.dataSync() as Float32Array;
  resized.dispose();
  let lo = Infinity,
    hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  const out = new Float32Array(data.length);
  // A flat map (no positive evidence anywhere) stays all zeros rather than dividing by 0.
  if (range > 0) for (let i = 0; i < data.length; i++) out[i] = (data[i]! - lo) / range;
  return out;
}

/**
 * A head with several targets: activations `[B, h, w, K]` → `[B][T]` scores, one per target (e.g. one
 * per predicted box: the authors' tool explains each box on its own). One ablation sweep then gives
 * T heat maps for the price of one.
 */
export type CamMultiHead = (activations: tf.Tensor4D) => number[][] | Promise<number[][]>;

function checkRows(rows: number[][], n: number, targets: number, what: string): void {
  if (rows.length !== n)
    throw new Error(`ablationCam: the head returned ${rows.length} rows for ${n} (${what})`);
  rows.forEach((r, i) => {
    if (r.length !== targets)
      throw new Error(`ablationCam: row ${i} has ${r.length} scores for ${targets} targets (${what})`);
    r.forEach((v) => {
      if (!Number.isFinite(v))
        throw new Error(`ablationCam: the head returned a non-finite score (${v}) for row ${i} (${what})`);
    });
  });
}

/**
 * Ablation-CAM for one image at one layer, for `targets` target scores at once (see
 * {@link CamMultiHead}): the sweep over ablated channels is shared, each target gets its own weights
 * and map. Results are those of {@link ablationCam} run once per target.
 */
export async function ablationCamTargets(
  opts: Omit<AblationCamOptions, 'head'> & { head: CamMultiHead; targets: number },
): Promise<AblationCamResult[]> {
  const { activations, head, targets } = opts;
  const batchSize = opts.batchSize ?? 32;
  const value = opts.ablationValue ?? 0;
  const [height, width] = opts.imageSize;
  if (activations.rank !== 4 || activations.shape[0] !== 1)
    throw new Error(`ablationCam: activations must be [1, h, w, K], got [${activations.shape.join(', ')}]`);
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new RangeError(`ablationCam: batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0))
    throw new RangeError(
      `ablationCam: imageSize must be two positive integers, got [${opts.imageSize.join(', ')}]`,
    );
  if (!(Number.isInteger(targets) && targets >= 1))
    throw new RangeError(`ablationCam: targets must be a positive integer, got ${targets}`);
  const [, h, w, k] = activations.shape;

  const first = await head(activations);
  checkRows(first, 1, targets, 'unablated');
  const scores = first[0]!;
  const ablated = channelsToAblate(activations, opts.channelFraction ?? 1);
  const ablatedScores = scores.map((y) => new Float32Array(k).fill(y));
  for (let start = 0; start < ablated.length; start += batchSize) {
    const channels = ablated.subarray(start, Math.min(start + batchSize, ablated.length));
    const batch = ablatedBatch(activations, channels, value);
    try {
      const rows = await head(batch);
      checkRows(rows, channels.length, targets, `channels ${channels[0]}..`);
      for (let i = 0; i < channels.length; i++)
        for (let t = 0; t < targets; t++) ablatedScores[t]![channels[i]!] = rows[i]![t]!;
    } finally {
      batch.dispose();
    }
  }

  return scores.map((score, t) => {
    // float32 as the single-target path, so both give identical weights.
    const y = Math.fround(score);
    const weights = new Float32Array(k);
    if (y !== 0) for (let c = 0; c < k; c++) weights[c] = (y - ablatedScores[t]![c]!) / y;
    const low = tf.tidy(
      () =>
        tf
          .relu(tf.matMul(activations.reshape([h * w, k]), tf.tensor2d(weights, [k, 1])))
          .reshape([h, w]) as tf.Tensor2D,
    );
    // A copy: some backends hand out their own buffer, which must not outlive the tensor.
    const lowRes: CamMap = { data: Float32Array.from(low.dataSync()), width: w, height: h };
    const cam: CamMap = { data: resizeAndScale(low, height, width), width, height };
    low.dispose();
    return { cam, lowRes, weights, score: y, ablatedScores: ablatedScores[t]!, ablated };
  });
}

/**
 * Ablation-CAM for one image at one layer.
 *
 * Runs the head once on the activations (the score y), then on the ablated copies `batchSize` rows
 * at a time (the scores y_k), and combines them as in the module comment. Tensors it makes are freed;
 * the caller's `activations` are not.
 * @returns the heat map at `imageSize` and the numbers behind it.
 */
export async function ablationCam(opts: AblationCamOptions): Promise<AblationCamResult> {
  const head: CamMultiHead = async (acts) => {
    const n = acts.shape[0];
    return Array.from(await readScores(await opts.head(acts), n, n === 1 ? 'unablated' : 'ablated'), (v) => [
      v,
    ]);
  };
  return (await ablationCamTargets({ ...opts, head, targets: 1 }))[0]!;
}

/**
 * The authors' display of a per-box map (MMDetection's DetCAMVisualizer with norm-in-bbox): zero
 * outside the box, min–max scaled to [0, 1] over the pixels whose centres lie inside it.
 */
export function normaliseInBox(cam: CamMap, box: readonly number[]): CamMap {
  const out = new Float32Array(cam.data.length);
  const x0 = Math.max(0, Math.ceil(box[0]! - 0.5)),
    x1 = Math.min(cam.width - 1, Math.floor(box[2]! - 0.5));
  const y0 = Math.max(0, Math.ceil(box[1]! - 0.5)),
    y1 = Math.min(cam.height - 1, Math.floor(box[3]! - 0.5));
  let lo = Infinity,
    hi = -Infinity;
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const v = cam.data[y * cam.width + x]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (hi > lo)
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) out[y * cam.width + x] = (cam.data[y * cam.width + x]! - lo) / (hi - lo);
  return { data: out, width: cam.width, height: cam.height };
}
