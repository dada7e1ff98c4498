/** Counting for the VinDr part of the data audit (notebook 01): numbers apart from any drawing. */
import type { TableData } from '../plots/table.js';
import { readImage, resizeImage } from './images.js';
import { VINDR_BOX_COUNTS, VINDR_CLASSES, VINDR_NO_FINDING, VINDR_TOTAL_IMAGES } from './labels.js';
import { vindrClassCounts, type VindrImage } from './vindr.js';

/** Reader-level instance counts per class (0–14), with the real set's counts scaled to this set's size. */
export interface ClassCounts {
  classes: string[];
  counts: number[];
  expected: number[];
  totalImages: number;
  normalImages: number;
}

export function vindrInstanceCounts(images: readonly VindrImage[]): ClassCounts {
  const scale = images.length / VINDR_TOTAL_IMAGES;
  return {
    classes: [...VINDR_CLASSES],
    counts: vindrClassCounts(images),
    expected: VINDR_BOX_COUNTS.map((c) => Math.round(c * scale * 10) / 10),
    totalImages: images.length,
    normalImages: images.filter((im) => im.annotations.length === 0 && im.noFindingReaders.length === im.readers.length).length,
  };
}

/** Per reader: images read, boxes drawn, "No finding" calls; sorted by reader number. */
export function readerTable(images: readonly VindrImage[]): TableData {
  const m = new Map<string, [number, number, number]>();
  for (const im of images) {
    for (const r of im.readers) {
      const e = m.get(r) ?? [0, 0, 0];
      e[0]++;
      if (im.noFindingReaders.includes(r)) e[2]++;
      m.set(r, e);
    }
    for (const a of im.annotations) m.get(a.readerId)![1]++;
  }
  const key = (r: string): number => Number(r.replace(/\D/g, '')) || 0;
  const rows = [...m.entries()].sort((a, b) => key(a[0]) - key(b[0]) || a[0].localeCompare(b[0])).map(([r, [n, boxes, nf]]) => [r, n, boxes, nf, Math.round((100 * boxes) / Math.max(1, n)) / 100]);
  return { columns: ['reader', 'images read', 'boxes', '"No finding"', 'boxes per image'], rows };
}

/** Size and brightness statistics of one image (brightness in [0, 1] after windowing). */
export interface ImageStats {
  site: string;
  width: number;
  height: number;
  mean: number;
  std: number;
  p5: number;
  p95: number;
}

/** Decodes up to `max` images (streamed one at a time) and summarises each; unreadable ones are skipped. */
export async function imageStatistics(paths: readonly string[], site: string, max = 200): Promise<ImageStats[]> {
  const out: ImageStats[] = [];
  for (const p of paths.slice(0, max)) {
    let img;
    try {
      img = await readImage(p);
    } catch {
      continue; // already reported by the loader's audit
    }
    const small = resizeImage(img, Math.min(img.width, 128), Math.min(img.height, 128)).data;
    let s = 0;
    let s2 = 0;
    for (const v of small) {
      s += v;
      s2 += v * v;
    }
    const n = small.length;
    const sorted = Float32Array.from(small).sort();
    out.push({ site, width: img.width, height: img.height, mean: s / n, std: Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2)), p5: sorted[Math.floor(0.05 * (n - 1))]!, p95: sorted[Math.floor(0.95 * (n - 1))]! });
  }
  return out;
}

/** Per site: images, width/height range, mean brightness, contrast (std) and p5–p95 spread, averaged. */
export function siteTable(stats: readonly ImageStats[]): TableData {
  const sites = [...new Set(stats.map((s) => s.site))];
  const avg = (xs: number[]): number => Math.round((1000 * xs.reduce((a, b) => a + b, 0)) / Math.max(1, xs.length)) / 1000;
  return {
    columns: ['site', 'images', 'width min–max', 'height min–max', 'mean brightness', 'std', 'p5', 'p95'],
    rows: sites.map((site) => {
      const s = stats.filter((x) => x.site === site);
      const ws = s.map((x) => x.width);
      const hs = s.map((x) => x.height);
      return [site, s.length, `${Math.min(...ws)}–${Math.max(...ws)}`, `${Math.min(...hs)}–${Math.max(...hs)}`, avg(s.map((x) => x.mean)), avg(s.map((x) => x.std)), avg(s.map((x) => x.p5)), avg(s.map((x) => x.p95))];
    }),
  };
}

/** One example image per class for the gallery: 8-bit pixels at `size` and the readers' boxes scaled to it. */
export interface ClassExample {
  classId: number;
  title: string;
  width: number;
  height: number;
  /** Row-major 0–255. */
  pixels: number[];
  /** [x1, y1, x2, y2] in pixels of the thumbnail, with the reader. */
  boxes: { box: [number, number, number, number]; readerId: string }[];
}

/** The first image (by id) showing each class 0–14, read and shrunk to `size` pixels high. */
export async function classExamples(images: readonly VindrImage[], size = 128): Promise<ClassExample[]> {
  const out: ClassExample[] = [];
  for (let c = 0; c <= VINDR_NO_FINDING; c++) {
    const im = images.find((x) => x.path && x.width > 0 && (c === VINDR_NO_FINDING ? x.annotations.length === 0 && x.noFindingReaders.length > 0 : x.annotations.some((a) => a.classId === c)));
    if (!im) continue;
    let img;
    try {
      img = await readImage(im.path!);
    } catch {
      continue;
    }
    const h = size;
    const w = Math.round((size * img.width) / img.height);
    const small = resizeImage(img, w, h);
    const sx = w / im.width;
    const sy = h / im.height;
    out.push({
      classId: c,
      title: VINDR_CLASSES[c]!,
      width: w,
      height: h,
      pixels: Array.from(small.data, (v) => Math.round(255 * v)),
      boxes: im.annotations.filter((a) => a.classId === c).map((a) => ({ box: [a.box[0] * sx, a.box[1] * sy, a.box[2] * sx, a.box[3] * sy], readerId: a.readerId })),
    });
  }
  return out;
}
