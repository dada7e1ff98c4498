/**
 * The two Barlow Twins views (facebookresearch/barlowtwins main.py `Transform`) as batched tensor ops
 * on greyscale radiographs `[N, H, W, 1]` in [0, 1]. Every random parameter is drawn in JavaScript from
 * the `Rng` passed in and applied with tensor ops, so a view is a pure function of (images, seed).
 *
 * main.py's pipeline and what the CXR adaptation keeps:
 * - RandomResizedCrop(scale 0.08–1, ratio 3/4–4/3): kept (torchvision's sampling, 10 tries then a
 *   centre crop). Resampled as `interpolation` says: `pil-bicubic` is main.py's (`Image.BICUBIC`, Pillow's
 *   area-mapped cubic with antialiasing when shrinking, `data/pilResample.ts`); `bilinear` is
 *   `tf.image.cropAndResize`'s point-sampled bilinear (no antialiasing), the default.
 * - RandomHorizontalFlip(0.5): kept; with `bilinear` folded into the crop box (x1 > x2 mirrors the
 *   crop), with Pillow's filters a mirror of the resized crop, as main.py applies it after the crop.
 * - ColorJitter(brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1) with p 0.8: brightness and
 *   contrast kept, in a random order per image as torchvision does. Saturation and hue are dropped, not
 *   replaced: on a grey image (R = G = B) saturation blends the image with its own greyscale and a hue
 *   rotation leaves grey pixels where they are, so both are exactly the identity. RandomGrayscale(0.2)
 *   is the identity for the same reason.
 * - GaussianBlur (p 1.0 view 1, 0.1 view 2; σ uniform in [0.1, 2] px at 224 px): kept, σ scaled by
 *   outSize/224 so the blur covers the same fraction of the image at smaller inputs.
 * - Solarization (p 0.0 view 1, 0.2 view 2): kept (pixels ≥ 0.5 inverted, PIL's threshold 128).
 * - Normalize(ImageNet mean/std): not applied; views stay in [0, 1]. Every model here takes raw [0, 1]
 *   pixels: imported ImageNet weights get that normalisation folded into conv1/bn1 (models/weights.ts),
 *   and for a model trained here (the proxy, Barlow Twins from scratch) a grey image's affine
 *   normalisation x·a + b only rescales conv1's input, which bn1's batch statistics absorb (up to the
 *   padded border and conv1's effective step size).
 */
import * as tf from '@tensorflow/tfjs';
import { loadNative, type NativeAddon } from '../backend/native.js';
import type { Rng } from '../rng.js';
import { pilResizedCrop, type PilFilter, type PixelCrop } from './pilResample.js';

/**
 * How a random crop is resampled to the view's size: `bilinear`, tfjs's `cropAndResize` (point samples
 * between the corner pixels' centres, no antialiasing); `pil-bicubic` and `pil-bilinear`, Pillow's
 * filters as torchvision applies them to a PIL image (main.py's crops are bicubic, evaluate.py's bilinear).
 */
export type Interpolation = 'bilinear' | `pil-${PilFilter}`;

export interface ViewOptions {
  scale?: [number, number];
  ratio?: [number, number];
  flipP?: number;
  jitterP?: number;
  brightness?: number;
  contrast?: number;
  blurP: number;
  solarizeP: number;
  /** σ range in pixels at 224 px input. */
  sigma?: [number, number];
  /** How the crop is resampled; default `bilinear`. */
  interpolation?: Interpolation;
}

/** main.py's first view: always blurred, never solarised. */
export const VIEW_1: ViewOptions = { blurP: 1.0, solarizeP: 0.0 };
/** main.py's second view: blurred 10% of the time, solarised 20%. */
export const VIEW_2: ViewOptions = { blurP: 0.1, solarizeP: 0.2 };

