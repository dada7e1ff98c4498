// tensorRows: a run of consecutive indices is a Slice (no copy), anything else a GatherV2, and both
// give exactly the rows asked for; a slice shares the images' storage, which the accelerated
// backend must then never recycle or write into.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { tensorRows } from '../../src/data/tensorRows.js';

before(async () => {
  await initEngine('auto');
});

const N = 10;
const PER = 3 * 2 * 1;
const images = (): tf.Tensor4D => tf.tensor4d(Float32Array.from({ length: N * PER }, (_, i) => i), [N, 3, 2, 1]);

/** The rows' values as image indices (each image holds PER consecutive numbers from index * PER). */
function rowsOf(t: tf.Tensor): number[] {
  const v = t.dataSync();
  return Array.from({ length: t.shape[0] }, (_, r) => {
    for (let j = 0; j < PER; j++) assert.equal(v[r * PER + j], v[r * PER] + j, `row ${r} is not one image`);
    return v[r * PER] / PER;
  });
}

async function kernelsOf(f: () => tf.Tensor): Promise<string[]> {
  let out: tf.Tensor | null = null;
  const info = await tf.profile(() => {
    out = f();
    return [];
  });
  out!.dispose();
  return info.kernels.map((k) => k.name);
}

test('consecutive indices are sliced, others gathered, and each gives the rows asked for', async () => {
  const x = images();
  const cases: [number[], string][] = [
    [[3, 4, 5], 'Slice'],
    [[0], 'Slice'],
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'Slice'],
    [[7, 8, 9], 'Slice'],
    [[5, 3], 'GatherV2'],
    [[4, 4], 'GatherV2'],
    [[2, 3, 5], 'GatherV2'],
    [[9, 0], 'GatherV2'],
  ];
  for (const [idx, kernel] of cases) {
    const r = tensorRows(x, idx);
    assert.deepEqual(rowsOf(r), idx, `rows of ${JSON.stringify(idx)}`);
    assert.deepEqual(r.shape, [idx.length, 3, 2, 1]);
    r.dispose();
    assert.ok((await kernelsOf(() => tensorRows(x, idx))).includes(kernel), `${JSON.stringify(idx)} runs ${kernel}`);
  }
  x.dispose();
});

test('indices past the end are refused, not sliced short', () => {
  const x = images();
  assert.throws(() => tensorRows(x, [9, 10]), /10/);
  assert.throws(() => tensorRows(x, [-1, 0]), /-1/);
  x.dispose();
});

test("a disposed slice's storage is not recycled into the next outputs", () => {
  const x = images();
  const before = x.dataSync().slice();
  for (const idx of [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    for (let i = 0; i < 3; i++) {
      tensorRows(x, idx).dispose();
      // outputs of the slice's length would take its buffer if it were recycled
      const y = tf.tidy(() => tf.add(tf.mul(tf.ones([idx.length, 3, 2, 1]), 7), 1));
      assert.equal(y.dataSync()[0], 8);
      y.dispose();
    }
  }
  assert.deepEqual(x.dataSync(), before);
  x.dispose();
});
