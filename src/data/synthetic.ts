/**
 * The embedded data set: a seeded chest radiograph phantom written in the real data sets' own
 * formats — NIH ChestX-ray14 (CSV, split lists, BBox_List_2017.csv, 8-bit PNGs) and VinDr-CXR
 * (train.csv with three readers' boxes, DICOM images) — so that the notebooks read it through the
 * same loaders as the real files. Same seed, same bytes. Drawing lives in `phantom/`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io.js';
import { makeRng, type Rng } from '../rng.js';
import { encodeDicom, uidFromKey } from './dicomWrite.js';
import { NIH_LABEL_COUNTS, NIH_LABELS, NIH_TOTAL_IMAGES, NIH_TOTAL_PATIENTS, VINDR_CLASSES, VINDR_NO_FINDING, type NihLabel } from './labels.js';
import { NIH_BBOX_CSV, NIH_BBOX_HEADER, NIH_COLUMNS, NIH_CSV } from './nih.js';
import { NIH_KIND, sampleVindrClasses, VINDR_KIND, type FindingKind } from './phantom/findings.js';
import { pickReaders, readerMarks, type ReaderBox } from './phantom/readers.js';
import { renderFilm } from './phantom/render.js';
import { encodeGrayPng } from './png.js';
import { VINDR_COLUMNS, VINDR_TRAIN_CSV } from './vindr.js';

export interface NihPhantomOptions {
  /** Output folder; receives Data_Entry_2017.csv, the split lists, BBox_List_2017.csv and images/. */
  dir: string;
  numImages: number;
  /** Side of the written PNGs in pixels. */
  imageSize: number;
  seed: number;
}

const FINDINGS = NIH_LABELS.filter((l) => l !== 'No Finding');
const P_NORMAL = NIH_LABEL_COUNTS['No Finding'] / NIH_TOTAL_IMAGES;
// Mean labels per abnormal image in the real set is ~1.57; 1 + Poisson(0.57) matches it.
const EXTRA_LABEL_RATE = FINDINGS.reduce((s, l) => s + NIH_LABEL_COUNTS[l], 0) / (NIH_TOTAL_IMAGES - NIH_LABEL_COUNTS['No Finding']) - 1;
const IMAGES_PER_PATIENT = NIH_TOTAL_IMAGES / NIH_TOTAL_PATIENTS;
// The official test list holds 25,596 of 112,120 images, split by patient.
const P_TEST_PATIENT = 25596 / NIH_TOTAL_IMAGES;
/** The eight labels of the NIH box file, spelled as that file spells them. */
const NIH_BOX_LABELS: Partial<Record<NihLabel, string>> = {
  Atelectasis: 'Atelectasis', Cardiomegaly: 'Cardiomegaly', Effusion: 'Effusion', Infiltration: 'Infiltrate',
  Mass: 'Mass', Nodule: 'Nodule', Pneumonia: 'Pneumonia', Pneumothorax: 'Pneumothorax',
};

function poisson(rng: Rng, mean: number): number {
  const l = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > l) {
    k++;
    p *= rng.next();
  }
  return k;
}

