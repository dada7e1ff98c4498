/**
 * relu(a + b) as one op with its own gradient, for residual connections. As tf.relu(tf.add())
 * it is two passes and two allocations over the block's output forward, and tfjs keeps both
 * the sum and the relu output alive for the backward pass; fused it is one pass, and the
 * gradient (dy masked where the output is 0, the same for a and b) reads only the output.
 */
import * as tf from '@tensorflow/tfjs';
import { BINARY, f32, output, type KernelArgs, type NativeKernel, uninitialized } from './kernelUtil.js';
import type { NativeAddon } from './native.js';
import { RELU_GRAD } from './reluGrad.js';

/** Kernel name private to the accelerated backend. */
export const ADD_RELU = 'CxrAddRelu';

let activeBackendName = 'cxr-cpu';

/** Set by the registration so that addRelu knows which backend has the kernel. */
export function setAddReluBackend(name: string): void {
  activeBackendName = name;
}

const addReluKernel: NativeKernel = ({ inputs, backend }: KernelArgs, addon: NativeAddon) => {
  const { a, b } = inputs;
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (!av || !bv || !tf.util.arraysEqual(a.shape, b.shape)) return null;
  const out = uninitialized(av.length);
  addon.binary(BINARY.AddRelu, av, bv, out, 0, 1);
  return output(backend, a.shape, out);
};

export const addReluKernels: Record<string, NativeKernel> = { [ADD_RELU]: addReluKernel };

/** Registers the gradient of ADD_RELU once (gradients are global in tfjs). */
export function registerAddReluGradient(): void {
  if (tf.getGradient(ADD_RELU) != null) return;
  tf.registerGradient({
    kernelName: ADD_RELU,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      // step(relu(s)) = step(s) for every s (NaN included), so the output serves as the mask.
      const [y] = saved;
      const g = tf
        .engine()
        .runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x: y } as unknown as tf.NamedTensorMap) as tf.Tensor;
      // Two tensors (sharing storage, as tfjs's Add gradient does with reshape): the engine
      // disposes each input's gradient separately when it accumulates them.
      return { a: () => g, b: () => g.clone() };
    },
  });
}

/**
 * relu(a + b) for two tensors of the same shape, differentiable in both. Runs as one native
 * pass on the accelerated backend and as tf.relu(tf.add(a, b)) elsewhere (or when the shapes
 * differ); the numbers are the same.
 */
export function addRelu<T extends tf.Tensor>(a: T, b: T): T {
  if (
    tf.getBackend() === activeBackendName &&
    tf.util.arraysEqual(a.shape, b.shape) &&
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    tf.getKernel(ADD_RELU, activeBackendName) != null
  ) {
    return tf.engine().runKernel(ADD_RELU, { a, b } as unknown as tf.NamedTensorMap) as T;
  }
  return tf.relu(tf.add(a, b)) as T;
}
