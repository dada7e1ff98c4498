/**
 * One detector training step and its learning-rate schedule: SGD with momentum 0.9 and weight
 * decay 1e-4 on every parameter (MMDetection's optimizer for faster_rcnn_r50_fpn), linear warm-up
 * then cosine decay.
 */
import * as tf from '@tensorflow/tfjs';
import { globalNorm } from '../../backend/gradNorm.js';
import type { FusedMomentumOptimizer } from '../../backend/momentum.js';
import type { Rng } from '../../rng.js';
import { warmupCosine } from '../../train/schedule.js';
import type { DetectionTarget, FasterRcnn, ImageSizes } from './detector.js';

/** Loss values of one step (plain numbers, already read back). */
export interface StepLosses {
  total: number;
  rpnCls: number;
  rpnBox: number;
  roiCls: number;
  roiBox: number;
  /** Global L2 norm of the loss gradients (before clipping and weight decay): tells a stalled run from a clipped one. */
  gradNorm: number;
}

/**
 * Computes the losses, optionally clips their gradients to a global norm of `clipNorm`, adds
 * `weightDecay * w` to every gradient (PyTorch SGD's coupled decay) and applies the optimizer. Leaves the tensor count unchanged (apart from optimizer slots created on
 * the first step). Throws on a non-finite loss, naming the step.
 * @param optimizer e.g. `tf.train.momentum(lr, 0.9)` (same update as torch.optim.SGD).
 */
export function detectionTrainStep(
  model: FasterRcnn,
  optimizer: tf.Optimizer,
  images: tf.Tensor4D,
  targets: DetectionTarget[],
  opts: ImageSizes & { weightDecay?: number; rng?: Rng; step?: number; clipNorm?: number } = {},
): StepLosses {
  const wd = opts.weightDecay ?? 1e-4;
  const clip = opts.clipNorm ?? 0;
  const vars = model.trainableVariables();
  let parts: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const l = model.loss(images, targets, opts);
    parts = [l.rpnCls, l.rpnBox, l.roiCls, l.roiBox].map((t) => tf.keep(t));
    return l.total;
  }, vars);
  const [rpnCls, rpnBox, roiCls, roiBox] = parts.map((t) => t.dataSync()[0]!);
  const total = value.dataSync()[0]!;
  if (!Number.isFinite(total)) {
    tf.dispose([value, ...parts, ...Object.values(grads)]);
    throw new Error(
      `detectionTrainStep: loss is ${total} at step ${opts.step ?? '?'} (rpnCls ${rpnCls}, rpnBox ${rpnBox}, roiCls ${roiCls}, roiBox ${roiBox})`,
    );
  }
  let gradNorm = 0;
  tf.tidy(() => {
    // torch.nn.utils.clip_grad_norm_ semantics (MMDetection's optimizer_config grad_clip): the
    // loss gradients are scaled as a whole when their global L2 norm exceeds `clip`; decay is added after.
    // sqrt(addN(sum(square(g)))), the same number from one native pass per tensor (gradNorm.ts)
    gradNorm = globalNorm(Object.values(grads));
    const scale = clip > 0 && gradNorm > clip ? clip / (gradNorm + 1e-6) : 1;
    // (not `instanceof`: tfjs's Optimizer answers it for any object with an optimizer's methods)
    const fused = (optimizer as Partial<FusedMomentumOptimizer>).applyDecayedGradients;
    if (typeof fused === 'function' && wd > 0) {
      // the same numbers as the tensor ops below, in the update's own native pass
      const named: tf.NamedTensorMap = {};
      for (const v of vars) if (grads[v.name]) named[v.name] = grads[v.name]!;
      fused.call(optimizer, named, { scale, weightDecay: wd });
      return;
    }
    const decayed: Record<string, tf.Tensor> = {};
    for (const v of vars) {
      let g = grads[v.name];
      if (!g) continue;
      if (scale !== 1) g = tf.mul(g, scale);
      decayed[v.name] = wd > 0 ? tf.add(g, tf.mul(v, wd)) : g;
    }
    optimizer.applyGradients(decayed as tf.NamedTensorMap);
  });
  tf.dispose([value, ...parts, ...Object.values(grads)]);
  return { total, rpnCls: rpnCls!, rpnBox: rpnBox!, roiCls: roiCls!, roiBox: roiBox!, gradNorm };
}

/** Schedule settings: MMDetection-style linear warm-up from `warmupStartFactor * baseLr`, then cosine to `minLr`. */
export interface WarmupCosineOptions {
  baseLr: number;
  totalSteps: number;
  warmupSteps: number;
  /** Warm-up starts at this fraction of baseLr (MMDetection: 0.001). */
  warmupStartFactor?: number;
  minLr?: number;
}

/** MMDetection's schedule: `warmupCosine` (train/schedule.ts) with the warm-up starting at 0.001 × baseLr. */
export function warmupCosineLr(step: number, o: WarmupCosineOptions): number {
  return warmupCosine(step, {
    base: o.baseLr,
    totalSteps: Math.max(o.totalSteps, 1),
    warmupSteps: o.warmupSteps,
    warmupStart: o.warmupStartFactor ?? 0.001,
    finalFraction: (o.minLr ?? 0) / o.baseLr,
  });
}
