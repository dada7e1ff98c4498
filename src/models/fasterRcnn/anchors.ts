/**
 * Anchor (prior box) generation for an FPN: a few cell anchors per level, repeated at every cell.
 *
 * Two conventions (see `test/fixtures/reference/det_components.json`, notes (a)):
 * - `mmdet` (MMDetection v3 `AnchorGenerator`, the paper's `faster_rcnn_r50_fpn`): base size =
 *   nominal stride, widths `stride * scale / sqrt(r)`, corners NOT rounded, strides nominal.
 * - `torchvision` (`AnchorGenerator(sizes, aspect_ratios)`): widths `size / sqrt(r)` then corners
 *   rounded half-to-even; strides inferred per level as `imageSize // featureSize`.
 * Both centre anchors on the top-left corner of each cell (offset 0) and order them level, row y,
 * column x, then ratio. `r` is height / width.
 */

/** Which library's anchor formulas to follow. */
export type AnchorConvention = 'mmdet' | 'torchvision';

/** Options of {@link cellAnchors} and {@link gridAnchors}. */
export interface AnchorOptions {
  convention: AnchorConvention;
  /** Nominal strides per level (mmdet), e.g. `[4, 8, 16, 32, 64]`; with `torchvision` only used
   * when `imageSizeHw` is not given to {@link gridAnchors}. */
  strides: number[];
  /** Octave scales (mmdet `scales`, anchor side = stride * scale), default `[8]`. */
  scales: number[];
  /** Aspect ratios h / w, default `[0.5, 1, 2]`. */
  ratios: number[];
  /** torchvision `sizes` per level (pixels); default `stride * scale` for each level. */
  sizes?: number[][];
}

/** MMDetection faster_rcnn_r50_fpn's RPN anchors. */
export const MMDET_ANCHORS: AnchorOptions = {
  convention: 'mmdet',
  strides: [4, 8, 16, 32, 64],
  scales: [8],
  ratios: [0.5, 1, 2],
};

const f32 = Math.fround;

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The anchors of one cell of `level`, centred on (0, 0), float32 values as the peers compute them.
 * @returns `[A][4]` boxes `[x1, y1, x2, y2]` in pixels, ordered by ratio then scale.
 */
export function cellAnchors(level: number, opts: AnchorOptions): number[][] {
  const out: number[][] = [];
  for (const r of opts.ratios) {
    const hRatio = f32(Math.sqrt(f32(r)));
    const wRatio = f32(1 / hRatio);
    if (opts.convention === 'mmdet') {
      const base = opts.strides[level]!;
      for (const s of opts.scales) {
        const w = f32(f32(base * wRatio) * s);
        const h = f32(f32(base * hRatio) * s);
        out.push([f32(-0.5 * w), f32(-0.5 * h), f32(0.5 * w), f32(0.5 * h)]);
      }
    } else {
      const sizes = opts.sizes?.[level] ?? opts.scales.map((s) => opts.strides[level]! * s);
      for (const size of sizes) {
        const w = f32(wRatio * size);
        const h = f32(hRatio * size);
        out.push([-w, -h, w, h].map((v) => roundHalfEven(f32(v / 2))));
      }
    }
  }
  return out;
}

/** Anchors of every level, flat, plus the strides actually used. */
export interface LevelAnchors {
  /** Per level: `Float32Array` of `featH * featW * A * 4` values, boxes `[x1, y1, x2, y2]`. */
  anchors: Float32Array[];
  /** Per level `[strideH, strideW]` in pixels. */
  stridesHw: [number, number][];
  /** Anchors per cell (A). */
  perCell: number;
}

/**
 * All anchors of all levels, in the order the RPN's NHWC outputs come out: level, row, column, cell
 * anchor.
 * @param featureSizesHw per level `[featH, featW]`.
 * @param imageSizeHw the (padded) input size; torchvision infers strides from it.
 */
export function gridAnchors(
  featureSizesHw: [number, number][],
  opts: AnchorOptions,
  imageSizeHw?: [number, number],
): LevelAnchors {
  const anchors: Float32Array[] = [];
  const stridesHw: [number, number][] = [];
  let perCell = 0;
  featureSizesHw.forEach(([fh, fw], level) => {
    const stride: [number, number] =
      opts.convention === 'torchvision' && imageSizeHw
        ? [Math.floor(imageSizeHw[0] / fh), Math.floor(imageSizeHw[1] / fw)]
        : [opts.strides[level]!, opts.strides[level]!];
    const cell = cellAnchors(level, opts);
    perCell = cell.length;
    const a = new Float32Array(fh * fw * cell.length * 4);
    let o = 0;
    for (let y = 0; y < fh; y++) {
      const sy = y * stride[0];
      for (let x = 0; x < fw; x++) {
        const sx = x * stride[1];
        for (const c of cell) {
          a[o++] = sx + c[0]!;
          a[o++] = sy + c[1]!;
          a[o++] = sx + c[2]!;
          a[o++] = sy + c[3]!;
        }
      }
    }
    anchors.push(a);
    stridesHw.push(stride);
  });
  return { anchors, stridesHw, perCell };
}