/** torchvision RandomResizedCrop.get_params: [top, left, height, width] in pixels. */
export function sampleCrop(h: number, w: number, rng: Rng, scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3]): [number, number, number, number] {
  const area = h * w;
  const [lr0, lr1] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let t = 0; t < 10; t++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const ar = Math.exp(rng.uniform(lr0, lr1));
    const cw = Math.round(Math.sqrt(target * ar));
    const ch = Math.round(Math.sqrt(target / ar));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) return [rng.int(h - ch + 1), rng.int(w - cw + 1), ch, cw];
  }
  // Fallback: centre crop at the nearest allowed ratio.
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < ratio[0]) ch = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) cw = Math.round(h * ratio[1]);
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/** A pixel crop as `tf.image.cropAndResize`'s normalised box `[y1, x1, y2, x2]`, mirrored (x1 > x2) when `flip`. */
function cropBox([top, left, ch, cw]: PixelCrop, h: number, w: number, flip: boolean): number[] {
  const y1 = top / Math.max(1, h - 1);
  const y2 = (top + ch - 1) / Math.max(1, h - 1);
  const x1 = left / Math.max(1, w - 1);
  const x2 = (left + cw - 1) / Math.max(1, w - 1);
  return flip ? [y1, x2, y2, x1] : [y1, x1, y2, x2];
}

/**
 * The crops of `params` resampled by Pillow's filter (`params.interpolation` must be `pil-…`):
 * `[N, outSize, outSize]` row-major, from `data` `[N, H, W]`.
 */
function pilCrops(data: Float32Array, [n, h, w]: [number, number, number], params: Pick<ViewParams, 'outSize' | 'crops' | 'flips' | 'interpolation'>): Float32Array {
  const s = params.outSize;
  const filter = params.interpolation.slice(4) as PilFilter;
  const out = new Float32Array(n * s * s);
  for (let i = 0; i < n; i++) pilResizedCrop(data, i * h * w, w, params.crops[i]!, s, filter, params.flips[i] === 1, out, i * s * s);
  return out;
}

function gaussianKernel(sigma: number, radius: number): number[] {
  const k = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / s);
}

/** Every random parameter of one view of a batch, drawn in a fixed order per image (`sampleViewParams`). */
export interface ViewParams {
  /** Side of the output view. */
  outSize: number;
  /** Per image `[y1, x1, y2, x2]`, normalised as `tf.image.cropAndResize` takes them (x1 > x2 mirrors). */
  boxes: number[][];
  /** The same crops in whole pixels `[top, left, height, width]`, and 1 where the view is mirrored. */
  crops: PixelCrop[];
  flips: number[];
  interpolation: Interpolation;
  /** Brightness and contrast factors (1 where the jitter was not applied). */
  bright: number[];
  contr: number[];
  /** 1 where contrast is applied before brightness. */
  contrastFirst: number[];
  /** Blur σ in output pixels (0: no blur). */
  sigmas: number[];
  /** 1 where the view is solarised. */
  solar: number[];
}

/** Draws the parameters of one view for `n` images of `h × w`: a fixed number of values per image from `rng`, in a fixed order. */
export function sampleViewParams(n: number, h: number, w: number, outSize: number, rng: Rng, opts: ViewOptions): ViewParams {
  const o = { scale: [0.08, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number], flipP: 0.5, jitterP: 0.8,
    brightness: 0.4, contrast: 0.4, sigma: [0.1, 2.0] as [number, number], ...opts };
  const p: ViewParams = {
    outSize, boxes: [], crops: [], flips: [], interpolation: o.interpolation ?? 'bilinear',
    bright: [], contr: [], contrastFirst: [], sigmas: [], solar: [],
  };
  for (let i = 0; i < n; i++) {
    const crop = sampleCrop(h, w, rng, o.scale, o.ratio);
    const flip = rng.next() < o.flipP;
    p.crops.push(crop);
    p.flips.push(flip ? 1 : 0);
    p.boxes.push(cropBox(crop, h, w, flip));
    const jitter = rng.next() < o.jitterP;
    const b = rng.uniform(1 - o.brightness, 1 + o.brightness);
    const k = rng.uniform(1 - o.contrast, 1 + o.contrast);
    const order = rng.next();
    p.bright.push(jitter ? b : 1);
    p.contr.push(jitter ? k : 1);
    p.contrastFirst.push(order < 0.5 ? 1 : 0);
    const blur = rng.next() < o.blurP;
    const s = rng.uniform(o.sigma[0], o.sigma[1]) * (outSize / 224);
    p.sigmas.push(blur ? s : 0);
    p.solar.push(rng.next() < o.solarizeP ? 1 : 0);
  }
  return p;
}

