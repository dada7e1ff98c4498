import assert from 'node:assert/strict';
import { test } from 'node:test';
import { camGridFigure, camOverlayFigure, INFERNO, localisationTable } from '../../src/plots/cam.js';
import type { CamMap } from '../../src/explain/ablationCam.js';

const cam = (w: number, h: number): CamMap => ({
  data: Float32Array.from({ length: w * h }, (_, i) => i / (w * h - 1)),
  width: w,
  height: h,
});

test('overlay: image, then the heat map in [0, 1], ground truth solid and detections dashed', () => {
  const f = camOverlayFigure(
    {
      image: new Float32Array(16),
      width: 4,
      height: 4,
      cam: cam(4, 4),
      title: 't',
      gtBoxes: [[0, 0, 2, 2]],
      predBoxes: [{ box: [1, 1, 3, 3], label: 'Nodule/Mass', score: 0.87 }],
    },
    { colorscale: 'Inferno', opacity: 0.5 },
  );
  const [img, heat] = f.data as Record<string, unknown>[];
  assert.equal(img!.colorscale, 'Greys');
  assert.equal(heat!.type, 'heatmap');
  assert.equal(heat!.zmin, 0);
  assert.equal(heat!.zmax, 1);
  assert.equal(heat!.opacity, 0.5);
  assert.deepEqual(heat!.colorscale, INFERNO);
  const shapes = f.layout.shapes as { line: { dash: string } }[];
  assert.deepEqual(
    shapes.map((s) => s.line.dash),
    ['solid', 'dash'],
  );
  assert.equal((f.layout.annotations as { text: string }[])[0]!.text, 'Nodule/Mass 0.87');
  assert.doesNotThrow(() => JSON.stringify(f));
});

test("overlay: a heat map of another size is stretched over the image's pixels", () => {
  const f = camOverlayFigure({
    image: new Float32Array(64),
    width: 8,
    height: 8,
    cam: cam(2, 2),
    title: 't',
  });
  const heat = f.data[1] as { dx: number; x0: number; z: number[][] };
  assert.equal(heat.dx, 4);
  assert.equal(heat.x0, 1.5); // cell 0 covers pixels 0..3, centre 1.5
  assert.equal(heat.z.length, 2);
  assert.equal((f.data[1] as { colorscale: string }).colorscale, 'Jet');
});

test('Fig. 5 grid: rows = images, columns = backbones, one axis pair per cell and one colour bar', () => {
  const row = (label: string) => ({
    label,
    image: new Float32Array(16),
    width: 4,
    height: 4,
    gtBoxes: [[0, 0, 2, 2]],
    cells: [{ cam: cam(4, 4), predBoxes: [{ box: [1, 1, 3, 3] }], note: 'mass 0.62' }, { cam: cam(4, 4) }],
  });
  const f = camGridFigure([row('image 1'), row('image 2')], { columns: ['Barlow Twins-CXR', 'ImageNet'] });
  const heat = f.data.filter((d) => (d as { type: string }).type === 'heatmap') as {
    xaxis: string;
    yaxis: string;
    showscale: boolean;
  }[];
  assert.equal(heat.length, 8); // image + CAM per cell
  assert.deepEqual([...new Set(heat.map((h) => h.xaxis))], ['x', 'x2', 'x3', 'x4']);
  assert.equal(heat.filter((h) => h.showscale === true).length, 1);
  const layout = f.layout as unknown as Record<string, { domain: number[]; scaleanchor?: string }>;
  assert.equal(layout.yaxis4!.scaleanchor, 'x4');
  assert.ok(layout.xaxis2!.domain[0]! > layout.xaxis!.domain[1]!); // column 2 right of column 1
  assert.ok(layout.yaxis3!.domain[1]! < layout.yaxis!.domain[0]!); // row 2 below row 1
  const shapes = f.layout.shapes as { xref: string; line: { dash: string } }[];
  assert.equal(shapes.length, 2 * 2 + 2); // a GT box per cell, a detection in column 1 of each row
  assert.deepEqual(
    shapes.filter((s) => s.line.dash === 'dash').map((s) => s.xref),
    ['x', 'x3'],
  );
  assert.throws(
    () => camGridFigure([{ ...row('bad'), cells: [] }], { columns: ['a', 'b'] }),
    /0 cells for 2 columns/,
  );
});

test('localisationTable: per layer two rows (mass, pointing), each backbone against chance, the paired difference, the image count', () => {
  const t = (m: number) => ({ mean: m, low: m - 0.1, high: m + 0.1 });
  const summary = {
    boxes: 3,
    images: 2,
    mass: t(0.5),
    massChance: 0.1,
    massOverChance: t(0.4),
    hit: t(0.6),
    hitChance: 0.2,
    hitOverChance: t(0.4),
  } as never;
  const paired = {
    n: 2,
    mass: {
      a: t(0.5),
      b: t(0.2),
      diff: { mean: 0.3, t: t(0.3), bootstrap: { low: 0.25, high: 0.35, iterations: 10 } },
    },
    hit: {
      a: t(1),
      b: t(0.5),
      diff: { mean: 0.5, t: t(0.5), bootstrap: { low: 0, high: 1, iterations: 10 } },
    },
  };
  const table = localisationTable(
    [
      {
        layer: 'layer4',
        images: 20,
        gtBoxes: 30,
        byInit: [
          { init: 'bt_imagenet', found: 3, summary },
          { init: 'imagenet', found: 0, summary: null },
        ],
        paired: paired as never,
      },
    ],
    ['BT', 'IN'],
  );
  assert.equal(table.columns.length, table.rows[0]!.length);
  assert.deepEqual(table.rows[0]!.slice(0, 6), [
    'layer4',
    'heat-map mass inside the ground-truth box',
    '0.500 (0.400, 0.600)',
    '0.100',
    '0.400 (0.300, 0.500)',
    '3 of 30',
  ]);
  assert.deepEqual(table.rows[1]!.slice(2, 10), [
    '0.600 (0.500, 0.700)',
    '0.200',
    '0.400 (0.300, 0.500)',
    '3 of 30',
    'n/a',
    'n/a',
    'n/a',
    '0 of 30',
  ]);
  assert.equal(table.rows[0]!.at(-1), 20);
});
