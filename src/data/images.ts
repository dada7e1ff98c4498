/**
 * From files to model input: decode a PNG or DICOM to brightness in [0, 1], resize, scale to the
 * model's range, and stream batches as NHWC tensors so that no more than one batch of pixels is
 * ever in memory (the full NIH set is 112,120 images).
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import type { IssueLog } from './issues.js';
import { decodeImageBytes, ImageError, resizeImage, type BrightnessImage } from './imageDecode.js';

export { decodeImageBytes, ImageError, isDicom, resizeImage, type BrightnessImage } from './imageDecode.js';

/**
 * Reads and decodes one image (`.png`, 8 or 16 bit; `.dicom`/`.dcm` with rescale, VOI window and
 * MONOCHROME1 inversion). Throws `ImageError` (kind `missing-image`, `unreadable-image`,
 * `truncated-image`, `unsupported-transfer-syntax`, `bad-dicom`).
 */
export async function readImage(path: string): Promise<BrightnessImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ImageError((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing-image' : 'unreadable-image', path, (e as Error).message);
  }
  return decodeImageBytes(bytes, path);
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
