import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeLungs, drawAnatomy, sampleAnatomy } from '../../src/data/phantom/anatomy.js';
import { makeCanvas } from '../../src/data/phantom/canvas.js';
import { drawLesions, type FindingKind } from '../../src/data/phantom/findings.js';
import { posePoint, poseBox, samplePose, warpCanvas, type Pose } from '../../src/data/phantom/positioning.js';
import { renderFilm } from '../../src/data/phantom/render.js';
import { makeRng } from '../../src/rng.js';

test('posePoint: hand-computed shift, magnification and a quarter turn about the centre', () => {
  // 100 × 50 film, centre (50, 25). Shift only.
  assert.deepEqual(posePoint({ dx: 0.1, dy: -0.2, scale: 1, angle: 0 }, 100, 50, 30, 20), [40, 10]);
  // Magnification 2: (30, 20) is (−20, −5) from the centre → (−40, −10) → (10, 15).
  assert.deepEqual(posePoint({ dx: 0, dy: 0, scale: 2, angle: 0 }, 100, 50, 30, 20), [10, 15]);
  // +90°: (u, v) → (−v, u): (−20, −5) → (5, −20) → (55, 5).
  const [x, y] = posePoint({ dx: 0, dy: 0, scale: 1, angle: Math.PI / 2 }, 100, 50, 30, 20);
  assert.ok(Math.abs(x - 55) < 1e-9 && Math.abs(y - 5) < 1e-9, `${x}, ${y}`);
});

test('warpCanvas moves a dot to where posePoint sends it', () => {
  const W = 64;
  const H = 48;
  const pose: Pose = { dx: 0.05, dy: -0.04, scale: 1.1, angle: 0.06 };
  const c = makeCanvas(W, H);
  c.data[20 * W + 24] = 1; // pixel (24, 20): centre (24.5, 20.5)
  warpCanvas(c, pose);
  let sx = 0;
  let sy = 0;
  let s = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const v = c.data[y * W + x]!;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
      s += v;
    }
  const [ex, ey] = posePoint(pose, W, H, 24.5, 20.5);
  // Bilinear resampling keeps a dot's centroid within a fraction of a pixel.
  assert.ok(s > 0.5, `mass ${s}`);
  assert.ok(Math.abs(sx / s - ex) < 0.35 && Math.abs(sy / s - ey) < 0.35, `${sx / s}, ${sy / s} vs ${ex}, ${ey}`);
});

/** Share of a lesion's drawn |attenuation| on pixels whose square touches `box` widened by `pad` pixels. */
function shareInside(diff: Float32Array, W: number, H: number, box: readonly number[], pad: number): number {
  let inside = 0;
  let all = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const v = Math.abs(diff[y * W + x]!);
      all += v;
      if (x + 1 >= box[0]! - pad && x <= box[2]! + pad && y + 1 >= box[1]! - pad && y <= box[3]! + pad) inside += v;
    }
  return all > 0 ? inside / all : NaN;
}

// The boxes are computed from the drawn anatomy, then mapped through the film's positioning: after the
// warp, what the lesion added to the film must lie inside its mapped box as it did before. Compact lesions
// lie wholly inside; reticulation (ILD, fibrosis) is boxed at 85 % of its extent and fibrosis's streaks run
// to the hilum outside its box, as a reader boxes the net, so for them the share must only be kept.
test('after positioning, each lesion box still encloses what the lesion drew (strong poses, both views)', () => {
  const W = 96;
  const H = 112;
  const compact: FindingKind[] = ['nodule', 'mass', 'consolidation', 'infiltration', 'atelectasis', 'thickening', 'other', 'calcification'];
  const kinds: FindingKind[] = [...compact, 'fibrosis', 'ild'];
  const poses: Pose[] = [
    { dx: 0.08, dy: -0.09, scale: 1.12, angle: 0.07 },
    { dx: -0.1, dy: 0.07, scale: 0.88, angle: -0.08 },
  ];
  let checked = 0;
  for (const [i, kind] of kinds.entries()) {
    for (const [j, pose] of poses.entries()) {
      const rng = makeRng(100 + i).fork(`pose${j}`);
      const a = sampleAnatomy(rng.fork('anatomy'), j === 0 ? 'PA' : 'AP');
      const chest = drawAnatomy(W, H, a, { heartScale: 1, knobScale: 1, emphysema: false }, rng.fork('draw'));
      composeLungs(chest, null);
      const before = chest.canvas.data.slice();
      const found = drawLesions(chest, [kind], rng.fork('lesion'));
      assert.equal(found.length, 1, kind);
      const diff = makeCanvas(W, H);
      for (let k = 0; k < before.length; k++) diff.data[k] = chest.canvas.data[k]! - before[k]!;
      const drawn = shareInside(diff.data, W, H, found[0]!.box, 0);
      warpCanvas(diff, pose);
      // Bilinear resampling spreads an edge by up to one pixel.
      const placed = shareInside(diff.data, W, H, poseBox(pose, W, H, found[0]!.box), 1);
      if (compact.includes(kind)) assert.equal(placed, 1, `${kind}, pose ${j}: ${placed} of the lesion inside its box`);
      assert.ok(placed >= drawn - 1e-6, `${kind}, pose ${j}: ${placed} inside after positioning, ${drawn} before`);
      if (kind === 'ild') assert.ok(placed > 0.8, `ild: ${placed}`);
      checked++;
    }
  }
  assert.equal(checked, kinds.length * poses.length);
});

test('renderFilm: the view is honoured, boxes stay on the film, and positioning varies between films', () => {
  const rng = makeRng(3);
  const centroids: number[] = [];
  for (let i = 0; i < 12; i++) {
    const film = renderFilm(64, 64, ['nodule', 'cardiomegaly'], 'nih', rng.fork(i), i % 2 ? 'AP' : 'PA');
    assert.equal(film.view, i % 2 ? 'AP' : 'PA');
    for (const f of film.findings) {
      assert.ok(f.box[0] >= 0 && f.box[1] >= 0 && f.box[2] <= 64 && f.box[3] <= 64 && f.box[0] < f.box[2] && f.box[1] < f.box[3]);
    }
    const heart = film.findings.find((f) => f.kind === 'cardiomegaly')!;
    centroids.push((heart.box[1] + heart.box[3]) / 2);
  }
  const mean = centroids.reduce((s, v) => s + v, 0) / centroids.length;
  const sd = Math.sqrt(centroids.reduce((s, v) => s + (v - mean) ** 2, 0) / centroids.length);
  // Vertical centring sd 3 % of 64 px plus inspiration and heart-size spread: well over a pixel.
  assert.ok(sd > 1, `heart box centre height sd ${sd.toFixed(2)} px`);
});

test('samplePose stays within its clipped ranges; AP films spread twice as far', () => {
  const rng = makeRng(9);
  let apMax = 0;
  let paMax = 0;
  for (let i = 0; i < 2000; i++) {
    const pa = samplePose(rng, 'PA');
    const ap = samplePose(rng, 'AP');
    for (const p of [pa, ap]) {
      assert.ok(p.scale >= 1 - 0.125 - 1e-12 && p.scale <= 1 + 0.125 + 1e-12);
      assert.ok(Math.abs(p.angle) <= (2 * 2.5 * 1.5 * Math.PI) / 180 + 1e-12);
    }
    paMax = Math.max(paMax, Math.abs(pa.dx));
    apMax = Math.max(apMax, Math.abs(ap.dx));
  }
  assert.ok(paMax <= 0.0625 + 1e-12 && apMax <= 0.125 + 1e-12 && apMax > paMax * 1.5, `${paMax} ${apMax}`);
});
