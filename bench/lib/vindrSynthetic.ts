/**
 * A VinDr-CXR-sized synthetic annotation set for benchmarks: 15,000 images, 3 of 17 readers per
 * image, ~10,606 normal images, ~36,000 reader-level boxes with VinDr's class frequencies.
 * Boxes are `[x1, y1, x2, y2]` in pixels. A pure function of the rng.
 */
import type { ReaderImage } from '../../src/boxes/readers.js';
import type { Rng } from '../../src/rng.js';

/** Reader-level box counts of VinDr-CXR train by class id 0..13 (docs/ARCHITECTURE.md, "The embedded data set"). */
const CLASS_COUNTS = [7162, 279, 960, 5427, 556, 1000, 1247, 2483, 2580, 2203, 2476, 4842, 226, 4655];

function drawClass(rng: Rng): number {
  const total = CLASS_COUNTS.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let c = 0; c < CLASS_COUNTS.length; c++) {
    u -= CLASS_COUNTS[c]!;
    if (u < 0) return c;
  }
  return CLASS_COUNTS.length - 1;
}

/** Options of {@link syntheticVindr}. */
export interface SyntheticVindrOptions {
  images?: number;
  normalFraction?: number;
}

/** Per-image reader annotations (VinDr shape) and the number of reader boxes drawn. */
export function syntheticVindr(
  rng: Rng,
  opts: SyntheticVindrOptions = {},
): { images: ReaderImage[]; numBoxes: number } {
  const nImages = opts.images ?? 15000;
  const normalFraction = opts.normalFraction ?? 10606 / 15000;
  const images: ReaderImage[] = [];
  let numBoxes = 0;
  for (let i = 0; i < nImages; i++) {
    const width = 2000 + rng.int(1100),
      height = 2000 + rng.int(1100);
    const readers = rng.shuffle(Array.from({ length: 17 }, (_, r) => `R${r + 1}`)).slice(0, 3);
    const annotations: ReaderImage['annotations'] = [];
    if (rng.next() < normalFraction) {
      for (const readerId of readers) annotations.push({ readerId, classId: 14, box: null });
    } else {
      // ~3.3 true findings per abnormal image, each drawn by a reader with probability 0.8
      let nFindings = 1;
      while (nFindings < 12 && rng.next() < 0.7) nFindings++;
      const findings = Array.from({ length: nFindings }, () => {
        const w = 100 + rng.next() * 600,
          h = 100 + rng.next() * 600;
        const x = rng.next() * (width - w),
          y = rng.next() * (height - h);
        return { classId: drawClass(rng), box: [x, y, x + w, y + h] };
      });
      for (const readerId of readers) {
        let drew = 0;
        for (const f of findings) {
          if (rng.next() >= 0.8) continue;
          const [x1, y1, x2, y2] = f.box as [number, number, number, number];
          const jx = 0.06 * (x2 - x1),
            jy = 0.06 * (y2 - y1);
          annotations.push({
            readerId,
            classId: f.classId,
            box: [
              x1 + jx * rng.normal(),
              y1 + jy * rng.normal(),
              x2 + jx * rng.normal(),
              y2 + jy * rng.normal(),
            ],
          });
          drew++;
        }
        if (rng.next() < 0.1) {
          const x = rng.next() * (width - 300),
            y = rng.next() * (height - 300);
          annotations.push({
            readerId,
            classId: drawClass(rng),
            box: [x, y, x + 100 + rng.next() * 200, y + 100 + rng.next() * 200],
          });
          drew++;
        }
        if (drew === 0) annotations.push({ readerId, classId: 14, box: null });
        numBoxes += drew;
      }
    }
    images.push({ imageId: `img${String(i).padStart(5, '0')}`, width, height, annotations });
  }
  return { images, numBoxes };
}
