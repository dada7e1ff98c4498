import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine, tensorCount } from '../../src/engine.js';
import { makeRng } from '../../src/rng.js';
import { BarlowTwins, barlowTwinsLoss } from '../../src/models/barlowTwins.js';
import { barlowTwinsGradients, microBatchRanges } from '../../src/models/microBatchBt.js';
import { ResNet } from '../../src/models/resnet.js';

before(async () => {
  await initEngine('cpu');
});

function model(seed: number): BarlowTwins {
  const rng = makeRng(seed);
  return new BarlowTwins(
    new ResNet({ blocks: [1, 1, 1, 1], width: 2, inChannels: 1 }, rng),
    [16, 16],
    rng,
    0.02,
  );
}

function views(seed: number, n: number): [tf.Tensor4D, tf.Tensor4D] {
  return [
    tf.randomUniform([n, 32, 32, 1], 0, 1, 'float32', seed),
    tf.randomUniform([n, 32, 32, 1], 0, 1, 'float32', seed + 1),
  ];
}

/** The reference: one tape over backbone (per micro-batch, as given) + projector + loss. */
function reference(
  bt: BarlowTwins,
  y1: tf.Tensor4D,
  y2: tf.Tensor4D,
  ranges: Array<[number, number]>,
  training: boolean,
) {
  const named = bt.trainable();
  const byTf = new Map([...named].map(([n, v]) => [v.name, n]));
  const { value, grads } = tf.variableGrads(() => {
    const feats = [y1, y2].map(
      (y) =>
        tf.concat(
          ranges.map(
            ([s, e]) =>
              bt.backbone.forward(tf.slice(y, [s, 0, 0, 0], [e - s, -1, -1, -1]), {
                training,
                updateStats: false,
              }).pooled,
          ),
          0,
        ) as tf.Tensor2D,
    );
    return barlowTwinsLoss(
      bt.projector.forward(feats[0]!, true),
      bt.projector.forward(feats[1]!, true),
      bt.lambda,
    );
  }, [...named.values()]);
  const out = new Map<string, Float32Array>();
  for (const [tfName, g] of Object.entries(grads)) out.set(byTf.get(tfName)!, g.dataSync() as Float32Array);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

function assertSame(
  got: { loss: number; grads: Map<string, tf.Tensor> },
  want: { loss: number; grads: Map<string, Float32Array> },
  what: string,
) {
  assert.ok(
    Math.abs(got.loss - want.loss) <= 1e-5 * Math.max(1, Math.abs(want.loss)),
    `${what}: loss ${got.loss} vs ${want.loss}`,
  );
  assert.deepEqual(
    [...got.grads.keys()].sort(),
    [...want.grads.keys()].sort(),
    `${what}: the same parameters get gradients`,
  );
  for (const [name, g] of got.grads) {
    const a = g.dataSync();
    const b = want.grads.get(name)!;
    const scale = Math.max(1e-6, ...Array.from(b, Math.abs));
    for (let i = 0; i < a.length; i++)
      assert.ok(Math.abs(a[i]! - b[i]!) <= 2e-4 * scale, `${what}: ${name}[${i}] ${a[i]} vs ${b[i]}`);
  }
}

test('microBatchRanges covers 0..n in order with at most `size` per range', () => {
  assert.deepEqual(microBatchRanges(7, 3), [
    [0, 3],
    [3, 6],
    [6, 7],
  ]);
  assert.deepEqual(microBatchRanges(6, 6), [[0, 6]]);
  assert.deepEqual(microBatchRanges(2, 5), [[0, 2]]);
  assert.throws(() => microBatchRanges(4, 0), /positive integer/);
});

test('with backbone BatchNorm in eval mode, micro-batched gradients equal the whole-batch computation', () => {
  const bt = model(3);
  const [y1, y2] = views(11, 8);
  const want = reference(bt, y1, y2, [[0, 8]], false);
  const before = tensorCount();
  const got = barlowTwinsGradients(bt, y1, y2, { microBatch: 3, backboneTraining: false });
  assertSame(got, want, 'eval-mode BN, micro-batches of 3');
  tf.dispose([...got.grads.values()]);
  assert.equal(tensorCount(), before, 'no tensor leaks');
  tf.dispose([y1, y2]);
  bt.dispose();
});

test('in training mode, one micro-batch equals the whole-batch Barlow Twins step, and several equal per-micro-batch BatchNorm exactly', () => {
  const bt = model(5);
  const [y1, y2] = views(21, 8);
  assertSame(
    barlowTwinsGradients(bt, y1, y2, { microBatch: 8 }),
    reference(bt, y1, y2, [[0, 8]], true),
    'one micro-batch',
  );
  const ranges = microBatchRanges(8, 4);
  const split = reference(bt, y1, y2, ranges, true);
  const got = barlowTwinsGradients(bt, y1, y2, { microBatch: 4 });
  assertSame(got, split, 'micro-batches of 4 vs one tape over the same micro-batches');
  // Micro-batch statistics do change the backbone's gradients (so the test above is not vacuous) ...
  const whole = reference(bt, y1, y2, [[0, 8]], true);
  const name = 'layer1.0.conv1.weight';
  const diff = Math.max(
    ...Array.from(got.grads.get(name)!.dataSync(), (v, i) => Math.abs(v - whole.grads.get(name)![i]!)),
  );
  assert.ok(diff > 1e-6, `micro-batch BN statistics differ from whole-batch ones (max |Δgrad| ${diff})`);
  tf.dispose([...got.grads.values(), y1, y2]);
  bt.dispose();
});

test('the backbone running statistics move once per micro-batch of each view, in pass 2 only', () => {
  const [bt, twin] = [model(7), model(7)];
  const [y1, y2] = views(31, 6);
  const got = barlowTwinsGradients(bt, y1, y2, { microBatch: 2 });
  // The twin moves its statistics by the same forwards, in the same order: view 1's micro-batches, then view 2's.
  for (const y of [y1, y2])
    for (const [s, e] of microBatchRanges(6, 2)) {
      tf.dispose(
        twin.backbone.forward(tf.slice(y, [s, 0, 0, 0], [e - s, -1, -1, -1]), {
          training: true,
        }) as unknown as tf.Tensor[],
      );
    }
  for (const name of ['bn1.running_mean', 'bn1.running_var', 'layer4.0.bn3.running_var']) {
    const [a, b] = [bt.backbone.store.get(name).dataSync(), twin.backbone.store.get(name).dataSync()];
    assert.ok(
      a.some((v) => v !== 0 && v !== 1),
      `${name} moved`,
    );
    a.forEach((v, i) =>
      assert.ok(Math.abs(v - b[i]!) <= 1e-6 * Math.max(1, Math.abs(b[i]!)), `${name}[${i}] ${v} vs ${b[i]}`),
    );
  }
  tf.dispose([...got.grads.values(), y1, y2]);
  bt.dispose();
  twin.dispose();
});
