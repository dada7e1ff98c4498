/**
 * Opening the data sets a config points at: the phantom is generated on first use, and every listed
 * image is decoded (the image check, cached by content) so that a file that does not decode is
 * reported and excluded here, in every notebook, never a crash later.
 */
import type { Config } from '../config.js';
import type { TableData } from '../plots/table.js';
import { dataCacheFor } from './dataCache.js';
import { checkImageFiles } from './imageCheck.js';
import type { IssueLog } from './issues.js';
import { loadNih, type NihDataset } from './nih.js';
import { ensureNihPhantom, ensureVindrPhantom } from './synthetic.js';
import { loadVindr, type VindrDataset } from './vindr.js';

/** Kinds of problem that take an image out of use. */
const IMAGE_KINDS = new Set(['missing-image', 'name-case-mismatch', 'unreadable-image', 'empty-image', 'not-an-image', 'truncated-image', 'unsupported-transfer-syntax', 'bad-dicom']);

function countsText(counts: Map<string, number>): string {
  return [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, n]) => `${n} ${k}`).join(', ');
}

/** One line: how many images are excluded and why, and what else was rejected. */
export function exclusionSummary(name: string, listed: number, usable: number, log: IssueLog): string {
  const image = new Map<string, number>();
  const other = new Map<string, number>();
  for (const i of log.issues) {
    const m = IMAGE_KINDS.has(i.kind) ? image : other;
    m.set(i.kind, (m.get(i.kind) ?? 0) + 1);
  }
  const parts = [`${name}: ${usable} of ${listed} listed images usable`];
  parts.push(listed > usable ? `${listed - usable} excluded (${countsText(image)})` : 'none excluded');
  if (other.size) parts.push(`other rejected input: ${countsText(other)}`);
  return `${parts.join('; ')}${log.issues.length ? ' — the rejected-input report of notebook 01 lists each' : ''}`;
}

/**
 * The NIH-format data set of `config`: the user's files when `CXR_NIH_DIR` (or the paper profile)
 * points at them, else the embedded phantom, generated into `config.data.nihDir` if absent. Every
 * listed image is decoded at the model's input size; those that fail are reported in `log` and
 * dropped from `imagePaths` (so from pretraining and evaluation). Prints what was excluded and why;
 * throws, naming the folder, when no image at all is usable.
 */
export async function openNih(config: Config, opts: { log?: (msg: string) => void } = {}): Promise<NihDataset> {
  const log = opts.log ?? console.log;
  if (config.data.source === 'synthetic') {
    const t0 = Date.now();
    const { summary, generated } = ensureNihPhantom({ dir: config.data.nihDir, numImages: config.data.nihImages, imageSize: config.data.imageSize, seed: config.seed });
    log(
      generated
        ? `generated the NIH-format phantom: ${summary.numImages} images of ${summary.imageSize}px, ${summary.numPatients} patients, seed ${summary.seed}, in ${((Date.now() - t0) / 1000).toFixed(1)}s -> ${config.data.nihDir}`
        : `using the NIH-format phantom in ${config.data.nihDir} (seed ${summary.seed})`,
    );
  } else {
    log(`reading NIH ChestX-ray14 from ${config.data.nihDir}`);
  }
  const nih = loadNih(config.data.nihDir);
  const listed = nih.records.filter((r) => nih.imagePaths.has(r.imageIndex));
  nih.hashes = dataCacheFor(config, nih.dir);
  const bad = await checkImageFiles(listed.map((r) => nih.imagePaths.get(r.imageIndex)!), { size: config.backbone.inputSize, cache: nih.hashes, log, label: 'NIH image check' });
  const badPaths = new Set(bad.map((b) => b.path));
  for (const b of bad) nih.log.add(b.path, null, b.kind, b.reason);
  for (const r of listed) if (badPaths.has(nih.imagePaths.get(r.imageIndex)!)) nih.imagePaths.delete(r.imageIndex);
  const usable = nih.records.filter((r) => nih.imagePaths.has(r.imageIndex)).length;
  log(exclusionSummary('NIH', nih.records.length, usable, nih.log));
  if (usable === 0) {
    throw new Error(`NIH: none of the ${nih.records.length} images listed in ${nih.dir}/Data_Entry_2017.csv has a readable PNG under images/ (or images_NNN/images/): put the PNGs there, or point CXR_NIH_DIR at the folder that holds them`);
  }
  return nih;
}

