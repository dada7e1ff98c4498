/**
 * The accelerated CPU path: `registerAcceleratedBackend()` adds the 'cxr-cpu' tfjs backend
 * (native kernels behind N-API; GEMM by OpenBLAS or the bundled one), `batchNormTrain` is training-mode batch norm with
 * a fused native gradient on that backend, `addRelu` the residual add and relu in one op,
 * `convBatchNormEval` an eval-mode convolution + batch norm (+ residual) (+ relu) in one kernel, and
 * `momentumOptimizer` tfjs's SGD with momentum with a fused native update. See native/README.md.
 */
export {
  ACCELERATED_BACKEND,
  NATIVE_KERNELS,
  kernelCalls,
  kernelTimes,
  registerAcceleratedBackend,
  setKernelProfiling,
} from './register.js';
export { addRelu } from './addRelu.js';
export {
  convBatchNormEval,
  setConvBatchNormFusion,
  tapeRecording,
  type BatchNormEvalParams,
} from './convBatchNorm.js';
export { pooledBufferBytes, setBufferPool } from './kernelUtil.js';
export { batchNormTrain } from './batchNorm.js';
export { updateRunningStats } from './runningStats.js';
export { setBatchNormEvalGradient } from './batchNormEvalGrad.js';
export { globalNorm } from './gradNorm.js';
export { FusedMomentumOptimizer, larsUpdate, momentumOptimizer, type LarsStep } from './momentum.js';
export { loadNative, type NativeAddon } from './native.js';
