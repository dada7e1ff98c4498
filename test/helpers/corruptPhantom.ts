/**
 * A corrupted copy of a phantom (NIH and VinDr folders), several faults at once, for the
 * reliability suite and for running the notebooks on bad data by hand:
 *   node build/test/helpers/corruptPhantom.js <phantom root with nih/ and vindr/> <output root>
 * Each fault is listed with the kind the image check must report for it (null = must decode).
 */
import { cpSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TS } from '../../src/data/dicom.js';
import { decodePng } from '../../src/data/png.js';
import { makePng } from './pngFiles.js';

export interface PlantedFault {
  /** The file (or list file) the fault is in; the issue names it. */
  file: string;
  /** The kind the check must report, or null for a file that must decode (odd bit depths). */
  kind: string | null;
  /** The image it concerns. */
  id: string;
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split(/\r?\n/).filter(Boolean);
}

/** Copies `src` (holding nih/ and vindr/) to `dst` and plants the faults; returns them. */
export function corruptPhantom(src: string, dst: string): PlantedFault[] {
  rmSync(dst, { recursive: true, force: true });
  cpSync(src, dst, { recursive: true });
  const nih = join(dst, 'nih');
  const vindr = join(dst, 'vindr');
  const img = (id: string): string => join(nih, 'images', id);
  const trainVal = lines(join(nih, 'train_val_list.txt'));
  const test = lines(join(nih, 'test_list.txt'));
  const faults: PlantedFault[] = [];
  const [t0, t1, t2, t3, t4, t5, t6] = trainVal;
  const [e0, e1, e2] = test;
  // Undecodable PNGs, in both lists.
  const bytes = readFileSync(img(t0!));
  writeFileSync(img(t0!), bytes.subarray(0, Math.floor(bytes.length / 2)));
  faults.push({ file: img(t0!), kind: 'truncated-image', id: t0! });
  writeFileSync(img(e0!), '');
  faults.push({ file: img(e0!), kind: 'empty-image', id: e0! });
  writeFileSync(img(t1!), '<html><body>502 Bad Gateway</body></html>\n');
  faults.push({ file: img(t1!), kind: 'not-an-image', id: t1! });
  // Odd bit depths and colour types that must decode to the same film (to their precision).
  const reencode = (id: string, f: (px: Uint8Array, w: number, h: number) => Buffer): void => {
    const g = decodePng(readFileSync(img(id)));
    writeFileSync(img(id), f(g.pixels as Uint8Array, g.width, g.height));
    faults.push({ file: img(id), kind: null, id });
  };
  reencode(t2!, (px, w, h) =>
    makePng({ width: w, height: h, colorType: 0, depth: 4, samples: [...px].map((v) => [v >> 4]) }),
  );
  reencode(e1!, (px, w, h) =>
    makePng({
      width: w,
      height: h,
      colorType: 0,
      depth: 2,
      samples: [...px].map((v) => [v >> 6]),
      interlace: true,
    }),
  );
  reencode(t3!, (px, w, h) =>
    makePng({
      width: w,
      height: h,
      colorType: 2,
      depth: 16,
      samples: [...px].map((v) => [v * 257, v * 257, v * 257]),
      filters: [1, 2, 3, 4],
    }),
  );
  reencode(t4!, (px, w, h) =>
    makePng({
      width: w,
      height: h,
      colorType: 3,
      depth: 4,
      samples: [...px].map((v) => [v >> 4]),
      palette: Array.from({ length: 16 }, (_, k) => [k * 17, k * 17, k * 17] as [number, number, number]),
    }),
  );
  // Split overlap: a train_val image also in test_list.
  writeFileSync(join(nih, 'test_list.txt'), `${[...test, t5!].join('\n')}\n`);
  faults.push({ file: join(nih, 'train_val_list.txt'), kind: 'split-overlap', id: t5! });
  // A file whose name differs from the CSV's only in case.
  renameSync(img(t6!), img(t6!.toUpperCase()));
  faults.push({ file: img(t6!.toUpperCase()), kind: 'name-case-mismatch', id: t6! });
  void e2;
  // DICOMs: truncated, RLE (unsupported transfer syntax), no pixel data, missing.
  const dicoms = readdirSync(join(vindr, 'train'))
    .filter((n) => n.endsWith('.dicom'))
    .sort();
  const dcm = (k: number): string => join(vindr, 'train', dicoms[k]!);
  const id = (k: number): string => dicoms[k]!.replace(/\.dicom$/, '');
  const d0 = readFileSync(dcm(0));
  writeFileSync(dcm(0), d0.subarray(0, d0.length - 200));
  faults.push({ file: dcm(0), kind: 'truncated-image', id: id(0) });
  const d1 = Buffer.from(readFileSync(dcm(1)));
  d1.write('1.2.840.10008.1.2.5', d1.indexOf(Buffer.from(`${TS.explicitLE}\0`, 'latin1')), 'latin1');
  writeFileSync(dcm(1), d1);
  faults.push({ file: dcm(1), kind: 'unsupported-transfer-syntax', id: id(1) });
  const d2 = readFileSync(dcm(2));
  const pixelTag = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
  writeFileSync(dcm(2), d2.subarray(0, d2.lastIndexOf(pixelTag)));
  faults.push({ file: dcm(2), kind: 'bad-dicom', id: id(2) });
  rmSync(dcm(3));
  faults.push({ file: join(vindr, 'train.csv'), kind: 'missing-image', id: id(3) });
  return faults;
}

// As a command (with both arguments; `node --test build/test/` also runs this file, without them).
const [srcArg, dstArg] = process.argv.slice(2);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && srcArg && dstArg) {
  for (const f of corruptPhantom(srcArg, dstArg))
    console.log(`${f.kind ?? 'decodes (odd depth)'}\t${f.id}\t${f.file}`);
}
