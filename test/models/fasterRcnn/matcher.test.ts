import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iouMatrix, matchPredictions } from '../../../src/models/fasterRcnn/matcher.js';
import { loadReference } from '../../helpers/reference.js';

test('matchPredictions reproduces torchvision Matcher (0.7/0.3 low-quality, 0.5/0.5 strict)', () => {
  const cases = loadReference('det_components').cases.filter((c) => c.component === 'torchvision.Matcher');
  assert.ok(cases.length > 0);
  for (const c of cases) {
    const [m, n] = c.input.shape;
    const iou = c.input.match_quality_matrix_gt_by_pred.flat();
    const settings = {
      high0: { high: 0.7, low: 0.3, allowLowQualityMatches: true },
      strict: { high: 0.5, low: 0.5, allowLowQualityMatches: false },
    };
    const run = (o: typeof settings.high0) => () => Array.from(matchPredictions(iou, m, n, o));
    const lq = c.expected['high0.7_low0.3_allow_low_quality'];
    const st = c.expected['high0.5_low0.5_strict'];
    if (lq.error) {
      assert.throws(run(settings.high0), c.name);
      assert.throws(run(settings.strict), c.name);
      continue;
    }
    assert.deepEqual(run(settings.high0)(), lq.matches, `${c.name} low quality`);
    assert.deepEqual(run(settings.strict)(), st.matches, `${c.name} strict`);
  }
});

test('lowQualityMinIou (MMDetection min_pos_iou) skips ground truths whose best IoU is too low', () => {
  // gt 0 best IoU 0.2 < 0.3: no rescue (torchvision would rescue pred 0); gt 1 best 0.5: rescued.
  const iou = [0.2, 0.1, 0.0, 0.0, 0.0, 0.5];
  assert.deepEqual(
    Array.from(
      matchPredictions(iou, 2, 3, {
        high: 0.7,
        low: 0.3,
        allowLowQualityMatches: true,
        lowQualityMinIou: 0.3,
      }),
    ),
    [-1, -1, 1],
  );
  assert.deepEqual(
    Array.from(matchPredictions(iou, 2, 3, { high: 0.7, low: 0.3, allowLowQualityMatches: true })),
    [0, -1, 1],
  );
});

test('iouMatrix: gt-by-prediction, identical boxes 1, disjoint 0, half overlap 1/3', () => {
  // [0,0,2,2] vs [1,0,3,2]: intersection 2, union 6
  const m = iouMatrix([0, 0, 2, 2], [0, 0, 2, 2, 1, 0, 3, 2, 5, 5, 6, 6]);
  assert.deepEqual(
    Array.from(m).map((v) => +v.toFixed(6)),
    [1, 0.333333, 0],
  );
});
