/**
 * The doc-comment examples of the pure entry points run as written, and give what their comments say.
 * (The examples of pretrainBarlowTwins, runDetection, runLinearEvaluation and camImages are the
 * notebooks' own calls, which the smoke run executes.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as cxr from '../../src/index.js';
import { docExample, runCode } from '../helpers/cells.js';

const scope = Object.fromEntries(Object.entries(cxr).filter(([name]) => /^[A-Za-z_]\w*$/.test(name)));

test('weightedBoxesFusion example: two of three readers fuse to the mean corners with score 2/3', async () => {
  const { fused } = await runCode(docExample('src/boxes/wbf.ts', 'weightedBoxesFusion'), scope, ['fused']);
  const r = fused as cxr.WbfResult;
  assert.equal(r.boxes.length, 1);
  r.boxes[0]!.forEach((v, k) =>
    assert.ok(Math.abs(v - [0.11, 0.1, 0.31, 0.29][k]!) < 1e-6, `corner ${k}: ${v}`),
  );
  assert.ok(Math.abs(r.scores[0]! - 2 / 3) < 1e-6);
  assert.deepEqual(r.labels, [8]);
});

test('evaluateDetections example: the true positive ranked first gives mAP 1', async () => {
  const { map } = await runCode(docExample('src/metrics/map/index.ts', 'evaluateDetections'), scope, ['map']);
  // The mean of COCO's 101 interpolated precisions, each 1, summed in floating point.
  assert.ok(Math.abs((map as number) - 1) < 1e-12, `map ${String(map)}`);
});

test('checkClose example runs, and checkClose throws when the values disagree', async () => {
  await runCode(docExample('src/check.ts', 'checkClose'), scope, []);
  assert.throws(() => cxr.checkClose('AUC', 0.7, 0.75), /AUC: element 0 is 0.7 \(ours\) but 0.75/);
  assert.throws(
    () => cxr.checkClose('boxes', [[0, 0, 1, 1]], [[0, 0, 1]]),
    /ours has 4 values, the library 3/,
  );
});