/**
 * One augmented view. images: `[N, H, W, 1]` float32 in [0, 1]; returns `[N, outSize, outSize, 1]` in
 * [0, 1] (caller owns it). Draws a fixed number of values per image from `rng` in a fixed order.
 * Rendered by `renderView` (one pass per image: the native addon's kernel where it is built, else JavaScript, the
 * same bits); `renderViewTf` is the same view as tensor ops.
 */
export function barlowTwinsView(images: tf.Tensor4D, outSize: number, rng: Rng, opts: ViewOptions): tf.Tensor4D {
  const [n, h, w, c] = images.shape;
  if (c !== 1) throw new Error(`barlowTwinsView: expects [N,H,W,1] greyscale, got [${images.shape}]`);
  const params = sampleViewParams(n, h, w, outSize, rng, opts);
  return tf.tensor4d(renderView(images.dataSync() as Float32Array, [n, h, w], params), [n, outSize, outSize, 1]);
}

/**
 * The view of `params` as tfjs ops (crop-and-resize, jitter, depthwise blur, solarisation): the
 * reference that `renderView` is tested against. images: `[N, H, W, 1]`.
 */
export function renderViewTf(images: tf.Tensor4D, params: ViewParams): tf.Tensor4D {
  const n = images.shape[0];
  const { outSize, boxes, bright, contr, contrastFirst, sigmas, solar } = params;
  return tf.tidy((): tf.Tensor4D => {
    let x: tf.Tensor4D =
      params.interpolation === 'bilinear'
        ? tf.image.cropAndResize(images, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [outSize, outSize], 'bilinear')
        : tf.tensor4d(pilCrops(images.dataSync() as Float32Array, [n, images.shape[1], images.shape[2]], params), [n, outSize, outSize, 1]);
    const col = (v: number[]): tf.Tensor4D => tf.tensor4d(v, [n, 1, 1, 1]);
    const bT = col(bright);
    const cT = col(contr);
    const brightness = (t: tf.Tensor4D): tf.Tensor4D => tf.clipByValue(tf.mul(t, bT), 0, 1) as tf.Tensor4D;
    // torchvision adjust_contrast: blend with the image's mean grey level.
    const contrast = (t: tf.Tensor4D): tf.Tensor4D =>
      tf.clipByValue(tf.add(tf.mul(t, cT), tf.mul(tf.mean(t, [1, 2, 3], true), tf.sub(1, cT))), 0, 1) as tf.Tensor4D;
    const bc = contrast(brightness(x));
    const cb = brightness(contrast(x));
    x = tf.where(tf.cast(tf.broadcastTo(col(contrastFirst), x.shape), 'bool'), cb, bc) as tf.Tensor4D;
    if (sigmas.some((s) => s > 0)) x = blurPerSample(x, sigmas);
    const solMask = tf.logicalAnd(tf.cast(tf.broadcastTo(col(solar), x.shape), 'bool'), tf.greaterEqual(x, 0.5));
    return tf.where(solMask, tf.sub(1, x), x) as tf.Tensor4D;
  });
}