/** Draws the labels of one image with the real set's marginal frequencies (approximately). */
export function sampleNihLabels(rng: Rng): NihLabel[] {
  if (rng.next() < P_NORMAL) return ['No Finding'];
  const k = Math.min(FINDINGS.length, 1 + poisson(rng, EXTRA_LABEL_RATE));
  const pool = [...FINDINGS];
  const out: NihLabel[] = [];
  for (let i = 0; i < k; i++) {
    const total = pool.reduce((s, l) => s + NIH_LABEL_COUNTS[l], 0);
    let u = rng.next() * total;
    let j = 0;
    while (j < pool.length - 1 && u >= NIH_LABEL_COUNTS[pool[j]!]) u -= NIH_LABEL_COUNTS[pool[j++]!];
    out.push(pool[j]!);
    pool.splice(j, 1);
  }
  return out.sort((a, b) => NIH_LABELS.indexOf(a) - NIH_LABELS.indexOf(b));
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const toByte = (b: Float32Array): Uint8Array => {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = Math.round(255 * b[i]!);
  return out;
};

/** Summary of what the NIH generator wrote (also saved as `phantom.json` beside the files). */
export interface PhantomSummary {
  kind: 'nih-phantom-v3';
  seed: number;
  numImages: number;
  imageSize: number;
  numPatients: number;
  numBoxes: number;
}

/**
 * Writes an NIH-format phantom into `opts.dir`: Data_Entry_2017.csv (official header, trailing empty
 * column included), train_val_list.txt, test_list.txt (split by patient), BBox_List_2017.csv (boxes
 * [x, y, w, h] in pixels for some images with one of its eight labels) and images/*.png (8-bit).
 */
export function generateNihPhantom(opts: NihPhantomOptions): PhantomSummary {
  const { dir, numImages, imageSize, seed } = opts;
  if (!(numImages > 0 && imageSize >= 16)) throw new Error(`generateNihPhantom: need numImages > 0 and imageSize >= 16`);
  const rng = makeRng(seed).fork('nih-phantom');
  mkdirSync(join(dir, 'images'), { recursive: true });
  const lines = [`${NIH_COLUMNS.join(',')},`];
  const boxes = [NIH_BBOX_HEADER];
  const trainVal: string[] = [];
  const test: string[] = [];
  let patient = 0;
  let written = 0;
  while (written < numImages) {
    patient++;
    const pid = String(patient).padStart(8, '0');
    const visits = Math.min(numImages - written, 1 + poisson(rng, IMAGES_PER_PATIENT - 1));
    const isTest = rng.next() < P_TEST_PATIENT;
    const gender = rng.next() < 0.565 ? 'M' : 'F';
    const age0 = Math.max(1, Math.min(94, Math.round(47 + 16.6 * rng.normal())));
    for (let f = 0; f < visits; f++) {
      const name = `${pid}_${String(f).padStart(3, '0')}.png`;
      const labels = sampleNihLabels(rng);
      const view = rng.next() < 0.6 ? 'PA' : 'AP';
      const w = 2000 + 100 * rng.int(10);
      const h = 2000 + 100 * rng.int(10);
      const spacing = (0.139 + 0.029 * rng.int(2)).toFixed(3);
      lines.push([name, labels.join('|'), String(f), String(patient), String(age0 + Math.floor(f / 4)), gender, view, String(w), String(h), spacing, spacing, ''].map(csvField).join(','));
      const kinds = labels.filter((l): l is Exclude<NihLabel, 'No Finding'> => l !== 'No Finding').map((l) => NIH_KIND[l]);
      const imgRng = rng.fork(name);
      const film = renderFilm(imageSize, imageSize, kinds, 'nih', imgRng, view);
      writeFileAtomic(join(dir, 'images', name), encodeGrayPng({ width: imageSize, height: imageSize, pixels: toByte(film.brightness), bitDepth: 8 }));
      // The real box file covers 880 of 112,120 images; the phantom boxes more so there is something to see.
      if (imgRng.next() < 0.15) {
        for (const fi of film.findings) {
          const label = labels.find((l) => l !== 'No Finding' && NIH_KIND[l] === fi.kind && NIH_BOX_LABELS[l]);
          if (!label) continue;
          const [x1, y1, x2, y2] = fi.box;
          boxes.push([name, NIH_BOX_LABELS[label]!, ...[x1, y1, x2 - x1, y2 - y1].map((v) => String(Math.round(v * 1000) / 1000)), '', '', ''].join(','));
        }
      }
      (isTest ? test : trainVal).push(name);
      written++;
    }
  }
  writeFileAtomic(join(dir, NIH_CSV), `${lines.join('\n')}\n`);
  writeFileAtomic(join(dir, NIH_BBOX_CSV), `${boxes.join('\n')}\n`);
  writeFileAtomic(join(dir, 'train_val_list.txt'), `${trainVal.join('\n')}\n`);
  writeFileAtomic(join(dir, 'test_list.txt'), `${test.join('\n')}\n`);
  const summary: PhantomSummary = { kind: 'nih-phantom-v3', seed, numImages, imageSize, numPatients: patient, numBoxes: boxes.length - 1 };
  writeJsonAtomic(join(dir, 'phantom.json'), summary);
  return summary;
}

/**
 * Generates the phantom unless `dir` already holds one made with the same options (the summary
 * file is written last, so an interrupted generation is redone).
 */
export function ensureNihPhantom(opts: NihPhantomOptions): { summary: PhantomSummary; generated: boolean } {
  const s = readSummary<PhantomSummary>(opts.dir);
  if (s && s.kind === 'nih-phantom-v3' && s.seed === opts.seed && s.numImages === opts.numImages && s.imageSize === opts.imageSize) return { summary: s, generated: false };
  return { summary: generateNihPhantom(opts), generated: true };
}

function readSummary<T>(dir: string): T | null {
  const marker = join(dir, 'phantom.json');
  return existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as T) : null;
}

export interface VindrPhantomOptions {
  /** Output folder; receives train.csv and train/<image_id>.dicom. */
  dir: string;
  numImages: number;
  /** Height of the written images in pixels; widths vary between 82 % and 100 % of it. */
  imageSize: number;
  seed: number;
}

/** Summary of what the VinDr generator wrote (`phantom.json`). */
export interface VindrPhantomSummary {
  kind: 'vindr-phantom-v2';
  seed: number;
  numImages: number;
  imageSize: number;
  normalImages: number;
  /** Rows of train.csv (reader-level boxes plus "No finding" rows). */
  rows: number;
  monochrome1: number;
}

/**
 * Writes a VinDr-CXR-format phantom: `train.csv` (image_id, class_name, class_id, rad_id, x_min,
 * y_min, x_max, y_max; one row per reader box, "No finding" rows with empty boxes) and
 * `train/<image_id>.dicom` (16 bits allocated, 12–16 stored, MONOCHROME2 or MONOCHROME1, rescale
 * and window tags). Boxes are in pixels of the written image.
 */
