import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendLine, initEngine, tensorCount, withoutLeaks } from '../src/engine.js';

test('auto picks a backend that loads and says why the faster ones did not', async () => {
  const info = await initEngine('auto');
  assert.equal(tf.getBackend(), info.backend);
  assert.ok(['tensorflow', 'cxr-cpu', 'cpu'].includes(info.backend));
  // Every path tried before the chosen one failed, and the reason line names them.
  const failed = info.attempts.filter((a) => !a.ok);
  assert.equal(info.attempts.length, failed.length + 1);
  for (const f of failed) assert.ok(info.reason.includes(f.name), `${f.name} missing from '${info.reason}'`);
  const line = backendLine(info);
  assert.match(line, /^backend: \S+ — /);
  assert.ok(line.includes(info.tfjsVersion));
});

test('an explicit cpu request gives the cpu backend and says it was requested', async () => {
  const info = await initEngine('cpu');
  assert.equal(info.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.match(info.reason, /requested by CXR_BACKEND=cpu/);
  assert.equal(tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0], 5);
});

test('an explicit tensorflow request loads tfjs-node where it is installed and throws where it is not', async () => {
  const info = await initEngine('auto');
  if (info.backend === 'tensorflow') {
    assert.equal((await initEngine('tensorflow')).backend, 'tensorflow');
  } else {
    // No silent fallback: the run would otherwise report numbers from a backend nobody asked for.
    await assert.rejects(() => initEngine('tensorflow'), /backend 'tensorflow' could not be loaded/);
  }
});

test('withoutLeaks passes clean code and catches a leaked tensor', async () => {
  await initEngine('cpu');
  await withoutLeaks('clean', () => tf.tidy(() => tf.ones([3]).add(1).sum().dataSync()));
  const before = tensorCount();
  await assert.rejects(() => withoutLeaks('leaky', () => void tf.ones([2])), /leaky: 1 tensor\(s\) leaked/);
  assert.equal(tensorCount(), before + 1);
});
