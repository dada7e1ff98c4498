/**
 * A training loop that any model plugs into through `TrainTask`: progress lines (step, loss, images/s,
 * ETA) at a steady rate, an optional end-of-epoch evaluation, an atomic checkpoint at the end of
 * every epoch, resume from the last checkpoint, a clear stop on a NaN/Inf loss (or a step that
 * throws) naming the step and the last good checkpoint, and a check that the tensor count does not grow.
 *
 * Reproducibility across interruptions: step s draws its randomness only from
 * `makeRng(seed).fork(s)` (data order from per-epoch forks inside the task), and a checkpoint holds
 * every tensor that carries state (parameters, BatchNorm statistics, optimizer buffers). So a run
 * resumed from a checkpoint computes the same numbers as one that never stopped (same backend).
 */
import { formatSeconds } from '../duration.js';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { tensorCount } from '../engine.js';
import { type Rng, makeRng } from '../rng.js';
import { readCheckpoint, saveCheckpoint, type RawTensor } from '../models/weights.js';

/** What the loop needs from a model + optimizer + data. */
export interface TrainTask {
  /**
   * Every tensor that must survive a restart, by unique name. Optimizer state may be absent before
   * step 0. The loop only reads them (async for tfjs optimizers, whose `getWeights` is).
   */
  stateTensors(): Map<string, tf.Tensor> | Promise<Map<string, tf.Tensor>>;
  /** Restores what `stateTensors` saved (creating optimizer buffers as needed). */
  loadStateTensors(tensors: Map<string, RawTensor>): void | Promise<void>;
  /** One optimisation step; frees its tensors and returns the loss. `rng` is this step's own stream. */
  trainStep(step: number, rng: Rng): number;
}

export interface LossPoint {
  step: number;
  epoch: number;
  loss: number;
}

/** One finished epoch: its mean training loss and whatever `endOfEpoch` measured (e.g. `valMap`). */
export interface EpochPoint {
  /** 1-based. */
  epoch: number;
  loss: number;
  [metric: string]: number;
}

/** JSON state stored in each checkpoint beside the tensors. */
export interface LoopState {
  /** Steps completed (the next step to run). */
  step: number;
  seed: number;
  losses: LossPoint[];
  /** Absent in checkpoints written before epochs were recorded. */
  epochs?: EpochPoint[];
}

export interface TrainLoopOptions {
  seed: number;
  epochs: number;
  stepsPerEpoch: number;
  /** Images per step, for the images/s figure. */
  batchSize: number;
  /** Where the checkpoint lives; resumed from when present. Omit for no checkpoints. */
  checkpointPath?: string;
  /** Seconds between progress lines (the first and last step always print). */
  logEverySeconds?: number;
  log?: (line: string) => void;
  /** Stop (as if interrupted) once this many steps in total are done; for tests and time-boxed runs. */
  stopAtStep?: number;
  /** Clock in milliseconds (injectable for tests). */
  now?: () => number;
  label?: string;
  /**
   * Runs after the last step of each epoch (1-based), before its checkpoint, so that what it
   * measures is saved and not recomputed on resume. Must be deterministic and draw no randomness
   * from the step streams.
   */
  endOfEpoch?: (epoch: number, meanLoss: number) => Record<string, number> | void;
}

export interface TrainResult {
  losses: LossPoint[];
  /** Every finished epoch, including those done before a resume. */
  epochs: EpochPoint[];
  /** Steps completed in total. */
  step: number;
  /** The step the run resumed from, or null for a fresh start. */
  resumedFrom: number | null;
  finished: boolean;
}

