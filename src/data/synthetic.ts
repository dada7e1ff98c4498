/**
 * The embedded data set, first version: a seeded generator that writes NIH ChestX-ray14-format
 * files (CSV + 8-bit PNGs) with the real set's label shape. Everything is a pure function of the
 * seed: same seed, same bytes. (The realistic phantom with VinDr readers and DICOM comes next.)
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io.js';
import { makeRng, type Rng } from '../rng.js';
import { NIH_LABEL_COUNTS, NIH_LABELS, NIH_TOTAL_IMAGES, NIH_TOTAL_PATIENTS, type NihLabel } from './labels.js';
import { NIH_COLUMNS, NIH_CSV } from './nih.js';
import { encodeGrayPng } from './png.js';

export interface NihPhantomOptions {
  /** Output folder; receives Data_Entry_2017.csv, the split lists and images/. */
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

/** A rough frontal chest film: body, lungs, heart, spine, a lesion per finding, film noise. */
export function renderSimpleChest(size: number, labels: readonly NihLabel[], rng: Rng): Uint8Array {
  const img = new Float32Array(size * size);
  const cx = 0.5 + 0.02 * rng.normal();
  const lungW = 0.17 + 0.01 * rng.normal();
  const lungH = 0.3 + 0.015 * rng.normal();
  const heartR = labels.includes('Cardiomegaly') ? 0.17 : 0.12;
  const lesions = labels
    .filter((l) => l !== 'No Finding' && l !== 'Cardiomegaly')
    .map(() => ({ x: cx + (rng.next() < 0.5 ? -1 : 1) * (0.08 + 0.1 * rng.next()), y: 0.35 + 0.3 * rng.next(), r: 0.03 + 0.05 * rng.next() }));
  for (let y = 0; y < size; y++) {
    const v = (y + 0.5) / size;
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size;
      let p = 0.08;
      const body = ((u - cx) / 0.42) ** 2 + ((v - 0.55) / 0.55) ** 2;
      if (body < 1) p = 0.62;
      for (const side of [-1, 1]) {
        const d = ((u - (cx + side * 0.16)) / lungW) ** 2 + ((v - 0.48) / lungH) ** 2;
        if (d < 1) p -= 0.38 * (1 - d * d);
      }
      const heart = ((u - (cx + 0.04)) / heartR) ** 2 + ((v - 0.62) / (heartR * 0.9)) ** 2;
      if (heart < 1) p = Math.max(p, 0.6);
      if (Math.abs(u - cx) < 0.035 && v > 0.15) p = Math.max(p, 0.7);
      for (const l of lesions) {
        const d = ((u - l.x) ** 2 + (v - l.y) ** 2) / (l.r * l.r);
        if (d < 1) p += 0.25 * (1 - d);
      }
      img[y * size + x] = p;
    }
  }
  const out = new Uint8Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(255 * (img[i]! + 0.03 * rng.normal()))));
  return out;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Summary of what the generator wrote (also saved as `phantom.json` beside the files). */
export interface PhantomSummary {
  kind: 'nih-phantom-v1';
  seed: number;
  numImages: number;
  imageSize: number;
  numPatients: number;
}

/**
 * Writes an NIH-format phantom into `opts.dir`: Data_Entry_2017.csv (official header, trailing empty
 * column included), train_val_list.txt, test_list.txt (split by patient) and images/*.png.
 */
export function generateNihPhantom(opts: NihPhantomOptions): PhantomSummary {
  const { dir, numImages, imageSize, seed } = opts;
  if (!(numImages > 0 && imageSize >= 16)) throw new Error(`generateNihPhantom: need numImages > 0 and imageSize >= 16`);
  const rng = makeRng(seed).fork('nih-phantom');
  mkdirSync(join(dir, 'images'), { recursive: true });
  const lines = [`${NIH_COLUMNS.join(',')},`];
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
      writeFileAtomic(join(dir, 'images', name), encodeGrayPng({ width: imageSize, height: imageSize, pixels: renderSimpleChest(imageSize, labels, rng.fork(name)), bitDepth: 8 }));
      (isTest ? test : trainVal).push(name);
      written++;
    }
  }
  writeFileAtomic(join(dir, NIH_CSV), `${lines.join('\n')}\n`);
  writeFileAtomic(join(dir, 'train_val_list.txt'), `${trainVal.join('\n')}\n`);
  writeFileAtomic(join(dir, 'test_list.txt'), `${test.join('\n')}\n`);
  const summary: PhantomSummary = { kind: 'nih-phantom-v1', seed, numImages, imageSize, numPatients: patient };
  writeJsonAtomic(join(dir, 'phantom.json'), summary);
  return summary;
}

/**
 * Generates the phantom unless `dir` already holds one made with the same options (the summary
 * file is written last, so an interrupted generation is redone).
 */
export function ensureNihPhantom(opts: NihPhantomOptions): { summary: PhantomSummary; generated: boolean } {
  const marker = join(opts.dir, 'phantom.json');
  if (existsSync(marker)) {
    const s = JSON.parse(readFileSync(marker, 'utf8')) as PhantomSummary;
    if (s.kind === 'nih-phantom-v1' && s.seed === opts.seed && s.numImages === opts.numImages && s.imageSize === opts.imageSize) {
      return { summary: s, generated: false };
    }
  }
  return { summary: generateNihPhantom(opts), generated: true };
}
