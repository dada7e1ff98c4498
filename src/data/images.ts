/**
 * From files to model input: decode a PNG or DICOM to brightness in [0, 1], resize, scale to the
 * model's range, and stream batches as NHWC tensors so that no more than one batch of pixels is
 * ever in memory (the full NIH set is 112,120 images).
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { decodeDicom, DicomError, dicomToBrightness } from './dicom.js';
import type { IssueLog } from './issues.js';
import { decodePng } from './png.js';

/** A decoded greyscale image: brightness in [0, 1] (1 = white = dense), row-major. */
export interface BrightnessImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** Thrown when an image cannot be used; `kind` is the audit's problem category. */
export class ImageError extends Error {
  constructor(
    readonly kind: string,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/**
 * Reads and decodes one image (`.png` of any bit depth and colour type; `.dicom`/`.dcm` with
 * rescale, VOI window and MONOCHROME1 inversion). Throws `ImageError` (kind `missing-image`,
 * `unreadable-image`, `empty-image`, `not-an-image`, `truncated-image`,
 * `unsupported-transfer-syntax`, `bad-dicom`).
 */
export async function readImage(path: string): Promise<BrightnessImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ImageError((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing-image' : 'unreadable-image', path, (e as Error).message);
  }
  return decodeImageBytes(path, bytes);
}

/** Decodes the bytes of the file `path` (already read) as `readImage` does. */
export async function decodeImageBytes(path: string, bytes: Uint8Array): Promise<BrightnessImage> {
  if (bytes.length === 0) throw new ImageError('empty-image', path, 'the file is empty (0 bytes); copy it again from the source');
  if (/\.(dicom|dcm)$/i.test(path) || (bytes.length > 132 && Buffer.from(bytes.subarray(128, 132)).toString('latin1') === 'DICM')) {
    try {
      const img = await decodeDicom(bytes);
      return { width: img.columns, height: img.rows, data: dicomToBrightness(img) };
    } catch (e) {
      if (e instanceof DicomError) throw new ImageError(e.kind, path, e.message);
      throw new ImageError('unreadable-image', path, (e as Error).message);
    }
  }
  let png;
  try {
    png = decodePng(bytes);
  } catch (e) {
    const m = (e as Error).message;
    const kind = /^truncated/.test(m) ? 'truncated-image' : /^not a PNG/.test(m) ? 'not-an-image' : 'unreadable-image';
    throw new ImageError(kind, path, `PNG does not decode: ${m}`);
  }
  const scale = 1 / (png.bitDepth === 16 ? 65535 : 255);
  const data = new Float32Array(png.pixels.length);
  for (let i = 0; i < data.length; i++) data[i] = png.pixels[i]! * scale;
  return { width: png.width, height: png.height, data };
}

/**
 * Resizes to `width`×`height`: averages integer blocks first when shrinking by 2× or more (so
 * thin structures are not aliased away), then bilinear with half-pixel centres.
 */
export function resizeImage(img: BrightnessImage, width: number, height: number): BrightnessImage {
  let src = img;
  const fx = Math.floor(src.width / width);
  const fy = Math.floor(src.height / height);
  if (fx >= 2 || fy >= 2) src = blockAverage(src, Math.max(1, fx), Math.max(1, fy));
  if (src.width === width && src.height === height) return src;
  const out = new Float32Array(width * height);
  const sx = src.width / width;
  const sy = src.height / height;
  const W = src.width;
  for (let y = 0; y < height; y++) {
    const gy = Math.min(src.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(src.height - 1, y0 + 1);
    const wy = gy - y0;
    for (let x = 0; x < width; x++) {
      const gx = Math.min(W - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(W - 1, x0 + 1);
      const wx = gx - x0;
      const a = src.data[y0 * W + x0]! + (src.data[y0 * W + x1]! - src.data[y0 * W + x0]!) * wx;
      const b = src.data[y1 * W + x0]! + (src.data[y1 * W + x1]! - src.data[y1 * W + x0]!) * wx;
      out[y * width + x] = a + (b - a) * wy;
    }
  }
  return { width, height, data: out };
}

function blockAverage(img: BrightnessImage, fx: number, fy: number): BrightnessImage {
  const w = Math.floor(img.width / fx);
  const h = Math.floor(img.height / fy);
  const out = new Float32Array(w * h);
  const norm = 1 / (fx * fy);
  for (let y = 0; y < h * fy; y++) {
    const orow = Math.floor(y / fy) * w;
    const irow = y * img.width;
    for (let x = 0; x < w * fx; x++) out[orow + Math.floor(x / fx)]! += img.data[irow + x]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! *= norm;
  return { width: w, height: h, data: out };
}

export interface ImageLoadOptions {
  /** Output side (square) or [height, width], pixels. */
  size: number | [number, number];
  /** Model input range that brightness 0 … 1 maps to; default [0, 1]. */
  range?: [number, number];
}

function target(size: number | [number, number]): [number, number] {
  return typeof size === 'number' ? [size, size] : size;
}

/** Decoded, resized and scaled pixels, ready for a tensor: Float32Array of h×w. */
export async function loadImagePixels(path: string, opts: ImageLoadOptions): Promise<Float32Array> {
  const [h, w] = target(opts.size);
  const [lo, hi] = opts.range ?? [0, 1];
  const img = resizeImage(await readImage(path), w, h);
  if (lo === 0 && hi === 1) return img.data;
  for (let i = 0; i < img.data.length; i++) img.data[i] = lo + (hi - lo) * img.data[i]!;
  return img.data;
}

/** One image as a tensor [H, W, 1] (float32, in `opts.range`). The caller disposes it. */
export async function loadImageTensor(path: string, opts: ImageLoadOptions): Promise<tf.Tensor3D> {
  const [h, w] = target(opts.size);
  return tf.tensor3d(await loadImagePixels(path, opts), [h, w, 1], 'float32');
}

/** A batch from `imageBatches`. */
export interface ImageBatch {
  /** NHWC [N, H, W, 1] float32; the consumer disposes it. */
  images: tf.Tensor4D;
  /** Paths of the N images in the tensor, in order. */
  paths: string[];
  /** Positions (in the input list) of those N images, for matching labels. */
  indices: number[];
}

/**
 * Streams `paths` as batches of at most `batchSize` images; only one batch of pixels is decoded at a
 * time. Images that cannot be read are skipped and reported to `log` (file, kind, reason) — never
 * dropped silently; a batch whose images all failed is not yielded.
 */
export async function* imageBatches(paths: readonly string[], opts: ImageLoadOptions & { batchSize: number; log?: IssueLog }): AsyncGenerator<ImageBatch> {
  const [h, w] = target(opts.size);
  if (!(opts.batchSize > 0)) throw new Error(`imageBatches: batchSize must be positive, got ${opts.batchSize}`);
  for (let start = 0; start < paths.length; start += opts.batchSize) {
    const buf = new Float32Array(Math.min(opts.batchSize, paths.length - start) * h * w);
    const ok: string[] = [];
    const indices: number[] = [];
    for (let i = start; i < Math.min(paths.length, start + opts.batchSize); i++) {
      try {
        buf.set(await loadImagePixels(paths[i]!, opts), ok.length * h * w);
        ok.push(paths[i]!);
        indices.push(i);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        if (opts.log) opts.log.add(e.path, null, e.kind, e.message);
        else throw e;
      }
    }
    if (ok.length === 0) continue;
    yield { images: tf.tensor4d(buf.subarray(0, ok.length * h * w), [ok.length, h, w, 1], 'float32'), paths: ok, indices };
  }
}