/** Blur radius of a batch (one radius for all, as the depthwise convolution of `renderViewTf` has) and each image's taps (float32). */
function blurTaps(sigmas: number[]): { radius: number; kernels: Float32Array[] } {
  const radius = Math.max(1, Math.ceil(3 * Math.max(...sigmas)));
  const taps = 2 * radius + 1;
  const kernels = sigmas.map((s) => Float32Array.from(s > 0 ? gaussianKernel(s, radius) : Array.from({ length: taps }, (_, i) => (i === radius ? 1 : 0))));
  return { radius, kernels };
}

// Separable Gaussian with one kernel per image: the batch is moved to the channel axis so that a
// depthwise convolution applies each image's own kernel. σ = 0 means a delta (no blur).
function blurPerSample(x: tf.Tensor4D, sigmas: number[]): tf.Tensor4D {
  const n = sigmas.length;
  const { radius, kernels } = blurTaps(sigmas);
  const taps = 2 * radius + 1;
  // filter [taps, 1, n, 1] (vertical) and [1, taps, n, 1] (horizontal); value at tap t, channel i.
  const flat = new Float32Array(taps * n);
  for (let t = 0; t < taps; t++) for (let i = 0; i < n; i++) flat[t * n + i] = kernels[i]![t]!;
  const [, h, w] = x.shape;
  const r = Math.min(radius, h - 1, w - 1);
  const cut = radius - r; // kernels wider than the image lose their outer taps (tiny images only)
  const cropK = (shape: [number, number, number, number]): tf.Tensor4D =>
    tf.slice(tf.tensor4d(flat, shape), shape[0] > 1 ? [cut, 0, 0, 0] : [0, cut, 0, 0], shape[0] > 1 ? [taps - 2 * cut, 1, n, 1] : [1, taps - 2 * cut, n, 1]);
  let t = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [1, H, W, N]
  // Reflect padding as PIL's blur does at the border rather than darkening it with zeros.
  t = tf.mirrorPad(t, [[0, 0], [r, r], [r, r], [0, 0]], 'reflect');
  t = tf.depthwiseConv2d(t, cropK([taps, 1, n, 1]), 1, 'valid');
  t = tf.depthwiseConv2d(t, cropK([1, taps, n, 1]), 1, 'valid');
  return tf.transpose(t, [3, 1, 2, 0]) as tf.Tensor4D;
}

/** tfjs's CropAndResize (bilinear, extrapolation value 0) of one image at `img` in `data`, in double rounded to float32, into `a`. */
function cropAndResize(data: Float32Array, img: number, h: number, w: number, box: number[], s: number, a: Float32Array): void {
  const [y1, x1, y2, x2] = box.map(Math.fround) as [number, number, number, number];
  const hs = s > 1 ? ((y2 - y1) * (h - 1)) / (s - 1) : 0;
  const ws = s > 1 ? ((x2 - x1) * (w - 1)) / (s - 1) : 0;
  for (let y = 0; y < s; y++) {
    const yi = s > 1 ? y1 * (h - 1) + y * hs : 0.5 * (y1 + y2) * (h - 1);
    if (yi < 0 || yi > h - 1) { a.fill(0, y * s, (y + 1) * s); continue; }
    const t = Math.floor(yi);
    const bo = Math.ceil(yi);
    const yl = yi - t;
    for (let x = 0; x < s; x++) {
      const xi = s > 1 ? x1 * (w - 1) + x * ws : 0.5 * (x1 + x2) * (w - 1);
      if (xi < 0 || xi > w - 1) { a[y * s + x] = 0; continue; }
      const l = Math.floor(xi);
      const r = Math.ceil(xi);
      const xl = xi - l;
      const tl = data[img + t * w + l]!;
      const tr = data[img + t * w + r]!;
      const bl = data[img + bo * w + l]!;
      const br = data[img + bo * w + r]!;
      const top = tl + (tr - tl) * xl;
      const bottom = bl + (br - bl) * xl;
      a[y * s + x] = top + (bottom - top) * yl;
    }
  }
}

