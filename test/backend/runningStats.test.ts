// BatchNorm's running statistics updated in one pass (src/backend/runningStats.ts) against the tensor
// ops it replaces, run on tfjs's own 'cpu' backend: the same bits, in place and into fresh tensors
// when the storage is shared, for batch counts where n/(n-1) rounds differently, and with specials.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ACCELERATED_BACKEND, batchNormTrain, updateRunningStats } from '../../src/backend/index.js';
import { BN_MOMENTUM, addBatchNorm, batchNorm, ParamStore } from '../../src/models/params.js';
import { mulberry32, nativeTest, randomValues } from './helpers.js';

/** The tensor ops of params.ts's batchNorm (the reference path). */
function reference(
  rm: Float32Array,
  rv: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  n: number,
): [Float32Array, Float32Array] {
  return tf.tidy(() => {
    const [m, v, bm, bv] = [rm, rv, mean, variance].map((a) => tf.tensor1d(a));
    const vu = tf.mul(bv!, n > 1 ? n / (n - 1) : 1);
    const nm = tf.add(tf.mul(m!, 1 - BN_MOMENTUM), tf.mul(bm!, BN_MOMENTUM));
    const nv = tf.add(tf.mul(v!, 1 - BN_MOMENTUM), tf.mul(vu, BN_MOMENTUM));
    return [nm.dataSync() as Float32Array, nv.dataSync() as Float32Array];
  });
}

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  assert.equal(g.length, w.length, what);
  for (let i = 0; i < w.length; i++)
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i])))
      assert.fail(`${what}: element ${i} is ${got[i]}, not ${want[i]}`);
}

nativeTest(
  'running statistics in one pass equal the tensor ops bit for bit, in place and when shared',
  async () => {
    const rng = mulberry32(17);
    const specials = [0, -0, 1e-40, 3e38, Infinity, NaN];
    let cases = 0;
    for (const c of [1, 3, 16, 64, 2048]) {
      for (const n of [1, 2, 3, 7, 64, 4096, 65536, 1 << 20]) {
        const init = [
          randomValues(rng, c),
          randomValues(rng, c).map(Math.abs),
          randomValues(rng, c),
          randomValues(rng, c).map((v) => v * v * 3),
        ];
        if (cases % 4 === 3)
          for (const a of init) a[Math.floor(rng() * c)] = specials[cases % specials.length]!;
        await tf.setBackend('cpu');
        const [wantM, wantV] = reference(init[0]!, init[1]!, init[2]!, init[3]!, n);
        assert.equal(
          updateRunningStats(
            tf.variable(tf.tensor1d(init[0]!)),
            tf.variable(tf.tensor1d(init[1]!)),
            tf.tensor1d(init[2]!),
            tf.tensor1d(init[3]!),
            n,
            BN_MOMENTUM,
          ),
          false,
          "declines on tfjs's cpu backend",
        );
        await tf.setBackend(ACCELERATED_BACKEND);
        for (const shared of [false, true]) {
          const rm = tf.variable(tf.tensor1d(init[0]!), false);
          const rv = tf.variable(tf.tensor1d(init[1]!), false);
          const alias = shared ? rm.clone() : null; // a second owner of rm's storage: it must keep the old values
          const before = tf.memory().numTensors;
          assert.equal(
            updateRunningStats(rm, rv, tf.tensor1d(init[2]!), tf.tensor1d(init[3]!), n, BN_MOMENTUM),
            true,
          );
          sameBits(rm.dataSync() as Float32Array, wantM, `mean, ${c} channels, n ${n}, shared ${shared}`);
          sameBits(rv.dataSync() as Float32Array, wantV, `variance, ${c} channels, n ${n}, shared ${shared}`);
          if (alias)
            sameBits(alias.dataSync() as Float32Array, init[0]!, 'the alias keeps the old running mean');
          assert.equal(tf.memory().numTensors, before + 2, 'only the two batch statistics made here stay');
          tf.dispose([rm, rv, ...(alias ? [alias] : [])]);
          cases++;
        }
        tf.disposeVariables();
      }
    }
    assert.equal(cases, 80);
  },
);

nativeTest(
  'a training-mode BatchNorm call moves the running statistics as the tensor ops would, from its own batch statistics',
  async () => {
    const rng = mulberry32(3);
    const x = randomValues(rng, 2 * 5 * 5 * 8).map((v) => 2 * v + 0.5);
    await tf.setBackend(ACCELERATED_BACKEND);
    const store = new ParamStore();
    addBatchNorm(store, 'bn', 8);
    let [wantM, wantV]: Float32Array[] = [new Float32Array(8), new Float32Array(8).fill(1)];
    for (let i = 0; i < 3; i++) {
      const input = tf.tensor4d(
        x.map((v) => v * (i + 1)),
        [2, 5, 5, 8],
      );
      // The batch statistics this call computes (the same kernel, so the same values).
      const s = batchNormTrain(
        input,
        store.get('bn.weight') as tf.Tensor1D,
        store.get('bn.bias') as tf.Tensor1D,
        1e-5,
      );
      const [bm, bv] = [s.mean.dataSync() as Float32Array, s.variance.dataSync() as Float32Array];
      tf.dispose([s.y, s.mean, s.variance]);
      tf.dispose(batchNorm(store, 'bn', input, true));
      await tf.setBackend('cpu');
      [wantM, wantV] = reference(wantM, wantV, bm, bv, 50);
      await tf.setBackend(ACCELERATED_BACKEND);
      input.dispose();
    }
    sameBits(store.get('bn.running_mean').dataSync() as Float32Array, wantM, 'running mean after 3 calls');
    sameBits(store.get('bn.running_var').dataSync() as Float32Array, wantV, 'running variance after 3 calls');
    store.dispose();
  },
);

nativeTest(
  'running statistics made from one shared array (as bnCalibration applies them to several models) stay independent',
  async () => {
    await tf.setBackend(ACCELERATED_BACKEND);
    const shared = Float32Array.from([0.5, -1, 2, 0.25]);
    const ones = Float32Array.from([1, 1, 1, 1]);
    // tf.tensor keeps the array it is given: both models' statistics are that one array, assigned as
    // applyBatchNormStats assigns them (the variables then hold the only reference to it).
    const [a, b] = [0, 1].map(() => {
      const [m, v] = [tf.variable(tf.zeros([4]), false), tf.variable(tf.zeros([4]), false)];
      tf.tidy(() => {
        m.assign(tf.tensor1d(shared));
        v.assign(tf.tensor1d(ones));
      });
      return [m, v] as const;
    });
    assert.ok(
      updateRunningStats(a![0], a![1], tf.tensor1d([1, 1, 1, 1]), tf.tensor1d([2, 2, 2, 2]), 64, BN_MOMENTUM),
    );
    assert.deepEqual(Array.from(shared), [0.5, -1, 2, 0.25], 'the array the statistics were made from');
    assert.deepEqual(Array.from(b![0].dataSync()), [0.5, -1, 2, 0.25], "the other model's running mean");
    assert.notDeepEqual(Array.from(a![0].dataSync()), [0.5, -1, 2, 0.25]);
    tf.disposeVariables();
  },
);
