/**
 * SGD with momentum and decoupled-from-nothing (PyTorch-style, L2 added to the gradient) weight
 * decay: `g += wd·p; buf = m·buf + g; p -= lr·buf`, per parameter group.
 */
import * as tf from '@tensorflow/tfjs';

export interface ParamGroup {
  variables: tf.Variable[];
  /** Multiplies the step's learning rate for this group (e.g. a smaller backbone rate). */
  lrScale?: number;
  /** L2 weight decay for this group (PyTorch's `weight_decay`). */
  weightDecay?: number;
}

export class SgdMomentum {
  private readonly buffers = new Map<tf.Variable, tf.Variable>();

  constructor(
    readonly groups: ParamGroup[],
    readonly momentum = 0.9,
  ) {}

  /**
   * Applies one step with learning rate `lr` given gradients by variable name (as returned by
   * `tf.variableGrads`). Variables without a gradient are left as they are. Disposes nothing it
   * did not make: the caller owns `grads`.
   */
  step(grads: Record<string, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const g of this.groups) {
        const glr = lr * (g.lrScale ?? 1);
        const wd = g.weightDecay ?? 0;
        for (const v of g.variables) {
          const grad = grads[v.name];
          if (!grad) continue;
          const d = wd > 0 ? grad.add(v.mul(wd)) : grad;
          let buf = this.buffers.get(v);
          if (!buf) {
            // PyTorch starts the buffer at the first gradient, not at zero.
            buf = tf.variable(d, false, `${v.name}/momentum`);
            this.buffers.set(v, buf);
          } else {
            buf.assign(buf.mul(this.momentum).add(d));
          }
          v.assign(v.sub(buf.mul(glr)));
        }
      }
    });
  }

  /**
   * Momentum buffers for checkpoints, keyed by `nameOf(variable)` (default: tfjs's variable name;
   * pass a model's own parameter names to make the keys stable across processes).
   */
  state(nameOf: (v: tf.Variable) => string = (v) => v.name): Map<string, tf.Variable> {
    return new Map([...this.buffers.entries()].map(([v, b]) => [nameOf(v), b]));
  }

  /** Restores the buffers `state` saved (copies the tensors); variables it does not name start afresh. */
  loadState(saved: Map<string, tf.Tensor>, nameOf: (v: tf.Variable) => string = (v) => v.name): void {
    this.dispose();
    for (const g of this.groups) {
      for (const v of g.variables) {
        const t = saved.get(nameOf(v));
        if (t) this.buffers.set(v, tf.variable(t.clone(), false));
      }
    }
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