const FILTER_CODE: Record<Interpolation, number> = { bilinear: 0, 'pil-bicubic': 1, 'pil-bilinear': 2 };

/**
 * `renderView` by the native addon (native/src/augment.cc): the same arithmetic in the same order at the
 * same precision, so the same bits (test/data/renderViewNative.test.ts), on every core and ~10× faster.
 * The blur's taps (the only values that need `Math.exp`) are computed here and passed in.
 */
function renderViewNative(addon: NativeAddon, data: Float32Array, [n, h, w]: [number, number, number], params: ViewParams): Float32Array {
  const { outSize: s, crops, flips, boxes, bright, contr, contrastFirst, sigmas, solar } = params;
  if (data.length < n * h * w) throw new Error(`renderView: ${data.length} pixels for ${n} images of ${h}×${w}`);
  const ints = new Int32Array(n * 8);
  const reals = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) {
    ints.set([...crops[i]!, flips[i]!, contrastFirst[i]!, sigmas[i]! > 0 ? 1 : 0, solar[i]!], i * 8);
    reals.set([...boxes[i]!, bright[i]!, contr[i]!], i * 6);
  }
  const blur = sigmas.some((v) => v > 0) ? blurTaps(sigmas) : null;
  const kernels = blur ? new Float32Array(n * (2 * blur.radius + 1)) : null;
  if (blur) blur.kernels.forEach((k, i) => kernels!.set(k, i * k.length));
  const out = new Float32Array(n * s * s);
  const geom = Int32Array.from([n, h, w, s, FILTER_CODE[params.interpolation], blur?.radius ?? 0]);
  addon.renderViews(data, out, geom, ints, reals, kernels);
  return out;
}

/**
 * `renderViewTf`'s arithmetic, image by image, on plain arrays: the crop (bilinear as tfjs's
 * CropAndResize computes it, double rounded to float32, or Pillow's filter), jitter with every tensor op's float32
 * rounding, the separable blur over reflect-padded rows and columns (double sums, float32 between the
 * passes), solarisation. About 100× less work than the tensor ops (no padded copies, no masks, no
 * transposes) and the same numbers up to the order of the mean's sum. data: `[N, H, W]` row-major.
 * Where the native addon is loaded (and `native` is not false) its kernel computes the same bits on every core.
 */
export function renderView(data: Float32Array, [n, h, w]: [number, number, number], params: ViewParams, native = true): Float32Array {
  const addon = native ? loadNative().addon : null;
  if (addon) return renderViewNative(addon, data, [n, h, w], params);
  const { outSize: s, boxes, bright, contr, contrastFirst, sigmas, solar } = params;
  const f = Math.fround;
  const out = new Float32Array(n * s * s);
  const a = new Float32Array(s * s);
  const b = new Float32Array(s * s);
  const blur = sigmas.some((v) => v > 0) ? blurTaps(sigmas) : null;
  const pil = params.interpolation === 'bilinear' ? null : (params.interpolation.slice(4) as PilFilter);
  const tmp = pil ? new Float32Array(h * s) : null;
  for (let i = 0; i < n; i++) {
    const img = i * h * w;
    if (pil) pilResizedCrop(data, img, w, params.crops[i]!, s, pil, params.flips[i] === 1, a, 0, tmp!);
    else cropAndResize(data, img, h, w, boxes[i]!, s, a);
    // brightness and contrast, in this image's order, each op rounded to float32 as tensor ops are
    const bf = f(bright[i]!);
    const cf = f(contr[i]!);
    const omc = f(1 - cf);
    const clip = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
    const meanOf = (src: Float32Array): number => {
      let sum = 0;
      for (let k = 0; k < s * s; k++) sum += src[k]!;
      return f(sum / (s * s));
    };
    const brighten = (src: Float32Array, dst: Float32Array): void => {
      for (let k = 0; k < s * s; k++) dst[k] = clip(f(src[k]! * bf));
    };
    const contrast = (src: Float32Array, dst: Float32Array): void => {
      const m = f(meanOf(src) * omc);
      for (let k = 0; k < s * s; k++) dst[k] = clip(f(f(src[k]! * cf) + m));
    };
    if (contrastFirst[i]) { contrast(a, b); brighten(b, a); } else { brighten(a, b); contrast(b, a); }
    // separable Gaussian blur, rows then columns, reflect padding
    if (blur && sigmas[i]! > 0) {
      const r = Math.min(blur.radius, s - 1);
      const cut = blur.radius - r;
      const k = blur.kernels[i]!;
      const refl = (v: number): number => (v < 0 ? -v : v >= s ? 2 * (s - 1) - v : v);
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          let acc = 0;
          for (let t = 0; t <= 2 * r; t++) acc += a[refl(y + t - r) * s + x]! * k[cut + t]!;
          b[y * s + x] = acc;
        }
      }
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          let acc = 0;
          for (let t = 0; t <= 2 * r; t++) acc += b[y * s + refl(x + t - r)]! * k[cut + t]!;
          a[y * s + x] = acc;
        }
      }
    }
    const o = i * s * s;
    if (solar[i]) for (let k = 0; k < s * s; k++) out[o + k] = a[k]! >= 0.5 ? f(1 - a[k]!) : a[k]!;
    else out.set(a, o);
  }
  return out;
}

