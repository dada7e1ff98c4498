/**
 * The output-buffer pool (src/backend/kernelUtil.ts): storage of disposed tensors is reused by
 * later outputs of the same length, and never while anything else can still see it.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { ACCELERATED_BACKEND, pooledBufferBytes, setBufferPool } from '../../src/backend/index.js';
import { mulberry32, nativeTest, randomValues } from './helpers.js';

/** The tensor's storage as the backend holds it (not through readSync, which marks it as read out). */
function storage(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as { data: { get(id: object): { values: Float32Array } } };
  return backend.data.get(t.dataId).values;
}

async function onAccelerated(fn: () => void): Promise<void> {
  const before = tf.getBackend() as string | undefined;
  await tf.setBackend(ACCELERATED_BACKEND);
  const was = setBufferPool(true);
  try {
    fn();
  } finally {
    setBufferPool(was);
    if (before) await tf.setBackend(before);
  }
}

// 64 × 64 × 16 floats: far above the 8 KiB below which outputs are not pooled.
const SHAPE = [4, 32, 32, 16];

nativeTest('a disposed output’s storage is reused by the next output of the same length', () =>
  onAccelerated(() => {
    const x = tf.tensor4d(
      randomValues(mulberry32(1), 4 * 32 * 32 * 16),
      SHAPE as [number, number, number, number],
    );
    const a = tf.relu(x);
    const buf = storage(a);
    const held = pooledBufferBytes();
    a.dispose();
    assert.equal(pooledBufferBytes(), held + buf.byteLength, 'the freed storage went to the pool');
    const b = tf.neg(x);
    assert.equal(storage(b), buf, 'the next output of that length got the same storage');
    // The reused storage holds the new values, element by element.
    const xv = x.dataSync();
    const bv = b.dataSync();
    for (let i = 0; i < xv.length; i++) assert.equal(bv[i], -xv[i]!);
    tf.dispose([x, b]);
  }),
);

nativeTest('storage read out by dataSync() is never reused, and keeps its values', () =>
  onAccelerated(() => {
    const x = tf.tensor4d(
      randomValues(mulberry32(2), 4 * 32 * 32 * 16),
      SHAPE as [number, number, number, number],
    );
    const a = tf.relu(x);
    const seen = a.dataSync();
    const copy = Float32Array.from(seen);
    a.dispose();
    const others = Array.from({ length: 4 }, () => tf.neg(x));
    for (const o of others) assert.notEqual(storage(o), seen);
    assert.deepEqual(seen, copy);
    tf.dispose([x, ...others]);
  }),
);

nativeTest('an array passed to tf.tensor is never reused', () =>
  onAccelerated(() => {
    const mine = randomValues(mulberry32(3), 4 * 32 * 32 * 16);
    const copy = Float32Array.from(mine);
    const t = tf.tensor4d(mine, SHAPE as [number, number, number, number]);
    t.dispose();
    const x = tf.tensor4d(copy, SHAPE as [number, number, number, number]);
    const others = Array.from({ length: 4 }, () => tf.neg(x));
    assert.deepEqual(mine, copy);
    tf.dispose([x, ...others]);
  }),
);

nativeTest('views made by reference kernels keep their values after the viewed tensor is disposed', () =>
  onAccelerated(() => {
    const rng = mulberry32(4);
    const x = tf.tensor4d(randomValues(rng, 4 * 32 * 32 * 16), SHAPE as [number, number, number, number]);
    // tfjs's Slice returns a subarray view of its input: whole (offset 0, full length) and partial.
    const a = tf.relu(x);
    const whole = tf.slice(a, [0, 0, 0, 0], SHAPE);
    const part = tf.slice(a, [0, 0, 0, 0], [2, 32, 32, 16]);
    // Unstack slices and disposes the intermediate views itself.
    const parts = tf.unstack(a, 0);
    const expect = {
      whole: Float32Array.from(storage(whole)),
      part: Float32Array.from(storage(part)),
      parts: parts.map((p) => Float32Array.from(storage(p))),
    };
    a.dispose();
    const others = Array.from({ length: 6 }, () => tf.neg(x));
    const others2 = Array.from({ length: 6 }, () => tf.sub(x, tf.scalar(1)));
    assert.deepEqual(whole.dataSync(), expect.whole);
    assert.deepEqual(part.dataSync(), expect.part);
    parts.forEach((p, i) => assert.deepEqual(p.dataSync(), expect.parts[i]));
    tf.dispose([x, whole, part, ...parts, ...others, ...others2]);
  }),
);

nativeTest('the pool empties when it would pass its limit, and turning it off empties it', () =>
  onAccelerated(() => {
    setBufferPool(true, 1);
    try {
      const x = tf.tensor4d(
        randomValues(mulberry32(5), 4 * 32 * 32 * 16),
        SHAPE as [number, number, number, number],
      );
      const ys = Array.from({ length: 8 }, () => tf.relu(x)); // 256 KiB each
      tf.dispose(ys);
      assert.ok(pooledBufferBytes() <= 2 ** 20, `pool holds ${pooledBufferBytes()} bytes, limit 1 MiB`);
      assert.ok(pooledBufferBytes() > 0);
      setBufferPool(false);
      assert.equal(pooledBufferBytes(), 0);
      const y = tf.relu(x);
      y.dispose();
      assert.equal(pooledBufferBytes(), 0, 'nothing is pooled while it is off');
      x.dispose();
    } finally {
      setBufferPool(true, { minMiB: 1024 });
    }
  }),
);

nativeTest(
  'the pool grows to the live working set: a step that frees 2 MiB keeps it all under a 1 MiB floor',
  () =>
    onAccelerated(() => {
      const x = tf.tensor4d(
        randomValues(mulberry32(6), 4 * 32 * 32 * 16),
        SHAPE as [number, number, number, number],
      );
      const run = () => {
        const ys = Array.from({ length: 8 }, () => tf.relu(x)); // 256 KiB each, 2 MiB live at once
        tf.dispose(ys);
      };
      try {
        setBufferPool(false);
        setBufferPool(true, 1); // a fixed 1 MiB limit: the pool empties on the way and keeps at most 1 MiB
        run();
        assert.ok(pooledBufferBytes() <= 2 ** 20, `fixed limit: pool holds ${pooledBufferBytes()} bytes`);
        setBufferPool(false);
        setBufferPool(true, { minMiB: 1 }); // grows with the 2.25 MiB live (x and the eight outputs)
        run();
        assert.equal(pooledBufferBytes(), 8 * 2 ** 18, 'all eight outputs pooled');
        const before = pooledBufferBytes();
        run(); // the second pass takes its eight buffers from the pool and returns them
        assert.equal(pooledBufferBytes(), before);
      } finally {
        x.dispose();
        setBufferPool(true, { minMiB: 1024 });
      }
    }),
);
