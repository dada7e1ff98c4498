import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseReaderBoxes, type ReaderImage } from '../../src/boxes/readers.js';
import { assertAllClose, assertClose } from '../helpers/reference.js';

// WBF keeps float32 coordinates in [0, 1]; back in pixels that is ~1e-7 * image size.
const PX = 1e-3;

test('fuseReaderBoxes: "No finding" images stay box-free but count their readers', () => {
  const img: ReaderImage = {
    imageId: 'a',
    width: 2000,
    height: 2500,
    annotations: ['R1', 'R2', 'R3'].map((readerId) => ({ readerId, classId: 14, box: null })),
  };
  const { images, warnings } = fuseReaderBoxes([img]);
  assert.deepEqual(images[0], {
    imageId: 'a',
    width: 2000,
    height: 2500,
    boxes: [],
    scores: [],
    labels: [],
    numReaders: 3,
  });
  assert.deepEqual(warnings, []);
});

test('fuseReaderBoxes: two of three readers agree -> one box at their mean, score 2/3', () => {
  // Equal scores (1 each) make the fused box the plain mean of the two boxes; the third reader
  // said "No finding", so the 'avg' score is 2 boxes / 3 models. IoU = 90*100 / (110*100) > 0.55.
  const { images } = fuseReaderBoxes([
    {
      imageId: 'b',
      width: 1000,
      height: 800,
      annotations: [
        { readerId: 'R1', classId: 3, box: [100, 100, 200, 200] },
        { readerId: 'R2', classId: 3, box: [110, 100, 210, 200] },
        { readerId: 'R3', classId: 14, box: null },
      ],
    },
  ]);
  const f = images[0]!;
  assert.deepEqual(f.labels, [3]);
  assertAllClose(f.boxes, [[105, 100, 205, 200]], PX, 'fused box');
  assertClose(f.scores[0]!, 2 / 3, 1e-6, 'score');
});

test('fuseReaderBoxes: result does not depend on the image size (true-size normalisation)', () => {
  // IoU is invariant to scaling x by 1/W and y by 1/H, so fusing in [0, 1] coordinates must give
  // the same pixel boxes for any image at least as large as the boxes.
  const annotations = [
    { readerId: 'R1', classId: 0, box: [300, 200, 500, 400] },
    { readerId: 'R2', classId: 0, box: [320, 210, 520, 420] },
    { readerId: 'R3', classId: 0, box: [900, 900, 950, 990] },
    { readerId: 'R3', classId: 5, box: [310, 205, 505, 405] },
  ];
  const small = fuseReaderBoxes([{ imageId: 'c', width: 1000, height: 1000, annotations }]).images[0]!;
  const large = fuseReaderBoxes([{ imageId: 'c', width: 3072, height: 2540, annotations }]).images[0]!;
  assert.deepEqual(small.labels, large.labels);
  assertAllClose(small.boxes, large.boxes, PX, 'boxes');
  // different classes never fuse: class 5's box stays alone, class 0 gives 2 clusters
  assert.deepEqual([...small.labels].sort(), [0, 0, 5]);
});

test('fuseReaderBoxes: boxes leaving the image are clipped and reported with the reader', () => {
  const { images, warnings } = fuseReaderBoxes([
    {
      imageId: 'd',
      width: 100,
      height: 100,
      annotations: [
        { readerId: 'R7', classId: 2, box: [50, 60, 130, 90] },
        { readerId: 'R8', classId: 2, box: null },
      ],
    },
  ]);
  assertAllClose(images[0]!.boxes, [[50, 60, 100, 90]], PX, 'clipped');
  assert.equal(warnings.length, 2);
  assert.ok(warnings.every((w) => w.imageId === 'd'));
  assert.ok(
    warnings.some((w) => /reader R7 finding box 0: x2 > 1/.test(w.message)),
    JSON.stringify(warnings),
  );
  assert.ok(
    warnings.some((w) => /reader R8 class 2: no box, skipped/.test(w.message)),
    JSON.stringify(warnings),
  );
});

test('fuseReaderBoxes: invalid image size throws', () => {
  assert.throws(
    () => fuseReaderBoxes([{ imageId: 'e', width: 0, height: 10, annotations: [] }]),
    /image e has invalid size 0x10/,
  );
});
