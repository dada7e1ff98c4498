/**
 * Decoding without the file system: bytes of a PNG or DICOM to brightness in [0, 1], and resizing.
 * Node reads files through images.ts; the web page decodes a dropped file with these same functions.
 */
import { decodeDicom, DicomError, dicomToBrightness } from './dicom.js';
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

/** True when the bytes are DICOM Part 10 ("DICM" after the 128-byte preamble) or the name says DICOM. */
export function isDicom(bytes: Uint8Array, name: string): boolean {
  return /\.(dicom|dcm)$/i.test(name) || (bytes.length > 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d);
}

/**
 * Decodes one image's bytes (`name` is only for the DICOM-by-extension test and messages): PNG 8 or
 * 16 bit; DICOM with rescale, VOI window and MONOCHROME1 inversion. Throws `ImageError` (kind
 * `unreadable-image`, `truncated-image`, `unsupported-transfer-syntax`, `bad-dicom`).
 */
export async function decodeImageBytes(bytes: Uint8Array, name: string): Promise<BrightnessImage> {
  if (isDicom(bytes, name)) {
    try {
      const img = await decodeDicom(bytes);
      return { width: img.columns, height: img.rows, data: dicomToBrightness(img) };
    } catch (e) {
      if (e instanceof DicomError) throw new ImageError(e.kind, name, e.message);
      throw new ImageError('unreadable-image', name, (e as Error).message);
    }
  }
  try {
    const png = decodePng(bytes);
    const scale = 1 / (png.bitDepth === 16 ? 65535 : 255);
    const data = new Float32Array(png.pixels.length);
    for (let i = 0; i < data.length; i++) data[i] = png.pixels[i]! * scale;
    return { width: png.width, height: png.height, data };
  } catch (e) {
    throw new ImageError('unreadable-image', name, `PNG does not decode: ${(e as Error).message}`);
  }
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