/** Runs (or resumes) training; see the module comment for the guarantees. */
export async function trainLoop(task: TrainTask, o: TrainLoopOptions): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const now = o.now ?? (() => performance.now());
  const total = o.epochs * o.stepsPerEpoch;
  const label = o.label ?? 'train';
  let state: LoopState = { step: 0, seed: o.seed, losses: [], epochs: [] };
  let resumedFrom: number | null = null;
  if (o.checkpointPath && existsSync(o.checkpointPath)) {
    const ck = readCheckpoint<LoopState>(o.checkpointPath);
    if (ck.state.seed !== o.seed) {
      throw new Error(
        `${label}: checkpoint ${o.checkpointPath} was made with seed ${ck.state.seed}, this run uses ${o.seed}; delete it or use that seed`,
      );
    }
    await task.loadStateTensors(ck.tensors);
    state = { ...ck.state, epochs: ck.state.epochs ?? [] };
    resumedFrom = state.step;
    log(`${label}: resumed from ${o.checkpointPath} at step ${state.step}/${total}`);
  }
  const master = makeRng(o.seed);
  const t0 = now();
  let lastLog = -Infinity;
  let stepsThisRun = 0;
  let steadyCount: number | null = null;
  const lastGood = (): string =>
    o.checkpointPath && existsSync(o.checkpointPath)
      ? `${o.checkpointPath} (step ${readCheckpoint<LoopState>(o.checkpointPath).state.step})`
      : 'none (no checkpoint written yet)';
  while (state.step < total) {
    if (o.stopAtStep !== undefined && state.step >= o.stopAtStep) break;
    const step = state.step;
    const epoch = Math.floor(step / o.stepsPerEpoch);
    let loss: number;
    try {
      loss = task.trainStep(step, master.fork(step));
    } catch (err) {
      // e.g. a task's own non-finite check: say where, and what to resume from.
      throw new Error(
        `${label}: step ${step} (epoch ${epoch + 1}) failed: ${(err as Error).message}; stopped. Last good checkpoint: ${lastGood()}`,
        { cause: err },
      );
    }
    if (!Number.isFinite(loss)) {
      throw new Error(
        `${label}: loss is ${loss} at step ${step} (epoch ${epoch + 1}); stopped. Last good checkpoint: ${lastGood()}`,
      );
    }
    state.losses.push({ step, epoch, loss });
    state.step = step + 1;
    stepsThisRun++;
    // The first step of a run may create optimizer buffers; from then on the count must hold still.
    const count = tensorCount();
    if (steadyCount === null) steadyCount = count;
    else if (count > steadyCount)
      throw new Error(`${label}: tensor count grew from ${steadyCount} to ${count} at step ${step} (a leak)`);
    const t = now();
    if (t - lastLog >= (o.logEverySeconds ?? 10) * 1000 || state.step === total || stepsThisRun === 1) {
      const elapsed = (t - t0) / 1000;
      const ips = (stepsThisRun * o.batchSize) / Math.max(elapsed, 1e-9);
      const eta = (elapsed / stepsThisRun) * (total - state.step);
      log(
        `${label}: step ${state.step}/${total} (epoch ${epoch + 1}/${o.epochs}) loss ${loss.toFixed(4)} · ${ips.toFixed(1)} img/s · ETA ${formatSeconds(eta)}`,
      );
      lastLog = t;
    }
    if (state.step % o.stepsPerEpoch === 0) {
      const e = state.step / o.stepsPerEpoch;
      const inEpoch = state.losses.filter((l) => l.epoch === e - 1);
      const meanLoss = inEpoch.reduce((a, l) => a + l.loss, 0) / Math.max(inEpoch.length, 1);
      const metrics = o.endOfEpoch?.(e, meanLoss) ?? {};
      state.epochs!.push({ ...metrics, epoch: e, loss: meanLoss });
      if (o.checkpointPath) saveCheckpoint(o.checkpointPath, await task.stateTensors(), state);
    }
    // Let other work (notebook output, timers) run between steps.
    await new Promise((r) => setImmediate(r));
  }
  return {
    losses: state.losses,
    epochs: state.epochs!,
    step: state.step,
    resumedFrom,
    finished: state.step >= total,
  };
}