export function generateVindrPhantom(opts: VindrPhantomOptions): VindrPhantomSummary {
  const { dir, numImages, imageSize, seed } = opts;
  if (!(numImages > 0 && imageSize >= 32)) throw new Error('generateVindrPhantom: need numImages > 0 and imageSize >= 32');
  const rng = makeRng(seed).fork('vindr-phantom');
  mkdirSync(join(dir, 'train'), { recursive: true });
  const lines = [VINDR_COLUMNS.join(',')];
  let normal = 0;
  let mono1 = 0;
  for (let i = 0; i < numImages; i++) {
    const imageId = createHash('sha256').update(`vindr-phantom/${seed}/${i}`).digest('hex').slice(0, 32);
    const r = rng.fork(imageId);
    const classes = sampleVindrClasses(r);
    if (classes.length === 0) normal++;
    const height = imageSize;
    const width = Math.round(imageSize * r.uniform(0.82, 1));
    const kinds: FindingKind[] = classes.map((c) => (c === 8 && r.next() < 0.33 ? 'mass' : VINDR_KIND[c]!));
    const film = renderFilm(width, height, kinds, 'vindr', r);
    const truth: ReaderBox[] = film.findings.map((f) => ({ classId: f.kind === 'mass' ? 8 : VINDR_KIND.indexOf(f.kind), box: f.box }));
    for (const reader of pickReaders(r)) {
      const marks = readerMarks(reader, truth, width, height, r);
      if (marks.length === 0) lines.push([imageId, VINDR_CLASSES[VINDR_NO_FINDING], String(VINDR_NO_FINDING), reader.id, '', '', '', ''].join(','));
      for (const m of marks) lines.push([imageId, VINDR_CLASSES[m.classId]!, String(m.classId), reader.id, ...m.box.map((v) => v.toFixed(2))].map(csvField).join(','));
    }
    const dicom = filmToDicom(film.brightness, width, height, `${seed}/${imageId}`, r);
    if (dicom.mono1) mono1++;
    writeFileAtomic(join(dir, 'train', `${imageId}.dicom`), dicom.bytes);
  }
  writeFileAtomic(join(dir, VINDR_TRAIN_CSV), `${lines.join('\n')}\n`);
  const summary: VindrPhantomSummary = { kind: 'vindr-phantom-v2', seed, numImages, imageSize, normalImages: normal, rows: lines.length - 1, monochrome1: mono1 };
  writeJsonAtomic(join(dir, 'phantom.json'), summary);
  return summary;
}

/** Stores a film the way DR detectors do: 12/14/16 bits, sometimes inverted, with rescale and window. */
function filmToDicom(b: Float32Array, width: number, height: number, key: string, rng: Rng): { bytes: Uint8Array; mono1: boolean } {
  const bitsStored = [12, 14, 16][rng.int(3)]!;
  const max = 2 ** bitsStored - 1;
  const mono1 = rng.next() < 0.25;
  const slope = rng.next() < 0.8 ? 1 : 0.5;
  const intercept = rng.next() < 0.7 ? 0 : -1024;
  const lo = 0.03 * max;
  const span = 0.92 * max;
  const pixels = new Uint16Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const raw = Math.round(lo + span * b[i]!);
    pixels[i] = mono1 ? max - raw : raw;
  }
  // The window spans brightness 0.02 … 0.98 in modality units (rescale applied; inversion comes after VOI).
  const m = (t: number): number => (mono1 ? max - (lo + span * t) : lo + span * t) * slope + intercept;
  const [w0, w1] = [m(0.02), m(0.98)].sort((x, y) => x - y) as [number, number];
  const ps = 0.1 * (2400 / height);
  return {
    mono1,
    bytes: encodeDicom({
      rows: height,
      columns: width,
      pixels,
      bitsStored,
      photometric: mono1 ? 'MONOCHROME1' : 'MONOCHROME2',
      rescaleSlope: slope,
      rescaleIntercept: intercept,
      windowCenter: (w0 + w1) / 2 + 0.5,
      windowWidth: w1 - w0 + 1,
      pixelSpacing: [ps, ps],
      sopInstanceUid: uidFromKey(`sop/${key}`),
      studyUid: uidFromKey(`study/${key}`),
      seriesUid: uidFromKey(`series/${key}`),
      patientId: key.split('/')[1]!.slice(0, 16),
    }),
  };
}

/** Generates the VinDr phantom unless `dir` already holds one made with the same options. */
export function ensureVindrPhantom(opts: VindrPhantomOptions): { summary: VindrPhantomSummary; generated: boolean } {
  const s = readSummary<VindrPhantomSummary>(opts.dir);
  if (s && s.kind === 'vindr-phantom-v2' && s.seed === opts.seed && s.numImages === opts.numImages && s.imageSize === opts.imageSize) return { summary: s, generated: false };
  return { summary: generateVindrPhantom(opts), generated: true };
}
