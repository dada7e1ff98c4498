/**
 * VinDr-CXR as its owners ship it: `train.csv` (one row per reader and finding: image_id,
 * class_name, class_id, rad_id, x_min, y_min, x_max, y_max; "No finding" rows have empty boxes)
 * and `train/<image_id>.dicom`. The common PNG re-encodings (`train/<image_id>.png` plus
 * `train_meta.csv` with the original dim0 = rows, dim1 = columns) are read too.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readCsv } from './csv.js';
import { IssueLog } from './issues.js';
import { VINDR_CLASSES, VINDR_NO_FINDING } from './labels.js';
import { pngSize } from './nih.js';

const require = createRequire(import.meta.url);

export const VINDR_TRAIN_CSV = 'train.csv';
export const VINDR_COLUMNS = ['image_id', 'class_name', 'class_id', 'rad_id', 'x_min', 'y_min', 'x_max', 'y_max'] as const;

/** One reader's box: VinDr class id 0–13, box [x1, y1, x2, y2] in pixels of the original image. */
export interface VindrAnnotation {
  readerId: string;
  classId: number;
  box: [number, number, number, number];
}

export interface VindrImage {
  imageId: string;
  /** DICOM or PNG path; null when the image is listed but not on disk. */
  path: string | null;
  /** Original image size in pixels (0 when unknown). */
  width: number;
  height: number;
  annotations: VindrAnnotation[];
  /** Readers who read this image (rad_id), sorted. */
  readers: string[];
  /** Readers who wrote "No finding". */
  noFindingReaders: string[];
}

export interface VindrDataset {
  dir: string;
  images: VindrImage[];
  log: IssueLog;
}

/**
 * Reads a DICOM file's header (everything before PixelData) without reading the pixels: only the
 * first 64 KiB of the file. Returns rows/columns or throws with a reason.
 */
export function readDicomSize(path: string): { width: number; height: number } {
  const dicomParser = require('dicom-parser') as typeof import('dicom-parser');
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const b = Buffer.alloc(Math.min(size, 65536));
    readSync(fd, b, 0, b.length, 0);
    const ds = dicomParser.parseDicom(b, { untilTag: 'x7fe00010' });
    const height = ds.uint16('x00280010') ?? 0;
    const width = ds.uint16('x00280011') ?? 0;
    if (!(width > 0 && height > 0)) throw new Error('no Rows/Columns');
    return { width, height };
  } catch (e) {
    throw new Error(e instanceof Error ? e.message : String((e as { exception?: string }).exception ?? e));
  } finally {
    closeSync(fd);
  }
}

function indexImages(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const folder = join(dir, 'train');
  if (!existsSync(folder)) return out;
  for (const name of readdirSync(folder).sort()) {
    const m = /^(.+)\.(dicom|dcm|png)$/i.exec(name);
    if (m && !out.has(m[1]!)) out.set(m[1]!, join(folder, name));
  }
  return out;
}

const num = (s: string | undefined): number => (s === undefined || s.trim() === '' ? Number.NaN : Number(s));

/**
 * Reads VinDr-CXR annotations and image sizes from `dir`. Every rejected row or image is reported
 * to the log (file, line, reason) by kind: `csv-columns`, `bad-row`, `unknown-label`,
 * `class-mismatch`, `no-finding-with-box`, `bad-box`, `reversed-box`, `box-outside-image`,
 * `missing-image`, `unreadable-image`. Images without a known size keep width = height = 0.
 */
