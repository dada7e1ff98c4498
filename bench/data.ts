/**
 * Data throughput: phantom generation (VinDr-format DICOM and NIH-format PNG, images/s) and loading
 * (decode + resize to 224 px + batch tensor, images/s). No peer here: Python's pydicom is not
 * installed on the build machine, so peer fields are null.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBatches } from '../src/data/images.js';
import { generateNihPhantom, generateVindrPhantom } from '../src/data/synthetic.js';
import { loadVindr } from '../src/data/vindr.js';
import type { BenchResult } from './registry.js';

const row = (name: string, value: number): BenchResult => ({
  name,
  value: Math.round(value * 10) / 10,
  unit: 'images/s',
  peer: null,
  peerValue: null,
  ratio: null,
});

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cxr-bench-'));
  try {
    const n = 40;
    let t = performance.now();
    generateVindrPhantom({ dir: join(dir, 'vindr'), numImages: n, imageSize: 224, seed: 1 });
    const genVindr = (n * 1000) / (performance.now() - t);
    t = performance.now();
    generateNihPhantom({ dir: join(dir, 'nih'), numImages: n, imageSize: 224, seed: 1 });
    const genNih = (n * 1000) / (performance.now() - t);
    const dicoms = loadVindr(join(dir, 'vindr')).images.flatMap((im) => (im.path ? [im.path] : []));
    t = performance.now();
    let loaded = 0;
    for await (const b of imageBatches(dicoms, { size: 224, batchSize: 16 })) {
      loaded += b.paths.length;
      b.images.dispose();
    }
    const load = (loaded * 1000) / (performance.now() - t);
    return [
      row('phantom generation, VinDr DICOM 224 px', genVindr),
      row('phantom generation, NIH PNG 224 px', genNih),
      row('loading DICOM -> [N,224,224,1] tensors', load),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
