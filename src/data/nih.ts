/**
 * NIH ChestX-ray14 as its owners ship it: `Data_Entry_2017.csv` (one row per image), the official
 * `train_val_list.txt` / `test_list.txt`, and PNGs under `images/` (or `images_001/images/` …).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { readCsv } from './csv.js';
import type { DataCache } from './dataCache.js';
import { IssueLog } from './issues.js';
import { NIH_LABELS, type NihLabel } from './labels.js';

/** One image of `Data_Entry_2017.csv`. */
export interface NihRecord {
  imageIndex: string;
  /** Labels of the image; `['No Finding']` for a normal film. */
  labels: NihLabel[];
  followUp: number;
  patientId: string;
  /** Years; real files carry a few impossible ages (e.g. 414), kept as they are and flagged. */
  age: number;
  gender: 'M' | 'F';
  view: 'PA' | 'AP';
  originalWidth: number;
  originalHeight: number;
  pixelSpacingX: number;
  pixelSpacingY: number;
}

export const NIH_CSV = 'Data_Entry_2017.csv';
export const NIH_BBOX_CSV = 'BBox_List_2017.csv';
/** The box file's header, exactly as shipped (the box is split over four columns, three empty ones follow). */
export const NIH_BBOX_HEADER = 'Image Index,Finding Label,Bbox [x,y,w,h],,,';
export const NIH_COLUMNS = [
  'Image Index',
  'Finding Labels',
  'Follow-up #',
  'Patient ID',
  'Patient Age',
  'Patient Gender',
  'View Position',
  'OriginalImage[Width',
  'Height]',
  'OriginalImagePixelSpacing[x',
  'y]',
] as const;

const LABEL_SET = new Set<string>(NIH_LABELS);

function num(s: string | undefined): number {
  return s === undefined || s.trim() === '' ? Number.NaN : Number(s);
}

/**
 * Parses one CSV row into a record, or returns the reason it is rejected. Labels outside the 15
 * known ones, "No Finding" mixed with a finding, and non-numeric fields are rejections.
 */
export function parseNihRow(cells: Record<string, string>): NihRecord | string {
  const imageIndex = (cells['Image Index'] ?? '').trim();
  if (!imageIndex) return 'empty Image Index';
  const raw = (cells['Finding Labels'] ?? '').split('|').map((s) => s.trim()).filter((s) => s !== '');
  if (raw.length === 0) return 'no Finding Labels';
  const unknown = raw.filter((l) => !LABEL_SET.has(l));
  if (unknown.length) return `unknown label(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}`;
  if (raw.includes('No Finding') && raw.length > 1) return '"No Finding" together with a finding';
  const followUp = num(cells['Follow-up #']);
  const age = num(cells['Patient Age']);
  const gender = (cells['Patient Gender'] ?? '').trim();
  const view = (cells['View Position'] ?? '').trim();
  const w = num(cells['OriginalImage[Width']);
  const h = num(cells['Height]']);
  const sx = num(cells['OriginalImagePixelSpacing[x']);
  const sy = num(cells['y]']);
  if (!Number.isInteger(followUp) || followUp < 0) return `bad Follow-up # ${JSON.stringify(cells['Follow-up #'])}`;
  if (!Number.isFinite(age) || age < 0) return `bad Patient Age ${JSON.stringify(cells['Patient Age'])}`;
  if (gender !== 'M' && gender !== 'F') return `bad Patient Gender ${JSON.stringify(gender)}`;
  if (view !== 'PA' && view !== 'AP') return `bad View Position ${JSON.stringify(view)}`;
  if (!(w > 0 && h > 0)) return 'bad OriginalImage size';
  if (!(sx > 0 && sy > 0)) return 'bad OriginalImagePixelSpacing';
  return {
    imageIndex,
    labels: [...new Set(raw)] as NihLabel[],
    followUp,
    patientId: (cells['Patient ID'] ?? '').trim(),
    age,
    gender,
    view,
    originalWidth: w,
    originalHeight: h,
    pixelSpacingX: sx,
    pixelSpacingY: sy,
  };
}