export function loadVindr(dir: string, opts: { log?: IssueLog } = {}): VindrDataset {
  const log = opts.log ?? new IssueLog();
  const csvPath = join(dir, VINDR_TRAIN_CSV);
  if (!existsSync(csvPath)) throw new Error(`VinDr: ${csvPath} not found (set CXR_VINDR_DIR to the folder holding ${VINDR_TRAIN_CSV} and train/)`);
  const table = readCsv(csvPath, log);
  const missingCols = VINDR_COLUMNS.filter((c) => !table.header.includes(c));
  if (missingCols.length) throw new Error(`VinDr: ${csvPath} lacks column(s) ${missingCols.join(', ')}`);
  const paths = indexImages(dir);
  const meta = readMeta(join(dir, 'train_meta.csv'), log);
  const byId = new Map<string, VindrImage & { rows: { line: number; a: VindrAnnotation }[] }>();
  const image = (id: string): VindrImage & { rows: { line: number; a: VindrAnnotation }[] } => {
    let im = byId.get(id);
    if (!im) {
      im = { imageId: id, path: paths.get(id) ?? null, width: 0, height: 0, annotations: [], readers: [], noFindingReaders: [], rows: [] };
      byId.set(id, im);
    }
    return im;
  };
  for (const row of table.rows) {
    const c = row.cells;
    const id = (c.image_id ?? '').trim();
    const rad = (c.rad_id ?? '').trim();
    const name = (c.class_name ?? '').trim();
    const cls = num(c.class_id);
    if (!id || !rad) {
      log.add(csvPath, row.line, 'bad-row', `empty ${id ? 'rad_id' : 'image_id'}`);
      continue;
    }
    if (!Number.isInteger(cls) || cls < 0 || cls > VINDR_NO_FINDING || !(VINDR_CLASSES as readonly string[]).includes(name)) {
      log.add(csvPath, row.line, 'unknown-label', `class ${JSON.stringify(name)} / id ${JSON.stringify(c.class_id)} is not one of the 15 VinDr classes`);
      continue;
    }
    if (VINDR_CLASSES[cls] !== name) {
      log.add(csvPath, row.line, 'class-mismatch', `class_name ${JSON.stringify(name)} but class_id ${cls} (${VINDR_CLASSES[cls]})`);
      continue;
    }
    const coords = [c.x_min, c.y_min, c.x_max, c.y_max];
    const im = image(id);
    if (!im.readers.includes(rad)) im.readers.push(rad);
    if (cls === VINDR_NO_FINDING) {
      if (coords.some((v) => (v ?? '').trim() !== '')) log.add(csvPath, row.line, 'no-finding-with-box', `"No finding" row of ${rad} carries a box; box ignored`);
      if (!im.noFindingReaders.includes(rad)) im.noFindingReaders.push(rad);
      continue;
    }
    const [x1, y1, x2, y2] = coords.map(num) as [number, number, number, number];
    if (![x1, y1, x2, y2].every(Number.isFinite)) {
      log.add(csvPath, row.line, 'bad-box', `${name} without a numeric box`);
      continue;
    }
    if (x2 <= x1 || y2 <= y1) {
      log.add(csvPath, row.line, 'reversed-box', `box [${x1}, ${y1}, ${x2}, ${y2}] has x2 <= x1 or y2 <= y1`);
      continue;
    }
    im.rows.push({ line: row.line, a: { readerId: rad, classId: cls, box: [x1, y1, x2, y2] } });
  }
  const images: VindrImage[] = [];
  for (const im of [...byId.values()].sort((a, b) => a.imageId.localeCompare(b.imageId))) {
    const size = imageSize(im.imageId, im.path, meta, csvPath, log);
    if (size) {
      im.width = size.width;
      im.height = size.height;
    }
    for (const { line, a } of im.rows) {
      const [x1, y1, x2, y2] = a.box;
      if (size && (x1 < -0.5 || y1 < -0.5 || x2 > size.width + 0.5 || y2 > size.height + 0.5)) {
        log.add(csvPath, line, 'box-outside-image', `box [${a.box.join(', ')}] outside the ${size.width}x${size.height} image ${im.imageId}`);
        continue;
      }
      im.annotations.push(a);
    }
    im.readers.sort();
    im.noFindingReaders.sort();
    const { rows: _rows, ...rest } = im;
    images.push(rest);
  }
  return { dir, images, log };
}

function imageSize(id: string, path: string | null, meta: Map<string, { width: number; height: number }>, csvPath: string, log: IssueLog): { width: number; height: number } | null {
  if (path === null) {
    log.add(csvPath, null, 'missing-image', `${id} is listed but not on disk (train/${id}.dicom)`);
    return meta.get(id) ?? null;
  }
  // PNG re-encodings are usually resized: the original size (which the boxes use) comes from train_meta.csv.
  if (meta.has(id)) return meta.get(id)!;
  try {
    if (path.toLowerCase().endsWith('.png')) {
      const s = pngSize(path);
      if (!s) throw new Error('not a PNG');
      return s;
    }
    return readDicomSize(path);
  } catch (e) {
    log.add(path, null, 'unreadable-image', `header unreadable: ${(e as Error).message}`);
    return null;
  }
}

function readMeta(path: string, log: IssueLog): Map<string, { width: number; height: number }> {
  const out = new Map<string, { width: number; height: number }>();
  if (!existsSync(path)) return out;
  for (const row of readCsv(path, log).rows) {
    const h = num(row.cells.dim0);
    const w = num(row.cells.dim1);
    if (row.cells.image_id && w > 0 && h > 0) out.set(row.cells.image_id.trim(), { width: w, height: h });
    else log.add(path, row.line, 'bad-row', 'image_id, dim0, dim1 expected');
  }
  return out;
}

/** Reader-level box counts per class id (0–13), and "No finding" (14) counted once per reader and image. */
export function vindrClassCounts(images: readonly VindrImage[]): number[] {
  const counts = new Array<number>(VINDR_CLASSES.length).fill(0);
  for (const im of images) {
    for (const a of im.annotations) counts[a.classId]!++;
    counts[VINDR_NO_FINDING]! += im.noFindingReaders.length;
  }
  return counts;
}
