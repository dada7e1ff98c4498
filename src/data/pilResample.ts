/**
 * Pillow's resampling (`Image.resize`, libImaging/Resample.c) on float pixels: what torchvision's
 * `RandomResizedCrop` does to a PIL image, so that a view can be cut as main.py cuts it (bicubic) or as
 * evaluate.py does (bilinear). Unlike `tf.image.cropAndResize` (point sampling between the corner pixels'
 * centres), Pillow maps pixel areas: output pixel `i` is centred at `(i + 0.5)·scale` input pixels, and
 * when it shrinks (`scale > 1`) the filter's support is widened by `scale`, so every input pixel
 * contributes (antialiasing). Weights are normalised per output pixel after truncation at the crop's
 * edges (torchvision crops first, so nothing outside the crop is read).
 *
 * Arithmetic as Pillow's float ('F') mode: double weights and sums, float32 after each pass (horizontal
 * first). Each pass is clipped to [0, 1] as Pillow's 8-bit path (what the authors' RGB images take) clips
 * to 0..255; our inputs are in [0, 1], so the clip only acts where the cubic overshoots at an edge.
 */

/** `bicubic`: Pillow's BICUBIC (Keys' cubic, a = −0.5, support 2); `bilinear`: its BILINEAR (triangle, support 1). */
export type PilFilter = 'bicubic' | 'bilinear';

const SUPPORT: Record<PilFilter, number> = { bicubic: 2, bilinear: 1 };

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function triangle(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** One axis's weights: for output pixel `i`, input pixels `first[i] ..< first[i] + count[i]` with weights `k[i·ksize ..]`. */
interface AxisCoefficients {
  first: Int32Array;
  count: Int32Array;
  k: Float64Array;
  ksize: number;
}

/** Resample.c's `precompute_coeffs` for the box `[0, inSize)` → `outSize`. */
function coefficients(inSize: number, outSize: number, filter: PilFilter): AxisCoefficients {
  const f = filter === 'bicubic' ? bicubic : triangle;
  const scale = inSize / outSize;
  const filterscale = Math.max(1, scale);
  const support = SUPPORT[filter] * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Float64Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // C's (int) cast truncates towards zero: the same as floor for these non-negative values, and
    // Math.trunc keeps the negative case (xmin before clamping) identical too.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = f((x + xmin - center + 0.5) * ss);
      k[i * ksize + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) k[i * ksize + x]! /= ww;
    first[i] = xmin;
    count[i] = Math.max(0, xmax);
  }
  return { first, count, k, ksize };
}

const clip01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** A crop `[top, left, height, width]` in whole pixels, as torchvision's `RandomResizedCrop.get_params` returns it. */
export type PixelCrop = [number, number, number, number];

/**
 * torchvision's `F.resized_crop(img, top, left, height, width, [size, size], filter)` on one float image,
 * then `F.hflip` when `flip` (main.py flips after the crop): `src` holds `[H, W]` row-major from
 * `srcOffset`, the `size × size` result is written into `dst` from `dstOffset`. `tmp` (optional) is
 * scratch of at least `height · size` floats.
 */
export function pilResizedCrop(
  src: Float32Array,
  srcOffset: number,
  width: number,
  [top, left, ch, cw]: PixelCrop,
  size: number,
  filter: PilFilter,
  flip: boolean,
  dst: Float32Array,
  dstOffset: number,
  tmp: Float32Array = new Float32Array(ch * size),
): void {
  const f = Math.fround;
  const h = coefficients(cw, size, filter);
  const v = coefficients(ch, size, filter);
  // Horizontal pass over every row of the crop: [ch, size].
  for (let y = 0; y < ch; y++) {
    const row = srcOffset + (top + y) * width + left;
    for (let x = 0; x < size; x++) {
      const x0 = h.first[x]!;
      const kk = x * h.ksize;
      let acc = 0;
      for (let t = 0; t < h.count[x]!; t++) acc += src[row + x0 + t]! * h.k[kk + t]!;
      tmp[y * size + x] = clip01(f(acc));
    }
  }
  // Vertical pass: [size, size]; the flip mirrors each output row.
  for (let y = 0; y < size; y++) {
    const y0 = v.first[y]!;
    const kk = y * v.ksize;
    const out = dstOffset + y * size;
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let t = 0; t < v.count[y]!; t++) acc += tmp[(y0 + t) * size + x]! * v.k[kk + t]!;
      dst[out + (flip ? size - 1 - x : x)] = clip01(f(acc));
    }
  }
}
