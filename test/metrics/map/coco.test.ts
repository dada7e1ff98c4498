import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateDetections,
  evaluateDetectionsDetailed,
  type ImageDetections,
  type ImageGroundTruth,
} from '../../../src/metrics/map/index.js';
import { assertAllClose, assertClose, loadReference } from '../../helpers/reference.js';

// pycocotools works in float64; only summation order differs.
const TOL = 1e-12;
const ref = loadReference('coco_ap50');
// Edge cases made by the transcribed COCOeval (peers/edge_cases.py), checked against this file first.
const edges = loadReference('coco_ap50_edges');

/**
 * Reference case -> our API: images in the case's own list order (not sorted), with their COCO ids
 * in `imageIds`, which is how our API learns COCOeval's order for score ties across images.
 */
function toApi(input: any): {
  dets: ImageDetections[];
  gts: ImageGroundTruth[];
  numClasses: number;
  imageIds: number[];
} {
  const ids: number[] = [...input.image_ids];
  const pos = new Map(ids.map((id, i) => [id, i]));
  const dets: ImageDetections[] = ids.map(() => ({ boxes: [], scores: [], labels: [] }));
  const gts: (ImageGroundTruth & { ignore: boolean[] })[] = ids.map(() => ({
    boxes: [],
    labels: [],
    ignore: [],
  }));
  for (const d of input.dets) {
    const e = dets[pos.get(d.image_id)!]!;
    e.boxes.push(d.bbox_xyxy);
    e.scores.push(d.score);
    e.labels.push(d.category_id);
  }
  for (const g of input.gts) {
    const e = gts[pos.get(g.image_id)!]!;
    e.boxes.push(g.bbox_xyxy);
    e.labels.push(g.category_id);
    e.ignore.push(g.iscrowd === 1);
  }
  return { dets, gts, numClasses: Math.max(...input.category_ids) + 1, imageIds: ids };
}

test('coco mode reproduces pycocotools COCOeval AP50 on every reference case', () => {
  const cases = ref.cases.filter((c) => !c.expected_error);
  assert.ok(cases.length >= 15);
  for (const c of cases) {
    const { dets, gts, numClasses, imageIds } = toApi(c.input);
    const got = evaluateDetectionsDetailed(dets, gts, { numClasses, imageIds });
    assertClose(got.map, c.expected.ap50, TOL, `${c.name} ap50`);
    for (const pc of c.expected.per_category) {
      const k = pc.category_id;
      const mine = got.classes[k]!;
      if (pc.ap50 === -1) {
        assert.equal(got.perClass[k], null, `${c.name} cat ${k} excluded`);
        continue;
      }
      assert.equal(mine.numGts, pc.num_gt, `${c.name} cat ${k} num_gt`);
      assertClose(got.perClass[k]!, pc.ap50, TOL, `${c.name} cat ${k} ap50`);
      assertAllClose(mine.precision101, pc.precision101, TOL, `${c.name} cat ${k} precision101`);
      const lastRecall = mine.recall.length ? mine.recall[mine.recall.length - 1]! : 0;
      assertClose(lastRecall, pc.recall50, TOL, `${c.name} cat ${k} recall50`);
    }
  }
});

test('coco mode: the maxDets cut is per image and class, and raising it reproduces mmdet CocoMetric (maxDets 1000)', () => {
  const c = ref.cases.find((x) => x.name.startsWith('maxdets_cut'))!;
  const { dets, gts, numClasses } = toApi(c.input);
  assertClose(evaluateDetections(dets, gts, { numClasses }).map, c.expected.ap50, TOL, 'maxDets 100');
  assertClose(
    evaluateDetections(dets, gts, { numClasses, maxDets: 1000 }).map,
    c.expected.mmdet_cocometric.mAP_50_raw,
    TOL,
    'maxDets 1000',
  );
});

test('coco mode: no detections at all gives AP 0 where pycocotools raises', () => {
  const c = ref.cases.find((x) => x.name === 'no_detections_at_all')!;
  assert.ok(c.expected_error);
  const { dets, gts, numClasses } = toApi(c.input);
  const got = evaluateDetections(dets, gts, { numClasses });
  const withGt = new Set(c.input.gts.filter((g: any) => !g.iscrowd).map((g: any) => g.category_id));
  got.perClass.forEach((ap, k) => assert.equal(ap, withGt.has(k) ? 0 : null, `class ${k}`));
  assert.equal(got.map, 0);
});

test('coco mode: equal scores across images are taken in ascending image id, whatever the list order (COCOeval edge cases)', () => {
  assert.ok(edges.cases.length >= 2);
  for (const c of edges.cases) {
    const { dets, gts, numClasses, imageIds } = toApi(c.input);
    const got = evaluateDetectionsDetailed(dets, gts, { numClasses, imageIds });
    assertClose(got.map, c.expected.ap50, TOL, `${c.name} ap50`);
    for (const pc of c.expected.per_category)
      assertClose(got.perClass[pc.category_id] ?? -1, pc.ap50, TOL, `${c.name} cat ${pc.category_id}`);
    // Without the ids the list order decides the tie, and the answer differs: the case can tell.
    assert.notEqual(
      Math.round(evaluateDetectionsDetailed(dets, gts, { numClasses }).map * 1e9),
      Math.round(c.expected.ap50 * 1e9),
      `${c.name} without ids`,
    );
  }
  const { dets, gts } = toApi(edges.cases[0]!.input);
  assert.throws(() => evaluateDetections(dets, gts, { numClasses: 1, imageIds: [1, 1, 2] }), /unique/);
  assert.throws(
    () => evaluateDetections(dets, gts, { numClasses: 1, imageIds: [1] }),
    /1 image ids for 3 images/,
  );
});
