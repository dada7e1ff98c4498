import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initEngine } from '../../src/engine.js';
import { BT_PARITY, btParityCase, moments } from '../helpers/btParity.js';

interface ParityFixture {
  settings: typeof BT_PARITY;
  init_moments: { params: [number, number]; views: [number, number] };
  losses: number[];
  lrs: [number, number][];
  final_norms: Record<string, number>;
}

const fixture = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../test/fixtures/bt_training_parity.json', import.meta.url)),
    'utf8',
  ),
) as ParityFixture;

before(async () => {
  await initEngine('auto');
});

// The whole Barlow Twins step against main.py in PyTorch: forward, train-mode BatchNorm, backward,
// LARS and the schedule, 50 steps from the same weights on the same views.
test('50 Barlow Twins + LARS steps follow the PyTorch peer (main.py loss, LARS, schedule): 11 steps to float32 rounding, then the curve', () => {
  assert.deepEqual(
    fixture.settings,
    BT_PARITY,
    'the fixture was made for other settings: regenerate it (see its source)',
  );
  const c = btParityCase();
  try {
    // Same inputs as the peer's (tfjs's seeded initialisers and our augmentation are deterministic).
    const vars = [...c.model.namedVariables().values()];
    const p = vars.map(moments).reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]);
    const v = c.views
      .flat()
      .map(moments)
      .reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]);
    for (const [got, want, what] of [
      [p, fixture.init_moments.params, 'initial weights'],
      [v, fixture.init_moments.views, 'views'],
    ] as const) {
      assert.ok(
        Math.abs(got[0] - want[0]) <= 1e-6 * Math.abs(want[1]) &&
          Math.abs(got[1] - want[1]) <= 1e-6 * want[1],
        `${what} differ from the peer's inputs: ${got} vs ${want}`,
      );
    }
    const losses: number[] = [];
    for (let step = 0; step < BT_PARITY.steps; step++) {
      const [v1, v2] = c.views[step % BT_PARITY.pairs]!;
      losses.push(c.task.stepOnViews(step, v1, v2));
    }
    // It learns (so the comparison is about a moving trajectory, not a constant): the last pass over the
    // ten view pairs against the first pass over the same pairs (single steps differ by pair).
    const cycle = (k: number): number =>
      fixture.losses.slice(k * BT_PARITY.pairs, (k + 1) * BT_PARITY.pairs).reduce((x, y) => x + y, 0) /
      BT_PARITY.pairs;
    const lastCycle = BT_PARITY.steps / BT_PARITY.pairs - 1;
    assert.ok(
      cycle(lastCycle) < 0.8 * cycle(0),
      `peer loss over the ten pairs ${cycle(0)} -> ${cycle(lastCycle)}`,
    );
    // Step by step: the first EXACT_STEPS (the warm-up and the first full-lr step) agree to float32
    // rounding. After that the two float32 trajectories separate (measured: 1e-4 at step 11, a few % by
    // step 20, at both lrWeights 16 and 4; the cause is not pinned down), so the rest is compared as
    // 10-step means, which still pins the whole learning curve.
    let worst = 0;
    for (let i = 0; i < EXACT_STEPS; i++) {
      const rel = Math.abs(losses[i]! - fixture.losses[i]!) / Math.abs(fixture.losses[i]!);
      worst = Math.max(worst, rel);
      assert.ok(
        rel <= LOSS_TOL,
        `step ${i}: loss ${losses[i]} vs PyTorch ${fixture.losses[i]} (relative ${rel.toExponential(2)})`,
      );
    }
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    let worstWindow = 0;
    for (let w = 10; w < BT_PARITY.steps; w += 10) {
      const ours = mean(losses.slice(w, w + 10));
      const peer = mean(fixture.losses.slice(w, w + 10));
      worstWindow = Math.max(worstWindow, Math.abs(ours - peer) / peer);
      assert.ok(
        Math.abs(ours - peer) <= WINDOW_TOL * peer,
        `steps ${w}-${w + 9}: mean loss ${ours} vs PyTorch ${peer}`,
      );
    }
    console.log(
      `worst relative loss difference, steps 0-${EXACT_STEPS - 1}: ${worst.toExponential(2)}; worst 10-step mean after: ${worstWindow.toExponential(2)}`,
    );
  } finally {
    c.dispose();
  }
});

const EXACT_STEPS = 11;
const LOSS_TOL = 1e-5;
const WINDOW_TOL = 0.05;
