/**
 * The accelerated CPU path: `registerAcceleratedBackend()` adds the 'cxr-cpu' tfjs backend
 * (native OpenBLAS kernels behind N-API), `batchNormTrain` is training-mode batch norm with
 * a fused native gradient on that backend. See native/README.md.
 */
export {
  ACCELERATED_BACKEND, NATIVE_KERNELS, kernelCalls, kernelTimes, registerAcceleratedBackend, setKernelProfiling,
} from './register.js';
export { batchNormTrain } from './batchNorm.js';
export { loadNative, type NativeAddon } from './native.js';
