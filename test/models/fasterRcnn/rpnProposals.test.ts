import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { gridAnchors, MMDET_ANCHORS } from '../../../src/models/fasterRcnn/anchors.js';
import {
  RpnHead,
  rpnProposalsReference,
  topKDescending,
  type RpnOptions,
} from '../../../src/models/fasterRcnn/rpn.js';
import { makeRng } from '../../../src/rng.js';

test('topKDescending: largest first, ties (and -0 / 0) in index order, k past the end', () => {
  const v = new Float32Array([7, 1, 3, 3, -0, 0, -2, 3, -Infinity, 1e30]);
  assert.deepEqual(Array.from(topKDescending(v, 1, 8, 6)), [1, 2, 6, 0, 3, 4]);
  assert.deepEqual(Array.from(topKDescending(v, 0, 10, 100)), [9, 0, 2, 3, 7, 1, 4, 5, 6, 8]);
  assert.deepEqual(Array.from(topKDescending(v, 4, 2, 1)), [0]);
  assert.deepEqual(Array.from(topKDescending(v, 0, 0, 5)), []);
  // the comparator sort it replaces, on random float32 values with many ties and both signs
  const r = makeRng(4);
  for (let c = 0; c < 50; c++) {
    const n = 1 + r.int(600);
    const x = Float32Array.from({ length: n }, () =>
      c % 2 ? Math.round(r.normal() * 3) / 2 : r.normal() * 10 ** r.int(6),
    );
    const want = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => x[b]! - x[a]! || a - b)
      .slice(0, c * 7);
    assert.deepEqual(Array.from(topKDescending(x, 0, n, c * 7)), want, `case ${c}`);
  }
});

const OPTS: RpnOptions = {
  channels: 8,
  anchorsPerCell: 3,
  fgIouThr: 0.7,
  bgIouThr: 0.3,
  minPosIou: 0.3,
  batchSizePerImage: 256,
  positiveFraction: 0.5,
  preNmsTopNTrain: 300,
  preNmsTopNTest: 200,
  postNmsTopNTrain: 150,
  postNmsTopNTest: 100,
  nmsThr: 0.7,
  targetStds: [1, 1, 1, 1],
};

test('RPN proposals equal the plain reference (boxes, scores, order) on 60 random RPN outputs', () => {
  const r = makeRng(11);
  const head = new RpnHead(OPTS, makeRng(1));
  for (let c = 0; c < 60; c++) {
    const size = [32, 64, 96, 100][c % 4]!;
    const hw: [number, number] = [size, c % 3 === 0 ? size - 8 : size];
    const feats = [4, 8, 16, 32, 64].map(
      (s) => [Math.ceil(hw[0] / s), Math.ceil(hw[1] / s)] as [number, number],
    );
    const anchors = gridAnchors(feats, { ...MMDET_ANCHORS, scales: [c % 2 ? 2 : 8] }).anchors;
    const t = anchors.reduce((a, l) => a + l.length / 4, 0);
    const n = 1 + r.int(4);
    // quantised logits give ties, within a level and across levels; some large deltas push boxes
    // out of the image (zero size after clipping) or make them huge
    const tieStep = [0, 0.5, 0.05, 1e-7][c % 4]!;
    const logits = Float32Array.from({ length: n * t }, () => {
      const x = r.normal() * 3;
      return tieStep > 0 ? Math.round(x / tieStep) * tieStep : x;
    });
    const deltas = Float32Array.from({ length: n * t * 4 }, () =>
      r.uniform(0, 1) < 0.05 ? r.normal() * 20 : r.normal() * 0.3,
    );
    const sizes = Array.from({ length: n }, (_, i) => [hw[0] - 4 * i, hw[1]] as [number, number]);
    const opts = { ...OPTS, nmsThr: [0.7, 0.5, 0.3, 0.9][c % 4]!, postNmsTopNTrain: [150, 20, 1000][c % 3]! };
    const h = c % 5 === 0 ? new RpnHead(opts, makeRng(1)) : head;
    const used = c % 5 === 0 ? opts : OPTS;
    const out = {
      logits: tf.tensor2d(logits, [n, t]),
      deltas: tf.tensor3d(deltas, [n, t, 4]),
      countsPerLevel: anchors.map((a) => a.length / 4),
    };
    for (const training of [true, false]) {
      const got = h.proposals(out, anchors, sizes, training);
      const want = rpnProposalsReference(used, out, anchors, sizes, training);
      assert.deepEqual(got, want, `case ${c}, training ${training}`);
      assert.ok(got.every((p) => p.boxes.length > 0));
    }
    tf.dispose([out.logits, out.deltas]);
  }
});
