import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateDetections,
  evaluateDetectionsDetailed,
  type ImageDetections,
  type ImageGroundTruth,
} from '../../../src/metrics/map/index.js';
import { makeRng } from '../../../src/rng.js';
import { assertClose } from '../../helpers/reference.js';

const MODES = ['coco', 'area', '11points'] as const;

test('hand case: one TP then one FP on a single GT', () => {
  // Det 0.9 matches the GT (IoU 1), det 0.8 misses it. Precision/recall after each det: (1, 1),
  // (1/2, 1). All-point area AP = 1 (recall reaches 1 at precision 1); COCO's 101 interpolated
  // precisions are all 1 - eps-ish; 11-point also 1.
  const dets: ImageDetections[] = [
    {
      boxes: [
        [0, 0, 10, 10],
        [50, 50, 60, 60],
      ],
      scores: [0.9, 0.8],
      labels: [0, 0],
    },
  ];
  const gts: ImageGroundTruth[] = [{ boxes: [[0, 0, 10, 10]], labels: [0] }];
  for (const mode of MODES)
    assertClose(evaluateDetections(dets, gts, { numClasses: 1, mode }).map, 1, 1e-12, mode);
  // reversed scores: the FP comes first, precision at recall 1 is 1/2 -> AP 1/2 in every mode
  const rev: ImageDetections[] = [{ ...dets[0]!, scores: [0.8, 0.9] }];
  for (const mode of MODES)
    assertClose(evaluateDetections(rev, gts, { numClasses: 1, mode }).map, 0.5, 1e-7, mode);
});

test('hand case: classes without GT are excluded from the mean (null in coco, 0 in the mmdet modes, as the peers)', () => {
  const dets: ImageDetections[] = [
    {
      boxes: [
        [0, 0, 10, 10],
        [0, 0, 10, 10],
      ],
      scores: [0.9, 0.9],
      labels: [0, 2],
    },
  ];
  const gts: ImageGroundTruth[] = [
    {
      boxes: [
        [0, 0, 10, 10],
        [20, 20, 30, 30],
      ],
      labels: [0, 1],
    },
  ];
  for (const mode of MODES) {
    const r = evaluateDetections(dets, gts, { numClasses: 3, mode });
    assert.equal(r.perClass[2], mode === 'coco' ? null : 0, mode);
    // class 0 found (AP 1), class 1 missed (AP 0): mean 0.5
    assertClose(r.perClass[0]!, 1, 1e-12, mode);
    assert.equal(r.perClass[1], 0);
    assertClose(r.map, 0.5, 1e-12, mode);
  }
  const none = evaluateDetections(dets, [{ boxes: [], labels: [] }], { numClasses: 3 });
  assert.ok(Number.isNaN(none.map));
  assert.deepEqual(none.perClass, [null, null, null]);
  // eval_map: mean_ap 0.0 when no class has GT, each class ap 0.
  const noneVoc = evaluateDetections(dets, [{ boxes: [], labels: [] }], { numClasses: 3, mode: 'area' });
  assert.equal(noneVoc.map, 0);
  assert.deepEqual(noneVoc.perClass, [0, 0, 0]);
});

test('IoU threshold is inclusive: IoU exactly 0.5 matches in every mode', () => {
  // [0,0,10,20] vs [0,0,10,10]: intersection 100, union 200
  const dets: ImageDetections[] = [{ boxes: [[0, 0, 10, 20]], scores: [0.9], labels: [0] }];
  const gts: ImageGroundTruth[] = [{ boxes: [[0, 0, 10, 10]], labels: [0] }];
  for (const mode of MODES)
    assertClose(evaluateDetections(dets, gts, { numClasses: 1, mode }).map, 1, 1e-12, mode);
  for (const mode of MODES)
    assert.equal(evaluateDetections(dets, gts, { numClasses: 1, mode, iouThr: 0.51 }).map, 0, mode);
});

