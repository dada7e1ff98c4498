/** The smaller faults of issue #21: each is an error that names the file and says what to do. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine.js';
import { explainWriteError, removeStaleTempFiles, writeFileAtomic } from '../src/io.js';
import { ResNet } from '../src/models/resnet.js';
import { encodeSafetensors, type RawTensor } from '../src/models/safetensors.js';
import {
  loadKerasResNetWeights,
  loadTorchResNetWeights,
  readCheckpoint,
  saveCheckpoint,
  transposeRaw,
} from '../src/models/weights.js';
import { makeRng } from '../src/rng.js';
import { trainLoop } from '../src/train/loop.js';
import { tempDir } from './helpers.js';

before(async () => {
  await initEngine('cpu');
});

function torchFile(dir: string, model: ResNet, edit?: (m: Map<string, RawTensor>) => void): string {
  const tensors = new Map<string, RawTensor>();
  for (const p of model.store.all()) {
    let t: RawTensor = {
      shape: [...p.variable.shape],
      data: Float32Array.from(p.variable.dataSync() as Float32Array),
    };
    if (t.shape.length === 4) t = transposeRaw(t, [3, 2, 0, 1]);
    if (t.shape.length === 2) t = transposeRaw(t, [1, 0]);
    tensors.set(p.name, t);
  }
  edit?.(tensors);
  const file = join(dir, 'w.safetensors');
  writeFileSync(file, encodeSafetensors(tensors));
  return file;
}

test('a full disk: the error names the file and says to free space (a real ENOSPC from /dev/full)', () => {
  let err: unknown;
  try {
    writeFileSync('/dev/full', 'x');
  } catch (e) {
    err = e;
  }
  assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  const e = explainWriteError('/ck/bt.ckpt', 123, err);
  assert.match(e.message, /^disk full writing \/ck\/bt\.ckpt \(123 bytes\): free space on \/ck and rerun/);
});

test('temp files of killed writers (.tmp-PID of a dead process) are removed by the next write; a live one stays', () => {
  const dir = tempDir();
  const path = join(dir, 'bt.ckpt');
  const dead = `${path}.tmp-4194305`; // above Linux's largest pid: never alive
  const live = `${path}.tmp-${process.ppid}`;
  writeFileSync(dead, Buffer.alloc(1000));
  writeFileSync(live, 'x');
  writeFileAtomic(path, 'new');
  assert.ok(!existsSync(dead));
  assert.ok(existsSync(live));
  assert.deepEqual(removeStaleTempFiles(path), []);
});

test('a zero-byte or cut-short checkpoint is an error that names it and says to delete it', async () => {
  const dir = tempDir();
  const path = join(dir, 'bt.ckpt');
  writeFileSync(path, '');
  assert.throws(
    () => readCheckpoint(path),
    (e: Error) => e.message.includes(path) && /is empty \(0 bytes\): delete it/.test(e.message),
  );
  const task = { stateTensors: () => new Map(), loadStateTensors: () => {}, trainStep: () => 1 };
  await assert.rejects(
    trainLoop(task, {
      seed: 1,
      epochs: 1,
      stepsPerEpoch: 1,
      batchSize: 1,
      checkpointPath: path,
      log: () => {},
    }),
    /is empty \(0 bytes\): delete it/,
  );
  const v = tf.variable(tf.ones([4]));
  saveCheckpoint(path, new Map([['v', v]]), { step: 1 });
  v.dispose();
  const full = readFileSync(path);
  writeFileSync(path, full.subarray(0, full.length - 3));
  assert.throws(() => readCheckpoint(path), /is unreadable .*: delete it/);
});

test('weight paths: a directory, a non-HDF5 .h5 and weights holding NaN are refused, naming the path', async () => {
  const dir = tempDir();
  const model = new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1 }, makeRng(1));
  try {
    mkdirSync(join(dir, 'weights.h5'));
    await assert.rejects(
      loadKerasResNetWeights(model, join(dir, 'weights.h5')),
      (e: Error) =>
        e.message.includes(join(dir, 'weights.h5')) && /is a directory, not a file/.test(e.message),
    );
    const fake = join(dir, 'fake.h5');
    writeFileSync(fake, '<html>404 Not Found</html>');
    await assert.rejects(
      loadKerasResNetWeights(model, fake),
      (e: Error) => e.message.includes(fake) && /not an HDF5 file/.test(e.message),
    );
    const nan = torchFile(
      dir,
      new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 3 }, makeRng(2)),
      (m) => {
        m.get('layer2.0.conv1.weight')!.data[3] = Number.NaN;
      },
    );
    assert.throws(
      () => loadTorchResNetWeights(model, nan),
      (e: Error) => e.message.includes(nan) && /layer2\.0\.conv1\.weight holds NaN/.test(e.message),
    );
  } finally {
    model.dispose();
  }
});

test('a ResNet-50 weight file in a small (smoke/demo) backbone: "needs the paper profile\'s backbone", not a shape list', () => {
  const dir = tempDir();
  const small = new ResNet({ blocks: [1, 1, 1, 1], width: 4, inChannels: 1 }, makeRng(1));
  // Depth is what makes ResNet-50; width 2 keeps the file small.
  const deep = new ResNet({ blocks: [3, 4, 6, 3], width: 2, inChannels: 3 }, makeRng(2));
  const file = torchFile(dir, deep);
  deep.dispose();
  try {
    assert.throws(
      () => loadTorchResNetWeights(small, file),
      (e: Error) =>
        /needs the paper profile's backbone \(blocks 3-4-6-3, width 64\); this model has blocks 1-1-1-1, width 4/.test(
          e.message,
        ) && e.message.length < 600,
    );
  } finally {
    small.dispose();
  }
});