/**
 * How strong both views are and how their crops are resampled: main.py's crop scale (0.08–1) and
 * brightness/contrast jitter (0.4) unless a profile says otherwise (config `pretrain.cropScale`,
 * `pretrain.jitter`, `pretrain.interpolation`).
 */
export interface ViewStrength {
  scale?: [number, number];
  jitter?: number;
  interpolation?: Interpolation;
}

/** Both views of main.py for a batch: `[view1, view2]`, each `[N, outSize, outSize, 1]`. */
export function barlowTwinsViews(images: tf.Tensor4D, outSize: number, rng: Rng, strength: ViewStrength = {}): [tf.Tensor4D, tf.Tensor4D] {
  const s: Partial<ViewOptions> = {};
  if (strength.scale) s.scale = strength.scale;
  if (strength.jitter !== undefined) {
    s.brightness = strength.jitter;
    s.contrast = strength.jitter;
  }
  if (strength.interpolation) s.interpolation = strength.interpolation;
  return [barlowTwinsView(images, outSize, rng, { ...VIEW_1, ...s }), barlowTwinsView(images, outSize, rng, { ...VIEW_2, ...s })];
}

/**
 * torchvision's `RandomResizedCrop(outSize)` + `RandomHorizontalFlip()` per image (the authors'
 * evaluate.py training transform, both modes): images `[N, H, W, 1]` in [0, 1] → `[N, outSize, outSize, 1]`
 * (caller owns it), resampled as `interpolation` says (evaluate.py: `pil-bilinear`, torchvision's default
 * on a PIL image). Draws the crop then one flip coin per image from `rng`, in order.
 */
export function randomResizedCropFlip(
  images: tf.Tensor4D,
  outSize: number,
  rng: Rng,
  scale: [number, number] = [0.08, 1],
  interpolation: Interpolation = 'bilinear',
): tf.Tensor4D {
  const [n, h, w] = images.shape;
  const crops: PixelCrop[] = [];
  const flips: number[] = [];
  for (let i = 0; i < n; i++) {
    crops.push(sampleCrop(h, w, rng, scale));
    flips.push(rng.next() < 0.5 ? 1 : 0);
  }
  if (interpolation !== 'bilinear')
    return tf.tensor4d(pilCrops(images.dataSync() as Float32Array, [n, h, w], { outSize, crops, flips, interpolation }), [n, outSize, outSize, 1]);
  const boxes = crops.map((c, i) => cropBox(c, h, w, flips[i] === 1));
  return tf.tidy(() => tf.image.cropAndResize(images, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [outSize, outSize], 'bilinear'));
}