test('invariants on random sets: AP in [0, 1]; perfect detections give AP ~1; order of images does not matter without ties', () => {
  const rng = makeRng(21);
  for (let trial = 0; trial < 20; trial++) {
    const nImg = 1 + rng.int(6),
      numClasses = 1 + rng.int(4);
    const gts: ImageGroundTruth[] = [],
      dets: ImageDetections[] = [],
      perfect: ImageDetections[] = [];
    for (let i = 0; i < nImg; i++) {
      const g: ImageGroundTruth = { boxes: [], labels: [] },
        d: ImageDetections = { boxes: [], scores: [], labels: [] };
      for (let k = rng.int(5); k > 0; k--) {
        const x = rng.uniform(0, 500),
          y = rng.uniform(0, 500);
        g.boxes.push([x, y, x + rng.uniform(10, 100), y + rng.uniform(10, 100)]);
        g.labels.push(rng.int(numClasses));
      }
      for (let k = rng.int(8); k > 0; k--) {
        const x = rng.uniform(0, 500),
          y = rng.uniform(0, 500);
        d.boxes.push([x, y, x + rng.uniform(10, 100), y + rng.uniform(10, 100)]);
        d.scores.push(rng.next());
        d.labels.push(rng.int(numClasses));
      }
      gts.push(g);
      dets.push(d);
      perfect.push({ boxes: g.boxes, scores: g.boxes.map(() => rng.next()), labels: g.labels });
    }
    const perm = rng.shuffle(Array.from({ length: nImg }, (_, i) => i));
    for (const mode of MODES) {
      const r = evaluateDetections(dets, gts, { numClasses, mode });
      for (const ap of r.perClass) if (ap !== null) assert.ok(ap >= 0 && ap <= 1, `${mode} ap ${ap}`);
      const p = evaluateDetectionsDetailed(perfect, gts, { numClasses, mode });
      // classes without GT: null (coco) or 0 (mmdet modes); every class with GT is found perfectly
      for (const c of p.classes) if (c.numGts > 0) assertClose(c.ap!, 1, 1e-6, `${mode} perfect`);
      const s = evaluateDetections(
        perm.map((i) => dets[i]!),
        perm.map((i) => gts[i]!),
        { numClasses, mode },
      );
      assert.deepEqual(
        s.perClass.map((v) => (v === null ? null : Math.round(v * 1e9))),
        r.perClass.map((v) => (v === null ? null : Math.round(v * 1e9))),
        mode,
      );
    }
  }
});

test('evaluateDetections rejects malformed input clearly', () => {
  const d: ImageDetections[] = [{ boxes: [[0, 0, 1, 1]], scores: [1], labels: [0] }];
  const g: ImageGroundTruth[] = [{ boxes: [[0, 0, 1, 1]], labels: [0] }];
  assert.throws(
    () => evaluateDetections(d, [], { numClasses: 1 }),
    /1 images of detections but 0 of ground truth/,
  );
  assert.throws(() => evaluateDetections(d, g, { numClasses: 0 }), /numClasses must be a positive integer/);
  assert.throws(
    () => evaluateDetections([{ ...d[0]!, labels: [3] }], g, { numClasses: 2 }),
    /label 3 is not an integer in \[0, 2\)/,
  );
  assert.throws(
    () => evaluateDetections([{ ...d[0]!, scores: [] }], g, { numClasses: 1 }),
    /1 boxes, 0 scores, 1 labels/,
  );
  assert.throws(
    () => evaluateDetections(d, [{ ...g[0]!, ignore: [true, false] }], { numClasses: 1 }),
    /ignore flags/,
  );
  assert.throws(() => evaluateDetections(d, g, { numClasses: 1, iouThr: 2 }), /iouThr must be in \[0, 1\]/);
  assert.throws(() => evaluateDetections(d, g, { numClasses: 1, maxDets: 0 }), /maxDets/);
  assert.throws(
    () => evaluateDetections(d, g, { numClasses: 1, mode: 'voc' as never }),
    /unknown mode 'voc'/,
  );
  assert.throws(
    () => evaluateDetections([{ ...d[0]!, boxes: [[0, 0, 1]] }], g, { numClasses: 1 }),
    /not 4 finite numbers/,
  );
});
