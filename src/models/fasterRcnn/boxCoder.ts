/**
 * Box coding: boxes as deltas `(dx, dy, dw, dh)` relative to reference boxes (anchors or
 * proposals), R-CNN style. MMDetection's `DeltaXYWHBBoxCoder` with means 0 and `stds` is
 * torchvision's `BoxCoder` with `weights = 1 / stds`: `dx = (gcx - pcx) / pw / std`, `dw =
 * log(gw / pw) / std`. No "+1" anywhere (boxes `[x1, y1, x2, y2]`, width `x2 - x1`).
 */

/** `log(1000 / 16)`: the largest `dw`, `dh` decoded (torchvision `bbox_xform_clip`). */
export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

/** Coder settings. RPN: stds `[1, 1, 1, 1]`; box head: `[0.1, 0.1, 0.2, 0.2]`. */
export interface BoxCoderOptions {
  /** Target standard deviations `(sx, sy, sw, sh)`; deltas are divided by them when encoding. */
  stds: [number, number, number, number];
  /** Upper bound on decoded dw, dh (after multiplying by std), default {@link BBOX_XFORM_CLIP}. */
  clip?: number;
  /**
   * MMDetection also bounds dw, dh from below at `-clip`; torchvision only from above. Default
   * false (torchvision, as in the reference); a lower bound only matters for absurd predictions.
   */
  symmetricClip?: boolean;
}

/**
 * Encodes `boxes` relative to `refs` (pairwise, same count).
 * @param boxes flat `[n * 4]` target boxes `[x1, y1, x2, y2]`.
 * @param refs flat `[n * 4]` reference boxes (anchors / proposals), positive width and height.
 * @returns flat `[n * 4]` deltas `(dx, dy, dw, dh)`.
 */
export function encodeBoxes(
  boxes: ArrayLike<number>,
  refs: ArrayLike<number>,
  opts: BoxCoderOptions,
): Float32Array {
  const n = refs.length / 4;
  if (boxes.length !== refs.length)
    throw new Error(`encodeBoxes: ${boxes.length / 4} boxes vs ${n} references`);
  const [sx, sy, sw, sh] = opts.stds;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const pw = refs[o + 2]! - refs[o]!;
    const ph = refs[o + 3]! - refs[o + 1]!;
    const pcx = refs[o]! + 0.5 * pw;
    const pcy = refs[o + 1]! + 0.5 * ph;
    const gw = boxes[o + 2]! - boxes[o]!;
    const gh = boxes[o + 3]! - boxes[o + 1]!;
    const gcx = boxes[o]! + 0.5 * gw;
    const gcy = boxes[o + 1]! + 0.5 * gh;
    out[o] = (gcx - pcx) / pw / sx;
    out[o + 1] = (gcy - pcy) / ph / sy;
    out[o + 2] = Math.log(gw / pw) / sw;
    out[o + 3] = Math.log(gh / ph) / sh;
  }
  return out;
}

/**
 * Decodes deltas against reference boxes, optionally clipping to the image.
 * @param deltas flat `[n * K * 4]`: K delta sets per reference box (K = 1 for the RPN, one per
 *   class for the box head), `(dx, dy, dw, dh)`.
 * @param refs flat `[n * 4]` reference boxes `[x1, y1, x2, y2]`.
 * @param clipHw clip corners to `[0, W] x [0, H]` when given.
 * @returns flat `[n * K * 4]` boxes `[x1, y1, x2, y2]`.
 */
export function decodeBoxes(
  deltas: ArrayLike<number>,
  refs: ArrayLike<number>,
  opts: BoxCoderOptions,
  clipHw?: [number, number],
): Float32Array {
  const n = refs.length / 4;
  const k = n === 0 ? 0 : deltas.length / (n * 4);
  if (n > 0 && !Number.isInteger(k))
    throw new Error(`decodeBoxes: ${deltas.length} delta values for ${n} boxes`);
  const [sx, sy, sw, sh] = opts.stds;
  const clip = opts.clip ?? BBOX_XFORM_CLIP;
  const lowClip = opts.symmetricClip ? -clip : -Infinity;
  const out = new Float32Array(deltas.length);
  for (let i = 0; i < n; i++) {
    const r = i * 4;
    const w = refs[r + 2]! - refs[r]!;
    const h = refs[r + 3]! - refs[r + 1]!;
    const cx = refs[r]! + 0.5 * w;
    const cy = refs[r + 1]! + 0.5 * h;
    for (let j = 0; j < k; j++) {
      const o = (i * k + j) * 4;
      const dw = Math.max(lowClip, Math.min(deltas[o + 2]! * sw, clip));
      const dh = Math.max(lowClip, Math.min(deltas[o + 3]! * sh, clip));
      const pcx = deltas[o]! * sx * w + cx;
      const pcy = deltas[o + 1]! * sy * h + cy;
      const pw = Math.exp(dw) * w;
      const ph = Math.exp(dh) * h;
      let x1 = pcx - 0.5 * pw;
      let y1 = pcy - 0.5 * ph;
      let x2 = pcx + 0.5 * pw;
      let y2 = pcy + 0.5 * ph;
      if (clipHw) {
        x1 = Math.min(Math.max(x1, 0), clipHw[1]);
        x2 = Math.min(Math.max(x2, 0), clipHw[1]);
        y1 = Math.min(Math.max(y1, 0), clipHw[0]);
        y2 = Math.min(Math.max(y2, 0), clipHw[0]);
      }
      out[o] = x1;
      out[o + 1] = y1;
      out[o + 2] = x2;
      out[o + 3] = y2;
    }
  }
  return out;
}