/** The NIH metadata read from a directory, with everything rejected on the way. */
export interface NihDataset {
  dir: string;
  records: NihRecord[];
  /** Official split membership by image index (absent lists leave these empty). */
  trainVal: Set<string>;
  test: Set<string>;
  /** Image index → PNG path, for the images found on disk. */
  imagePaths: Map<string, string>;
  /** Boxes of BBox_List_2017.csv (empty when the file is absent). */
  boxes: NihBox[];
  log: IssueLog;
  /**
   * The folder's content hashes (SHA-1 per file), when `openNih` has made them in its image check:
   * the pixel cache of `nihSplitSource` is keyed by the same fingerprint instead of reading every file again.
   */
  hashes?: DataCache;
}

/** One box of BBox_List_2017.csv; `box` is [x1, y1, x2, y2] in pixels of the image on disk. */
export interface NihBox {
  imageIndex: string;
  /** As an NIH label ("Infiltrate" in the file is read as Infiltration). */
  label: NihLabel;
  box: [number, number, number, number];
}

/** Width and height from a PNG's IHDR chunk, reading only its first 24 bytes; null if not a PNG. */
export function pngSize(path: string): { width: number; height: number } | null {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(24);
    if (readSync(fd, b, 0, 24, 0) < 24 || b.readUInt32BE(0) !== 0x89504e47) return null;
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads BBox_List_2017.csv: boxes with non-positive size, outside their image, with an unknown
 * label or for an image not in the metadata are reported and skipped.
 */
export function loadNihBoxes(dir: string, records: readonly NihRecord[], imagePaths: ReadonlyMap<string, string>, log: IssueLog): NihBox[] {
  const path = join(dir, NIH_BBOX_CSV);
  if (!existsSync(path)) return [];
  const table = readCsv(path, log, { minFields: 6 });
  const [, , hx, hy, hw, hh] = table.header;
  const known = new Set(records.map((r) => r.imageIndex));
  const out: NihBox[] = [];
  const sizes = new Map<string, { width: number; height: number } | null>();
  for (const row of table.rows) {
    const name = (row.cells['Image Index'] ?? '').trim();
    const raw = (row.cells['Finding Label'] ?? '').trim();
    const label = (raw === 'Infiltrate' ? 'Infiltration' : raw) as NihLabel;
    const [x, y, w, h] = [hx, hy, hw, hh].map((k) => num(row.cells[k ?? '']));
    if (!LABEL_SET.has(label) || label === 'No Finding') {
      log.add(path, row.line, 'unknown-label', `box label ${JSON.stringify(raw)}`);
      continue;
    }
    if (!known.has(name)) {
      log.add(path, row.line, 'box-unknown-image', `${name} has a box but no row in ${NIH_CSV}`);
      continue;
    }
    if (![x, y, w, h].every(Number.isFinite) || !(w! > 0 && h! > 0)) {
      log.add(path, row.line, 'bad-box', `box [${x}, ${y}, ${w}, ${h}] has no area`);
      continue;
    }
    const p = imagePaths.get(name);
    if (p && !sizes.has(name)) sizes.set(name, pngSize(p));
    const size = sizes.get(name);
    if (size && (x! < 0 || y! < 0 || x! + w! > size.width + 0.5 || y! + h! > size.height + 0.5)) {
      log.add(path, row.line, 'box-outside-image', `box [${x}, ${y}, ${w}, ${h}] outside the ${size.width}x${size.height} image`);
      continue;
    }
    out.push({ imageIndex: name, label, box: [x!, y!, x! + w!, y! + h!] });
  }
  return out;
}

function readList(path: string): Set<string> {
  if (!existsSync(path)) return new Set();
  return new Set(readFileSync(path, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean));
}

/** Finds PNGs in `images/` and in the `images_NNN/images/` folders of the official download. */
export function indexNihImages(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const folders: string[] = [];
  if (existsSync(join(dir, 'images'))) folders.push(join(dir, 'images'));
  for (const d of existsSync(dir) ? readdirSync(dir).sort() : []) {
    if (/^images_\d+$/.test(d) && existsSync(join(dir, d, 'images'))) folders.push(join(dir, d, 'images'));
  }
  for (const f of folders) {
    for (const name of readdirSync(f).sort()) if (name.toLowerCase().endsWith('.png')) out.set(name, join(f, name));
  }
  return out;
}

/**
 * Reads NIH ChestX-ray14 metadata from `dir`. Rows that do not parse, duplicate image indices, images
 * listed but missing on disk (or there under a name of other case), images in both split lists and
 * images in neither are reported in `log` (file, line, reason); the records returned are the rows
 * that parsed (missing images are kept as records but have no entry in `imagePaths`; images in both
 * lists are left out of `trainVal`). Pixels are not read here (see `openNih`).
 */
export function loadNih(dir: string, opts: { log?: IssueLog } = {}): NihDataset {
  const log = opts.log ?? new IssueLog();
  const csvPath = join(dir, NIH_CSV);
  if (!existsSync(csvPath)) throw new Error(`NIH: ${csvPath} not found (set CXR_NIH_DIR to the folder holding ${NIH_CSV})`);
  // The official file ends every row with an empty column after "y]".
  const table = readCsv(csvPath, log, { minFields: NIH_COLUMNS.length });
  const missingCols = NIH_COLUMNS.filter((c) => !table.header.includes(c));
  if (missingCols.length) throw new Error(`NIH: ${csvPath} lacks column(s) ${missingCols.join(', ')}`);
  const records: NihRecord[] = [];
  const seen = new Set<string>();
  for (const row of table.rows) {
    const r = parseNihRow(row.cells);
    if (typeof r === 'string') {
      log.add(csvPath, row.line, r.startsWith('unknown label') ? 'unknown-label' : 'bad-row', r);
      continue;
    }
    if (seen.has(r.imageIndex)) {
      log.add(csvPath, row.line, 'duplicate-image', `${r.imageIndex} listed twice`);
      continue;
    }
    seen.add(r.imageIndex);
    records.push(r);
  }
  const imagePaths = indexNihImages(dir);
  const byLowerCase = new Map([...imagePaths.keys()].map((k) => [k.toLowerCase(), k]));
  for (const r of records) {
    if (imagePaths.has(r.imageIndex)) continue;
    const other = byLowerCase.get(r.imageIndex.toLowerCase());
    if (other) {
      log.add(imagePaths.get(other)!, null, 'name-case-mismatch', `${NIH_CSV} lists ${r.imageIndex} but the file on disk is ${other} (names are case-sensitive); rename the file to ${r.imageIndex}`);
      imagePaths.delete(other);
    }
    else log.add(csvPath, null, 'missing-image', `${r.imageIndex} is listed but not on disk`);
  }
  const trainVal = readList(join(dir, 'train_val_list.txt'));
  const test = readList(join(dir, 'test_list.txt'));
  checkSplitLists(dir, records, trainVal, test, log);
  const boxes = loadNihBoxes(dir, records, imagePaths, log);
  return { dir, records, trainVal, test, imagePaths, boxes, log };
}

/**
 * The official lists against each other and the metadata: an image in both `train_val_list.txt`
 * and `test_list.txt` is reported (`split-overlap`) and taken out of `trainVal` (in place), so it is
 * never pretrained on and then evaluated on; a listed image missing from both lists is reported
 * (`unlisted-image`). Without list files there is nothing to check.
 */
export function checkSplitLists(dir: string, records: readonly NihRecord[], trainVal: Set<string>, test: ReadonlySet<string>, log: IssueLog): void {
  if (trainVal.size === 0 && test.size === 0) return;
  const listFile = join(dir, 'train_val_list.txt');
  for (const id of [...trainVal].filter((i) => test.has(i)).sort()) {
    log.add(listFile, null, 'split-overlap', `${id} is in both train_val_list.txt and test_list.txt; kept out of pretraining (evaluated as a test-list image). Remove it from one list`);
    trainVal.delete(id);
  }
  for (const r of records) {
    if (!trainVal.has(r.imageIndex) && !test.has(r.imageIndex)) {
      log.add(join(dir, NIH_CSV), null, 'unlisted-image', `${r.imageIndex} is in neither train_val_list.txt nor test_list.txt; not used`);
    }
  }
}

/** Images per label (an image with k labels counts once for each), all 15 labels present. */
export function nihLabelCounts(records: readonly NihRecord[]): Record<NihLabel, number> {
  const counts = Object.fromEntries(NIH_LABELS.map((l) => [l, 0])) as Record<NihLabel, number>;
  for (const r of records) for (const l of r.labels) counts[l]++;
  return counts;
}
