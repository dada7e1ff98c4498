/**
 * A PROXY for ImageNet: procedurally generated "natural" images with a label, for the supervised
 * pretraining that stands in for ImageNet weights in the smoke and demo profiles (docs/ARCHITECTURE.md, "The embedded data set": no real
 * ImageNet weights can be shipped here). Each class is a shape family with its own texture and colour
 * palette; images are rendered in RGB and then converted to greyscale (ITU-R 601 luma) because the
 * backbone sees 1-channel radiographs, so the classes must stay separable by shape and texture alone.
 * Pure function of the seed.
 */
import type { Rng } from '../rng.js';

/** The proxy's class names (first `classes` are used). */
export const PROXY_CLASSES = [
  'disc', 'square', 'triangle', 'ring', 'cross', 'stripes-h', 'stripes-v', 'checker',
  'ellipse', 'diamond', 'star', 'blobs', 'grid', 'spiral',
] as const;

interface Shape { inside(u: number, v: number): boolean }

function shapeFor(cls: number, rng: Rng): Shape {
  const r = rng.uniform(0.45, 0.8);
  const rot = rng.uniform(0, Math.PI);
  const [c, s] = [Math.cos(rot), Math.sin(rot)];
  const R = (u: number, v: number): [number, number] => [c * u + s * v, -s * u + c * v];
  switch (PROXY_CLASSES[cls]) {
    case 'disc': return { inside: (u, v) => u * u + v * v < r * r };
    case 'square': return { inside: (u, v) => { const [a, b] = R(u, v); return Math.abs(a) < r * 0.8 && Math.abs(b) < r * 0.8; } };
    case 'triangle': return { inside: (u, v) => { const [a, b] = R(u, v); return b > -r * 0.6 && Math.abs(a) < (r - b) * 0.6; } };
    case 'ring': return { inside: (u, v) => { const d = Math.hypot(u, v); return d < r && d > r * 0.6; } };
    case 'cross': return { inside: (u, v) => { const [a, b] = R(u, v); return (Math.abs(a) < r * 0.25 && Math.abs(b) < r) || (Math.abs(b) < r * 0.25 && Math.abs(a) < r); } };
    case 'stripes-h': return { inside: (_u, v) => Math.sin(v * 14 / r) > 0 };
    case 'stripes-v': return { inside: (u) => Math.sin(u * 14 / r) > 0 };
    case 'checker': return { inside: (u, v) => Math.sin(u * 10 / r) * Math.sin(v * 10 / r) > 0 };
    case 'ellipse': return { inside: (u, v) => { const [a, b] = R(u, v); return (a / r) ** 2 + (b / (r * 0.45)) ** 2 < 1; } };
    case 'diamond': return { inside: (u, v) => Math.abs(u) + Math.abs(v) < r };
    case 'star': return { inside: (u, v) => { const t = Math.atan2(v, u) + rot; return Math.hypot(u, v) < r * (0.55 + 0.45 * Math.cos(5 * t)); } };
    case 'blobs': {
      const centres = Array.from({ length: 4 }, () => [rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7)] as const);
      return { inside: (u, v) => centres.some(([x, y]) => (u - x) ** 2 + (v - y) ** 2 < 0.06) };
    }
    case 'grid': return { inside: (u, v) => Math.abs(Math.sin(u * 9 / r)) < 0.3 || Math.abs(Math.sin(v * 9 / r)) < 0.3 };
    default: return { inside: (u, v) => { const t = Math.atan2(v, u); const d = Math.hypot(u, v); return Math.sin(8 * d / r - 2 * t) > 0 && d < r; } };
  }
}

const luma = (rgb: [number, number, number]): number => 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];

/**
 * Renders `count` images of `size`² pixels, classes balanced (i mod classes, then shuffled).
 * Returns greyscale pixels (row-major, `[count, size, size]` flattened, in [0, 1]) and labels.
 */
export function naturalImages(count: number, size: number, classes: number, rng: Rng): { pixels: Float32Array; labels: number[] } {
  if (classes < 2 || classes > PROXY_CLASSES.length) throw new Error(`naturalImages: classes must be 2..${PROXY_CLASSES.length}`);
  const labels = rng.shuffle(Array.from({ length: count }, (_, i) => i % classes));
  const pixels = new Float32Array(count * size * size);
  for (let n = 0; n < count; n++) {
    const shape = shapeFor(labels[n]!, rng);
    // Random colours: foreground and background differ in luma by at least 0.25 so the shape shows in grey.
    let fg: [number, number, number];
    let bg: [number, number, number];
    do {
      fg = [rng.next(), rng.next(), rng.next()];
      bg = [rng.next(), rng.next(), rng.next()];
    } while (Math.abs(luma(fg) - luma(bg)) < 0.25);
    const [lf, lb] = [luma(fg), luma(bg)];
    const [cx, cy] = [rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)];
    const grain = rng.uniform(0.02, 0.08);
    const shade = rng.uniform(-0.15, 0.15);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const u = (2 * x) / (size - 1) - 1 - cx;
        const v = (2 * y) / (size - 1) - 1 - cy;
        let p = shape.inside(u, v) ? lf : lb;
        p += shade * u + grain * rng.normal();
        pixels[(n * size + y) * size + x] = Math.min(1, Math.max(0, p));
      }
    }
  }
  return { pixels, labels };
}
