/** Opening the data sets a config points at: the phantom is generated on first use. */
import type { Config } from '../config.js';
import type { TableData } from '../plots/table.js';
import type { IssueLog } from './issues.js';
import { loadNih, type NihDataset } from './nih.js';
import { ensureNihPhantom, ensureVindrPhantom } from './synthetic.js';
import { loadVindr, type VindrDataset } from './vindr.js';

/**
 * The NIH-format data set of `config`: the user's files when `CXR_NIH_DIR` (or the paper profile)
 * points at them, else the embedded phantom, generated into `config.data.nihDir` if absent.
 */
export function openNih(config: Config, opts: { log?: (msg: string) => void } = {}): NihDataset {
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
  return loadNih(config.data.nihDir);
}

/**
 * The VinDr-format data set of `config`: the user's files when `CXR_VINDR_DIR` (or the paper
 * profile) points at them, else the embedded phantom, generated into `config.data.vindrDir` if absent.
 */
export function openVindr(config: Config, opts: { log?: (msg: string) => void } = {}): VindrDataset {
  const log = opts.log ?? console.log;
  if (config.data.source === 'synthetic') {
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
  return loadVindr(config.data.vindrDir);
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
