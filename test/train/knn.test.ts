import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine.js';
import { knnAccuracy } from '../../src/train/knn.js';

before(async () => {
  await initEngine('cpu');
});

test('knnAccuracy: cosine neighbours vote, hand-computed', () => {
  // Gallery: two directions labelled 0 (along x) and 1 (along y); lengths differ, cosine ignores them.
  const gallery = tf.tensor2d([
    [1, 0],
    [5, 0.1],
    [2, -0.1],
    [0, 1],
    [0.1, 3],
    [-0.1, 0.5],
  ]);
  const gl = [0, 0, 0, 1, 1, 1];
  // Queries: near x (label 0, right), near y (label 1, right), near x but labelled 1 (wrong).
  const query = tf.tensor2d([
    [10, 1],
    [0.2, 7],
    [3, 0.2],
  ]);
  const r = knnAccuracy(gallery, gl, query, [0, 1, 1], 3);
  assert.equal(r.accuracy, 2 / 3);
  assert.equal(r.majority, 2 / 3);
  // k = 6 takes every gallery item: a 3-3 tie goes to the smaller label, so every query says 0.
  assert.equal(knnAccuracy(gallery, gl, query, [0, 1, 1], 6).accuracy, 1 / 3);
  assert.throws(() => knnAccuracy(gallery, gl, query, [0, 1, 1], 7), /k must be in 1\.\.6/);
  assert.throws(() => knnAccuracy(gallery, gl.slice(1), query, [0, 1, 1], 1), /differ in length/);
  tf.dispose([gallery, query]);
});
