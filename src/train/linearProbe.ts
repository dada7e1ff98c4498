/**
 * The frozen-backbone linear probe, trained on features computed once: with the backbone frozen
 * its output for an image never changes, so caching the features makes each epoch a few matrix
 * products instead of a full forward pass (at the price of no per-epoch augmentation).
 */
import * as tf from '@tensorflow/tfjs';
import { macroRocAuc } from '../metrics/auc.js';
import { bceWithLogits, LinearHead } from '../models/classifier.js';
import type { Rng } from '../rng.js';
import { warmupCosine } from './schedule.js';
import { SgdMomentum } from './sgd.js';

/** Pre-computed features with their labels. */
export interface FeatureSet {
  /** `[n * dim]` row-major features. */
  x: Float32Array;
  /** `[n * labels]` row-major 0/1 targets. */
  y: Float32Array;
  n: number;
  dim: number;
  labels: number;
}

export interface ProbeOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  momentum?: number;
  weightDecay?: number;
  rng: Rng;
  /**
   * Training features of each epoch (`[train.n * dim]`, rows in `train`'s order), e.g. from augmented
   * images; default: `train.x` every epoch.
   */
  epochFeatures?: (epoch: number) => Float32Array;
}

export interface EpochScore {
  epoch: number;
  trainLoss: number;
  valAuc: number;
  testAuc: number;
}

export interface ProbeResult {
  epochs: EpochScore[];
  /** The epoch chosen on validation AUC (1-based). */
  selectedEpoch: number;
  /** Test macro AUC at the selected epoch: the number we report. */
  testAuc: number;
  /** Best test AUC over all epochs: the authors' protocol, shown for comparison only. */
  bestTestAuc: number;
  /** Per-label test AUC at the selected epoch (null = label with one class in the test part). */
  perLabel: (number | null)[];
}

function rows(data: Float32Array, n: number, width: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * width, (i + 1) * width)));
}

/**
 * Model selection shared by the probe and end-to-end training: the epoch with the best validation
 * AUC (ties go to the earlier epoch, so the choice does not hang on float noise in later ones), its
 * test AUC and per-label AUC, and, for comparison only, the best test AUC (the authors' protocol).
 */
export function selectEpoch(epochs: EpochScore[], perLabelByEpoch: (number | null)[][]): ProbeResult {
  const best = epochs.reduce((a, b) => (b.valAuc > a.valAuc ? b : a));
  return {
    epochs,
    selectedEpoch: best.epoch,
    testAuc: best.testAuc,
    bestTestAuc: Math.max(...epochs.map((e) => e.testAuc)),
    perLabel: perLabelByEpoch[best.epoch - 1]!,
  };
}

/** Sigmoid scores `[n, labels]` of the head on a feature set. */
/**
 * A classifier's mean binary cross-entropy above this has diverged: ten times the loss of the
 * constant guess 0.5 (ln 2 per label), i.e. confidently wrong, not learning.
 */
export const DIVERGED_BCE = 10 * Math.LN2;

/** Thrown by the classifier loops when a run diverges; the caller names the run. */
export class DivergedError extends Error {
  constructor(
    readonly epoch: number,
    readonly loss: number,
  ) {
    super(
      Number.isFinite(loss)
        ? `epoch ${epoch}: mean training loss ${loss.toFixed(3)} is over ${DIVERGED_BCE.toFixed(2)} (ten times a constant 0.5 guess): the run diverged`
        : `epoch ${epoch}: mean training loss is ${loss}: the run diverged`,
    );
  }
}

/** The divergence guard every classifier epoch passes before it is scored. */
export function checkEpochLoss(epoch: number, loss: number): void {
  if (!Number.isFinite(loss) || loss > DIVERGED_BCE) throw new DivergedError(epoch, loss);
}

export function probeScores(head: LinearHead, set: FeatureSet): number[][] {
  // dataSync outside the tidy: tidy walks what it returns, a Float32Array element by element.
  const t = tf.tidy(() => tf.sigmoid(head.apply(tf.tensor2d(set.x, [set.n, set.dim]))));
  try {
    return rows(t.dataSync() as Float32Array, set.n, set.labels);
  } finally {
    t.dispose();
  }
}

/**
 * Trains a linear head with SGD (momentum, weight decay, cosine schedule) on `train`, scores macro
 * ROC AUC on `val` and `test` after every epoch, and selects the epoch on `val`.
 */
export function fitLinearProbe(
  train: FeatureSet,
  val: FeatureSet,
  test: FeatureSet,
  opts: ProbeOptions,
): ProbeResult {
  if (train.dim !== val.dim || train.dim !== test.dim)
    throw new Error('fitLinearProbe: feature sizes differ between splits');
  const head = new LinearHead(train.dim, train.labels, opts.rng.fork('head'));
  const opt = new SgdMomentum(
    [{ variables: head.variables(), weightDecay: opts.weightDecay ?? 1e-6 }],
    opts.momentum ?? 0.9,
  );
  const stepsPerEpoch = Math.ceil(train.n / opts.batchSize);
  const totalSteps = opts.epochs * stepsPerEpoch;
  const order = [...Array(train.n).keys()];
  const shuffle = opts.rng.fork('order');
  const yVal = rows(val.y, val.n, val.labels);
  const yTest = rows(test.y, test.n, test.labels);
  const epochs: EpochScore[] = [];
  const perLabelByEpoch: (number | null)[][] = [];
  let step = 0;
  try {
    for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      shuffle.shuffle(order);
      const xTrain = opts.epochFeatures ? opts.epochFeatures(epoch) : train.x;
      if (xTrain.length !== train.n * train.dim)
        throw new Error(
          `fitLinearProbe: epoch ${epoch} features have ${xTrain.length} values, expected ${train.n * train.dim}`,
        );
      let lossSum = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const idx = order.slice(b * opts.batchSize, (b + 1) * opts.batchSize);
        const xb = new Float32Array(idx.length * train.dim);
        const yb = new Float32Array(idx.length * train.labels);
        idx.forEach((i, k) => {
          xb.set(xTrain.subarray(i * train.dim, (i + 1) * train.dim), k * train.dim);
          yb.set(train.y.subarray(i * train.labels, (i + 1) * train.labels), k * train.labels);
        });
        const lr = warmupCosine(step, { base: opts.lr, totalSteps });
        const { value, grads } = tf.tidy(() => {
          const x = tf.tensor2d(xb, [idx.length, train.dim]);
          const y = tf.tensor2d(yb, [idx.length, train.labels]);
          return tf.variableGrads(() => bceWithLogits(head.apply(x), y), head.variables());
        });
        opt.step(grads, lr);
        lossSum += value.dataSync()[0]! * idx.length;
        value.dispose();
        tf.dispose(grads);
        step++;
      }
      checkEpochLoss(epoch, lossSum / train.n);
      const v = macroRocAuc(yVal, probeScores(head, val));
      const t = macroRocAuc(yTest, probeScores(head, test));
      epochs.push({ epoch, trainLoss: lossSum / train.n, valAuc: v.macro, testAuc: t.macro });
      perLabelByEpoch.push(t.perLabel);
    }
  } finally {
    opt.dispose();
    head.dispose();
  }
  return selectEpoch(epochs, perLabelByEpoch);
}
