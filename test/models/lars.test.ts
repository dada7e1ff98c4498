import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine, tensorCount } from '../../src/engine.js';
import { Lars, btLearningRate } from '../../src/models/lars.js';
import { larsStepF64 } from '../helpers/larsF64.js';
import { loadReference } from '../reference.js';

type Nested = number | Nested[];
type Named = Record<string, Nested>;
interface LarsCase {
  name: string;
  input: {
    weight_decay: number;
    steps: number[];
    lr_weights: number[];
    lr_biases: number[];
    init: Named;
    grads: Named[];
  };
  expected: { params: Named[]; mu: Named[] };
}
interface ScheduleCase {
  name: string;
  input: {
    batch_size: number;
    epochs: number;
    loader_len: number;
    learning_rate_weights: number;
    learning_rate_biases: number;
    steps: number[];
  };
  expected: { lr_weights: number[]; lr_biases: number[] };
}

const flat = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x]);
function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...shapeOf(x[0]!)] : [];
}
// torch conv weights are OIHW; norms and element-wise updates do not care about layout, so the
// reference is used as flat arrays with its own shape.

before(async () => {
  await initEngine('cpu');
});

test('bt_schedule.json: warm-up + cosine learning rates equal main.py (rel 1e-15)', () => {
  const ref = loadReference<ScheduleCase>('bt_schedule.json');
  let n = 0;
  for (const c of ref.cases) {
    const o = {
      batchSize: c.input.batch_size,
      epochs: c.input.epochs,
      loaderLen: c.input.loader_len,
      lrWeights: c.input.learning_rate_weights,
      lrBiases: c.input.learning_rate_biases,
    };
    c.input.steps.forEach((step, k) => {
      const got = btLearningRate(step, o);
      for (const [g, e] of [
        [got.lrWeights, c.expected.lr_weights[k]!],
        [got.lrBiases, c.expected.lr_biases[k]!],
      ] as const) {
        assert.ok(Math.abs(g - e) <= 1e-15 * Math.abs(e), `${c.name} step ${step}: ${g} vs ${e}`);
        n++;
      }
    });
  }
  assert.ok(n > 100);
});

test('lars.json: float64 LARS equals main.py (params rel 1e-12, mu abs 1e-12·max|mu|)', () => {
  const ref = loadReference<LarsCase>('lars.json');
  for (const c of ref.cases) {
    const names = Object.keys(c.input.init);
    const p = new Map(names.map((k) => [k, Float64Array.from(flat(c.input.init[k]!))]));
    const mu = new Map(names.map((k) => [k, new Float64Array(p.get(k)!.length)]));
    c.input.steps.forEach((_, k) => {
      for (const name of names) {
        const rank = shapeOf(c.input.init[name]!).length;
        const lr = rank > 1 ? c.input.lr_weights[k]! : c.input.lr_biases[k]!;
        larsStepF64(p.get(name)!, flat(c.input.grads[k]![name]!), mu.get(name)!, rank, lr, {
          weightDecay: c.input.weight_decay,
        });
      }
      for (const name of names) {
        const ep = flat(c.expected.params[k]![name]!);
        const em = flat(c.expected.mu[k]![name]!);
        const mmax = Math.max(...em.map(Math.abs));
        ep.forEach((e, i) =>
          assert.ok(
            Math.abs(p.get(name)![i]! - e) <= 1e-12 * Math.abs(e) + 1e-300,
            `${c.name} step ${k} ${name}[${i}]`,
          ),
        );
        em.forEach((e, i) =>
          assert.ok(Math.abs(mu.get(name)![i]! - e) <= 1e-12 * mmax, `${c.name} step ${k} mu ${name}[${i}]`),
        );
      }
    });
  }
});

test('lars.json: the tensor optimizer (float32) follows the same trajectory, without leaks', () => {
  const ref = loadReference<LarsCase>('lars.json');
  for (const c of ref.cases) {
    const names = Object.keys(c.input.init);
    const vars = new Map(
      names.map((k) => [k, tf.variable(tf.tensor(flat(c.input.init[k]!), shapeOf(c.input.init[k]!)))]),
    );
    const opt = new Lars({ weightDecay: c.input.weight_decay });
    c.input.steps.forEach((_, k) => {
      const grads = Object.fromEntries(
        names.map((n) => [n, tf.tensor(flat(c.input.grads[k]![n]!), shapeOf(c.input.init[n]!))]),
      );
      if (k > 0) {
        const before = tensorCount();
        opt.applyGradients(vars, grads, c.input.lr_weights[k]!, c.input.lr_biases[k]!);
        assert.equal(tensorCount(), before, 'optimizer step leaked');
      } else {
        opt.applyGradients(vars, grads, c.input.lr_weights[k]!, c.input.lr_biases[k]!);
      }
      tf.dispose(Object.values(grads));
      for (const name of names) {
        const ep = flat(c.expected.params[k]![name]!);
        const got = vars.get(name)!.dataSync();
        const scale = Math.max(1e-30, ...ep.map(Math.abs));
        ep.forEach((e, i) =>
          assert.ok(
            Math.abs(got[i]! - e) <= 1e-6 * scale,
            `${c.name} step ${k} ${name}[${i}] ${got[i]} vs ${e}`,
          ),
        );
        const em = flat(c.expected.mu[k]![name]!);
        const gm = opt.state().get(name)!.dataSync();
        const mmax = Math.max(1e-30, ...em.map(Math.abs));
        em.forEach((e, i) =>
          assert.ok(
            Math.abs(gm[i]! - e) <= 1e-5 * mmax,
            `${c.name} step ${k} mu ${name}[${i}] ${gm[i]} vs ${e}`,
          ),
        );
      }
    });
    opt.dispose();
    for (const v of vars.values()) v.dispose();
  }
});
