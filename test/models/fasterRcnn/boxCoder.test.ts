import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BBOX_XFORM_CLIP, decodeBoxes, encodeBoxes } from '../../../src/models/fasterRcnn/boxCoder.js';
import { assertAllClose, loadReference } from '../../helpers/reference.js';
import { makeRng } from '../../../src/rng.js';

const stdsOf = (w: number[]) => w.map((x) => 1 / x) as [number, number, number, number];

test('encodeBoxes reproduces torchvision BoxCoder.encode (float64 reference)', () => {
  const cases = loadReference('det_components').cases.filter(
    (c) => c.component === 'torchvision.BoxCoder.encode',
  );
  assert.ok(cases.length > 0);
  for (const c of cases) {
    c.input.reference_boxes.forEach((gt: number[][], img: number) => {
      const d = encodeBoxes(gt.flat(), c.input.proposals[img].flat(), { stds: stdsOf(c.input.weights) });
      // we return float32, so compare at float32 precision relative to |value| <= ~10
      assertAllClose(Array.from(d), c.expected.float64[img].flat(), 1e-5, `${c.name} image ${img}`);
    });
  }
});

test('decodeBoxes reproduces torchvision BoxCoder.decode, including the dw/dh clip', () => {
  const cases = loadReference('det_components').cases.filter(
    (c) => c.component === 'torchvision.BoxCoder.decode',
  );
  assert.ok(cases.length > 0);
  for (const c of cases) {
    assert.equal(c.input.bbox_xform_clip, BBOX_XFORM_CLIP);
    const refs = c.input.boxes.flat(2);
    const out = decodeBoxes(c.input.rel_codes.flat(), refs, { stds: stdsOf(c.input.weights) });
    const exp = c.expected.float64.flat(2) as number[];
    // boxes up to a few thousand pixels (clip = x62.5): relative float32 tolerance
    exp.forEach((e, i) =>
      assert.ok(
        Math.abs(out[i]! - e) <= 1e-6 * Math.max(1, Math.abs(e)) * 4,
        `${c.name}[${i}]: ${out[i]} vs ${e}`,
      ),
    );
  }
});

test('decode(encode(b)) = b, and clipping to the image', () => {
  const rng = makeRng(3);
  const boxes: number[] = [];
  const refs: number[] = [];
  for (let i = 0; i < 50; i++) {
    for (const a of [boxes, refs]) {
      const x = rng.uniform(0, 100),
        y = rng.uniform(0, 100);
      a.push(x, y, x + rng.uniform(1, 80), y + rng.uniform(1, 80));
    }
  }
  const opts = { stds: [0.1, 0.1, 0.2, 0.2] as [number, number, number, number] };
  assertAllClose(
    Array.from(decodeBoxes(encodeBoxes(boxes, refs, opts), refs, opts)),
    boxes,
    1e-3,
    'round trip',
  );
  // a zero delta on [-5, -5, 20, 30] clipped to a 25 x 10 image (H x W)
  assert.deepEqual(Array.from(decodeBoxes([0, 0, 0, 0], [-5, -5, 20, 30], opts, [25, 10])), [0, 0, 10, 25]);
});
