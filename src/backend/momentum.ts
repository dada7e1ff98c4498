/**
 * tfjs's SGD-with-momentum optimizer with the update fused into one native pass. tfjs
 * updates each variable with four element-wise ops and four fresh buffers (m·acc, + grad,
 * (-lr)·acc', + value); at ResNet-50's 25.6M parameters that was ~7% of a 224 px training
 * step and ~20% at 64 px. The native pass computes the same float operations in the same
 * order and writes the new values into the variables' own buffers.
 */
import * as tf from '@tensorflow/tfjs';
import { f32, isEscaped, uninitialized, type CpuBackend } from './kernelUtil.js';
import { loadNative } from './native.js';

let activeBackendName = 'cxr-cpu';

/** Set by the registration so that the optimizer knows which backend has the native update. */
export function setMomentumBackend(name: string): void {
  activeBackendName = name;
}

/** The backend that has the native update (and the native gradient norm, gradNorm.ts). */
export function activeMomentumBackend(): string {
  return activeBackendName;
}

type Slot = { originalName: string; variable: tf.Variable };
/** What tfjs's MomentumOptimizer.applyGradients takes (its element types are not exported). */
type VariableGradients = Parameters<tf.MomentumOptimizer['applyGradients']>[0];

/**
 * A tf.MomentumOptimizer (same constructor, same state, same results) whose non-Nesterov
 * update runs natively on the accelerated backend; anywhere else it is tfjs's own.
 */
export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    this.fusedUpdate(variableGradients, null);
  }

  /**
   * One step on each gradient `g * scale + weightDecay * value` (PyTorch SGD's coupled decay after
   * `clip_grad_norm_`'s scaling; `scale` 1 = no scaling): the same numbers as
   * `applyGradients({name: tf.add(scale !== 1 ? tf.mul(g, scale) : g, tf.mul(value, weightDecay))})`,
   * computed in the one native pass of the update where the addon has it, without the two
   * tensor ops and their buffers per variable.
   */
  applyDecayedGradients(gradients: tf.NamedTensorMap, decay: { scale: number; weightDecay: number }): void {
    this.fusedUpdate(gradients as unknown as VariableGradients, decay);
  }

  private fusedUpdate(
    variableGradients: VariableGradients,
    decay: { scale: number; weightDecay: number } | null,
  ): void {
    const addon = loadNative().addon;
    const self = this as unknown as {
      accumulations: Slot[];
      useNesterov: boolean;
      learningRate: number;
      momentum: number;
    };
    const decayed = (value: tf.Tensor, g: tf.Tensor): tf.Tensor =>
      decay == null
        ? g
        : tf.add(decay.scale !== 1 ? tf.mul(g, decay.scale) : g, tf.mul(value, decay.weightDecay));
    if (
      addon == null ||
      self.useNesterov ||
      tf.getBackend() !== activeBackendName ||
      (decay != null && addon.momentumUpdateDecay == null)
    ) {
      if (decay == null) super.applyGradients(variableGradients);
      else
        tf.tidy(() => {
          const named = variableGradients as tf.NamedTensorMap;
          const out: tf.NamedTensorMap = {};
          for (const name of Object.keys(named))
            out[name] = decayed(tf.engine().registeredVariables[name]!, named[name]!);
          super.applyGradients(out as unknown as VariableGradients);
        });
      return;
    }
    const backend = tf.backend() as CpuBackend;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((g) => g.name)
      : Object.keys(variableGradients);
    const update = (
      v: Float32Array,
      a: Float32Array,
      g: Float32Array,
      ov: Float32Array,
      oa: Float32Array,
    ): void => {
      if (decay == null) addon.momentumUpdate(v, a, g, ov, oa, self.learningRate, self.momentum);
      else
        addon.momentumUpdateDecay!(
          v,
          a,
          g,
          ov,
          oa,
          self.learningRate,
          self.momentum,
          decay.scale,
          decay.weightDecay,
          decay.scale !== 1 ? 1 : 0,
        );
    };
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (self.accumulations[i] == null) {
        self.accumulations[i] = {
          originalName: `${name}/momentum`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      const acc = self.accumulations[i].variable;
      const gradient = Array.isArray(variableGradients)
        ? variableGradients[i].tensor
        : variableGradients[name];
      if (gradient == null) return;
      const v = f32(backend, value);
      const a = f32(backend, acc);
      const g = f32(backend, gradient);
      if (!v || !a || !g || v.length !== g.length || a.length !== g.length) {
        // tfjs's formula (super.applyGradients cannot take one variable: slots go by index).
        tf.tidy(() => {
          const newAcc = tf.add(tf.mul(tf.scalar(self.momentum), acc), decayed(value, gradient));
          acc.assign(newAcc);
          value.assign(tf.add(tf.mul(tf.scalar(-self.learningRate), newAcc), value));
        });
        return;
      }
      // In place only when no other tensor (a clone, a reshape) shares the storage.
      if (backend.refCount(value.dataId) === 1 && backend.refCount(acc.dataId) === 1) {
        update(v, a, g, v, a);
        return;
      }
      const nv = new Float32Array(v.length);
      const na = new Float32Array(a.length);
      update(v, a, g, nv, na);
      tf.tidy(() => {
        acc.assign(tf.tensor(na, acc.shape, 'float32'));
        value.assign(tf.tensor(nv, value.shape, 'float32'));
      });
    });
    this.incrementIterations();
  }
}

/** Like tf.train.momentum(learningRate, momentum, useNesterov), fused on the accelerated backend. */
export function momentumOptimizer(
  learningRate: number,
  momentum: number,
  useNesterov = false,
): FusedMomentumOptimizer {
  return new FusedMomentumOptimizer(learningRate, momentum, useNesterov);
}

/** One LARS step's settings (src/models/lars.ts). */
export interface LarsStep {
  lr: number;
  weightDecay: number;
  eta: number;
  momentum: number;
  /** Biases and BatchNorm parameters: no weight decay, no trust ratio. */
  biasLike: boolean;
}

/**
 * LARS's update of one parameter in one native pass (tfjs: ~15 ops and their buffers per
 * parameter, ~1,000 kernel calls per step of the demo's network), the same float32 operations as
 * `Lars`'s tensor code. In place when nothing else shares or has read out the storage, else into
 * fresh tensors that the variables are assigned. Returns false, doing nothing, where the accelerated
 * backend is not the active one or the tensors are not float32 of one size.
 */
export function larsUpdate(p: tf.Variable, mu: tf.Variable, g: tf.Tensor, s: LarsStep): boolean {
  const addon = loadNative().addon;
  if (addon == null || tf.getBackend() !== activeBackendName) return false;
  const backend = tf.backend() as CpuBackend;
  const v = f32(backend, p);
  const m = f32(backend, mu);
  const gv = f32(backend, g);
  if (!v || !m || !gv || v.length !== gv.length || m.length !== gv.length) return false;
  const args = [s.lr, s.weightDecay, s.eta, s.momentum, s.biasLike ? 1 : 0] as const;
  const shared =
    backend.refCount(p.dataId) !== 1 || backend.refCount(mu.dataId) !== 1 || isEscaped(v) || isEscaped(m);
  if (!shared) {
    addon.larsUpdate(v, m, gv, v, m, ...args);
    return true;
  }
  const nv = uninitialized(v.length);
  const nm = uninitialized(m.length);
  addon.larsUpdate(v, m, gv, nv, nm, ...args);
  tf.tidy(() => {
    mu.assign(tf.tensor(nm, mu.shape, 'float32'));
    p.assign(tf.tensor(nv, p.shape, 'float32'));
  });
  return true;
}
