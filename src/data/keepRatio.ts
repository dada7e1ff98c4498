/**
 * The detectors' input geometry, browser-safe (no file system): MMDetection's keep-ratio resize to fit
 * `size`×`size` and the top-left placement on a zero canvas. Training and scoring (`train/detectionRun.ts`,
 * through the image cache) and the web page (`web/detect.ts`) both place images with these two functions,
 * so a detector sees in the browser what it was trained on.
 */
import { resizeImage, type BrightnessImage } from './imageDecode.js';

/**
 * MMDetection's keep-ratio rescale to fit `size`×`size`: scale factor `size / max(w, h)`, new sides
 * rounded (`int(x * s + 0.5)`), and the per-axis factors that map boxes (`w_scale`, `h_scale`).
 */
export function keepRatioSize(
  width: number,
  height: number,
  size: number,
): { width: number; height: number; wScale: number; hScale: number } {
  if (!(width > 0 && height > 0 && size > 0))
    throw new Error(`keepRatioSize: need positive sizes, got ${width}×${height} -> ${size}`);
  const s = Math.min(size / Math.max(width, height), size / Math.min(width, height));
  const w = Math.max(1, Math.floor(width * s + 0.5));
  const h = Math.max(1, Math.floor(height * s + 0.5));
  return { width: w, height: h, wScale: w / width, hScale: h / height };
}

/** An image placed as the detector's input. */
export interface KeepRatioInput {
  /** `size * size` brightness values: the resized image at the top left, zeros right of and below it. */
  pixels: Float32Array;
  size: number;
  /** `[source width, source height, resized width, resized height]` (the image cache's meta). */
  meta: [number, number, number, number];
}

/**
 * One image as the detector's input: resized keeping its aspect ratio so that it fits `size`×`size`
 * ({@link keepRatioSize}, with `resizeImage`'s filter), at the top left of a zero canvas.
 */
export function keepRatioInput(src: BrightnessImage, size: number): KeepRatioInput {
  const k = keepRatioSize(src.width, src.height, size);
  const img = resizeImage(src, k.width, k.height);
  const pixels = new Float32Array(size * size);
  for (let y = 0; y < k.height; y++) pixels.set(img.data.subarray(y * k.width, (y + 1) * k.width), y * size);
  return { pixels, size, meta: [src.width, src.height, k.width, k.height] };
}
