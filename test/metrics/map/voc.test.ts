import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateDetectionsDetailed,
  type ImageDetections,
  type ImageGroundTruth,
} from '../../../src/metrics/map/index.js';
import { assertAllClose, assertClose, loadReference } from '../../helpers/reference.js';

// ap.json notes: mmdet's AP values, recall and precision are float32.
const TOL = 1e-6;
const ref = loadReference('ap');
// Edge cases made by the transcribed eval_map (peers/edge_cases.py), checked against ap.json first.
const edges = loadReference('ap_edges');

/** mmdet inputs (detections[img][cls] = [x1, y1, x2, y2, score][], ignored GTs apart) -> our API. */
function toApi(input: any): { dets: ImageDetections[]; gts: ImageGroundTruth[] } {
  const dets = input.detections.map((perClass: number[][][]) => {
    const d: ImageDetections = { boxes: [], scores: [], labels: [] };
    perClass.forEach((list, cls) =>
      list.forEach((r) => {
        d.boxes.push(r.slice(0, 4));
        d.scores.push(r[4]!);
        d.labels.push(cls);
      }),
    );
    return d;
  });
  const gts = input.annotations.map((a: any) => ({
    boxes: [...a.bboxes, ...(a.bboxes_ignore ?? [])],
    labels: [...a.labels, ...(a.labels_ignore ?? [])],
    ignore: [...a.labels.map(() => false), ...(a.labels_ignore ?? []).map(() => true)],
  }));
  return { dets, gts };
}

for (const mode of ['area', '11points'] as const) {
  test(`'${mode}' mode reproduces MMDetection v3.3.0 eval_map on every reference case`, () => {
    assert.ok(ref.cases.length >= 10 && edges.cases.length >= 2);
    for (const c of [...ref.cases, ...edges.cases]) {
      const { dets, gts } = toApi(c.input);
      const exp = c.expected[mode];
      const got = evaluateDetectionsDetailed(dets, gts, {
        numClasses: c.input.num_classes,
        mode,
        iouThr: c.input.iou_thr,
        legacyCoordinate: c.input.use_legacy_coordinate,
      });
      // Also when no class has GT (only ignored GT, or none): mmdet's mean_ap is then 0.0.
      assertClose(got.map, exp.mean_ap, TOL, `${c.name} mean_ap`);
      exp.per_class.forEach((p: any, k: number) => {
        const mine = got.classes[k]!;
        const what = `${c.name} class ${k}`;
        assert.equal(mine.numGts, p.num_gts, `${what} num_gts`);
        assert.equal(mine.numDets, p.num_dets, `${what} num_dets`);
        // A class without GT (or with only ignored GT): ap 0, left out of the mean, as eval_map.
        assertClose(got.perClass[k]!, p.ap, TOL, `${what} ap`);
        assertAllClose(mine.recall, p.recall, TOL, `${what} recall`);
        assertAllClose(mine.precision, p.precision, TOL, `${what} precision`);
      });
    }
  });
}