/**
 * The VinDr-format data set of `config`: the user's files when `CXR_VINDR_DIR` (or the paper
 * profile) points at them, else the embedded phantom, generated into `config.data.vindrDir` if
 * absent. Every image is decoded at the detector's first input size; images missing on disk or
 * failing to decode are reported in `log` and left out of `images` (so out of fusion, the split and
 * detection). Prints what was excluded and why; throws, naming the folder, when none is usable.
 */
export async function openVindr(config: Config, opts: { log?: (msg: string) => void } = {}): Promise<VindrDataset> {
  const log = opts.log ?? console.log;
  if (config.data.vindrSource === 'synthetic') {
    const t0 = Date.now();
    const { summary: s, generated } = ensureVindrPhantom({ dir: config.data.vindrDir, numImages: config.data.vindrImages, imageSize: config.data.vindrImageSize, seed: config.seed });
    log(
      generated
        ? `generated the VinDr-format phantom: ${s.numImages} DICOM images ${s.imageSize}px high (${s.normalImages} normal, ${s.monochrome1} MONOCHROME1), ${s.rows} rows in train.csv, seed ${s.seed}, in ${((Date.now() - t0) / 1000).toFixed(1)}s -> ${config.data.vindrDir}`
        : `using the VinDr-format phantom in ${config.data.vindrDir} (seed ${s.seed})`,
    );
  } else {
    log(`reading VinDr-CXR from ${config.data.vindrDir}`);
  }
  const vindr = loadVindr(config.data.vindrDir);
  const listed = vindr.images.length;
  // Files whose header the loader could not read are reported already: excluded, not reported twice.
  const reported = new Set(vindr.log.issues.filter((i) => IMAGE_KINDS.has(i.kind)).map((i) => i.file));
  const withFile = vindr.images.filter((im) => im.path !== null && !reported.has(im.path));
  const bad = await checkImageFiles(withFile.map((im) => im.path!), { size: config.detection.inputSizes[0] ?? 224, cache: dataCacheFor(config, vindr.dir), log, label: 'VinDr image check' });
  for (const b of bad) vindr.log.add(b.path, null, b.kind, b.reason);
  const badPaths = new Set([...reported, ...bad.map((b) => b.path)]);
  vindr.images = vindr.images.filter((im) => im.path !== null && !badPaths.has(im.path) && im.width > 0 && im.height > 0);
  log(exclusionSummary('VinDr', listed, vindr.images.length, vindr.log));
  if (vindr.images.length === 0) {
    throw new Error(`VinDr: none of the ${listed} images listed in ${vindr.dir}/train.csv has a readable file under train/ (<image_id>.dicom or .png): put the images there, or point CXR_VINDR_DIR at the folder that holds them`);
  }
  return vindr;
}

/** The rejected-input report as a table: kind, count and the first example of each kind. */
export function issueTable(log: IssueLog): TableData {
  const byKind = new Map<string, { n: number; example: string }>();
  for (const i of log.issues) {
    const e = byKind.get(i.kind);
    const where = `${i.file.split('/').slice(-1)[0]}${i.line !== null ? `:${i.line}` : ''}: ${i.reason}`;
    if (e) e.n++;
    else byKind.set(i.kind, { n: 1, example: where });
  }
  const rows = [...byKind.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => [k, v.n, v.example]);
  return { columns: ['problem', 'count', 'first example'], rows: rows.length ? rows : [['none', 0, 'every row and image was read']] };
}

/** Every rejected file and row, one line each (file, line, kind, reason): the full report beside `issueTable`'s summary. */
export function issueRows(log: IssueLog): TableData {
  const rows = log.issues.map((i) => [i.file.split('/').slice(-2).join('/'), i.line, i.kind, i.reason]);
  return { columns: ['file', 'line', 'kind', 'reason'], rows: rows.length ? rows : [['—', null, 'none', 'every row and image was read']] };
}
