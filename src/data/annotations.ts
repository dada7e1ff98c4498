/**
 * Fused VinDr annotations on disk, for notebook 04: a flat CSV (one row per box, "No finding" images
 * as one empty row, like VinDr's own train.csv) and COCO JSON (what MMDetection trains from).
 */
import type { FusedImage } from '../boxes/readers.js';
import { VINDR_CLASSES, VINDR_NO_FINDING } from './labels.js';

/** Fused annotations as CSV text: image_id, width, height, class_name, class_id, score, x_min, y_min, x_max, y_max. */
export function fusedCsv(images: readonly FusedImage[]): string {
  const lines = ['image_id,width,height,class_name,class_id,score,x_min,y_min,x_max,y_max'];
  const r = (v: number): string => String(Math.round(v * 100) / 100);
  for (const img of images) {
    if (img.boxes.length === 0) {
      lines.push(`${img.imageId},${img.width},${img.height},No finding,${VINDR_NO_FINDING},,,,,`);
      continue;
    }
    img.boxes.forEach((b, k) => {
      const c = img.labels[k]!;
      lines.push([img.imageId, img.width, img.height, VINDR_CLASSES[c], c, r(img.scores[k]!), r(b[0]!), r(b[1]!), r(b[2]!), r(b[3]!)].join(','));
    });
  }
  return `${lines.join('\n')}\n`;
}

export interface CocoDataset {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id: number; image_id: number; category_id: number; bbox: [number, number, number, number]; area: number; iscrowd: 0; score: number }[];
  categories: { id: number; name: string }[];
}

/**
 * COCO detection JSON: `bbox` is `[x, y, w, h]` in pixels; category ids are VinDr class ids 0–13.
 * Image ids are 1-based positions in `images` (stable for a given split file).
 */
export function fusedCoco(images: readonly FusedImage[], fileName: (imageId: string) => string = (id) => `${id}.dicom`): CocoDataset {
  const coco: CocoDataset = {
    images: [],
    annotations: [],
    categories: VINDR_CLASSES.slice(0, VINDR_NO_FINDING).map((name, id) => ({ id, name })),
  };
  images.forEach((img, i) => {
    coco.images.push({ id: i + 1, file_name: fileName(img.imageId), width: img.width, height: img.height });
    img.boxes.forEach((b, k) => {
      const w = b[2]! - b[0]!;
      const h = b[3]! - b[1]!;
      coco.annotations.push({ id: coco.annotations.length + 1, image_id: i + 1, category_id: img.labels[k]!, bbox: [b[0]!, b[1]!, w, h], area: w * h, iscrowd: 0, score: img.scores[k]! });
    });
  });
  return coco;
}

/** Boxes per class id (0–13) over a set of images. */
export function instancesPerClass(images: readonly { labels: readonly number[] }[]): number[] {
  const counts = new Array<number>(VINDR_NO_FINDING).fill(0);
  for (const img of images) for (const c of img.labels) if (c >= 0 && c < VINDR_NO_FINDING) counts[c]!++;
  return counts;
}
