/**
 * Fused VinDr annotations on disk, for notebook 04: a flat CSV (one row per box, "No finding" images
 * as one empty row, like VinDr's own train.csv) and COCO JSON (what MMDetection trains from).
 */
import { join } from 'node:path';
import type { FusedImage } from '../boxes/readers.js';
import { writeFileAtomic, writeJsonAtomic } from '../io.js';
import { readCsv } from './csv.js';
import type { IssueLog } from './issues.js';
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

/** Where notebook 02 writes the fused annotations of a split (CSV and COCO JSON side by side). */
export function fusedSplitPaths(resultsDir: string, split: 'train' | 'val' | 'test'): { csv: string; coco: string } {
  return { csv: join(resultsDir, '02_wbf', `fused_${split}.csv`), coco: join(resultsDir, '02_wbf', `fused_${split}.coco.json`) };
}

/** Writes a split's fused annotations as CSV and COCO JSON (atomically). */
export function writeFusedSplit(resultsDir: string, split: 'train' | 'val' | 'test', images: readonly FusedImage[], fileName?: (imageId: string) => string): { csv: string; coco: string } {
  const p = fusedSplitPaths(resultsDir, split);
  writeFileAtomic(p.csv, fusedCsv(images));
  writeJsonAtomic(p.coco, fusedCoco(images, fileName));
  return p;
}

/** Reads a fused CSV written by `writeFusedSplit` back into per-image boxes (bad rows reported to `log`). */
export function readFusedCsv(path: string, log: IssueLog): FusedImage[] {
  const table = readCsv(path, log);
  const byId = new Map<string, FusedImage>();
  for (const row of table.rows) {
    const c = row.cells;
    const id = c.image_id ?? '';
    let img = byId.get(id);
    if (!img) {
      img = { imageId: id, width: Number(c.width), height: Number(c.height), boxes: [], scores: [], labels: [], numReaders: 0 };
      byId.set(id, img);
    }
    const classId = Number(c.class_id);
    if (classId === VINDR_NO_FINDING) continue;
    const box = [c.x_min, c.y_min, c.x_max, c.y_max].map(Number);
    if (!(classId >= 0 && classId < VINDR_NO_FINDING) || box.some((v) => !Number.isFinite(v)) || box[2]! <= box[0]! || box[3]! <= box[1]!) {
      log.add(path, row.line, 'bad-row', `cannot read fused box ${JSON.stringify(c)}`);
      continue;
    }
    img.boxes.push(box);
    img.labels.push(classId);
    img.scores.push(Number(c.score));
  }
  return [...byId.values()];
}
