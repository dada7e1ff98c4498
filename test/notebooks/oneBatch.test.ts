/**
 * The notebooks' "method on one batch" sections, run here on small inputs: every cell tagged
 * `one-batch` ends in `cxr.checkClose` (step-by-step value vs library call), so a section that no
 * longer matches the library fails `npm test` as well as the notebook run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as cxr from '../../src/index.js';
import { runTaggedCells } from '../helpers/cells.js';

const smoke = cxr.makeConfig({ profile: 'smoke', notebook: 'test', env: {} });

// Three readers on a 1000 × 800 image: R1, R2 and R3 box the same nodule (class 8) with small jitter,
// R1 also boxes an effusion (class 10) nobody else saw, R4 wrote "No finding". So WBF makes two
// clusters: the nodule with score 3/4 and the effusion with score 1/4 (four readers are four models).
const wbfImage = {
  imageId: 'hand',
  width: 1000,
  height: 800,
  readers: ['R1', 'R2', 'R3', 'R4'],
  noFindingReaders: ['R4'],
  annotations: [
    { readerId: 'R1', classId: 8, box: [100, 100, 200, 220] },
    { readerId: 'R1', classId: 10, box: [600, 400, 900, 700] },
    { readerId: 'R2', classId: 8, box: [110, 95, 205, 210] },
    { readerId: 'R3', classId: 8, box: [90, 105, 195, 230] },
  ],
};

test('02: WBF by hand on one image equals weightedBoxesFusion', async () => {
  await runTaggedCells('02_wbf', { cxr, config: smoke, one: wbfImage });
});

test('02: the section fails when the library disagrees with the hand computation', async () => {
  const shifted = {
    ...cxr,
    weightedBoxesFusion: (...args: Parameters<typeof cxr.weightedBoxesFusion>) => {
      const r = cxr.weightedBoxesFusion(...args);
      return { ...r, boxes: r.boxes.map((b) => b.map((v) => v + 0.01)) };
    },
  };
  await assert.rejects(
    runTaggedCells('02_wbf', { cxr: shifted, config: smoke, one: wbfImage }),
    /fused boxes/,
  );
});
