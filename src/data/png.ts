/**
 * 8- and 16-bit greyscale PNG encoding and decoding (pngjs, pure JavaScript). Browser-safe: 'buffer'
 * is Node's own here and the npm polyfill in the web bundle, which also swaps in pngjs's browser build.
 */
import { Buffer } from 'buffer';
import pngjs from 'pngjs';

const { PNG } = pngjs;

/** A greyscale image: row-major pixel values. */
export interface GrayImage {
  width: number;
  height: number;
  /** Pixel values, `width*height`, row-major; Uint8Array for 8-bit, Uint16Array for 16-bit. */
  pixels: Uint8Array | Uint16Array;
  bitDepth: 8 | 16;
}

/** Encodes a greyscale image as PNG bytes (deterministic: fixed zlib level, no timestamps). */
export function encodeGrayPng(img: GrayImage): Buffer {
  const { width, height, pixels, bitDepth } = img;
  if (pixels.length !== width * height) throw new Error(`encodeGrayPng: ${pixels.length} pixels for ${width}x${height}`);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth, inputHasAlpha: false });
  if (bitDepth === 16) {
    // pngjs takes 16-bit input as one uint16 per channel in a Uint16Array-backed buffer.
    png.data = Buffer.from(new Uint16Array(pixels).buffer) as unknown as Buffer;
  } else {
    png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  }
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth, inputHasAlpha: false, deflateLevel: 6 });
}

/**
 * Decodes a PNG (any colour type pngjs reads) to greyscale: colour images are reduced with
 * Rec. 601 luma, alpha ignored. Throws on a truncated or corrupt file.
 */
export function decodePng(bytes: Uint8Array): GrayImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  const { width, height } = png;
  const depth = (png as unknown as { depth?: number }).depth === 16 ? 16 : 8;
  const n = width * height;
  if (depth === 16) {
    const src = new Uint16Array(png.data.buffer, png.data.byteOffset, png.data.byteLength / 2);
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.round(0.299 * src[4 * i]! + 0.587 * src[4 * i + 1]! + 0.114 * src[4 * i + 2]!);
    return { width, height, pixels: out, bitDepth: 16 };
  }
  const out = new Uint8Array(n);
  const d = png.data;
  for (let i = 0; i < n; i++) out[i] = Math.round(0.299 * d[4 * i]! + 0.587 * d[4 * i + 1]! + 0.114 * d[4 * i + 2]!);
  return { width, height, pixels: out, bitDepth: 8 };
}
