import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCELERATED_BACKEND, NATIVE_KERNELS, registerAcceleratedBackend } from '../../src/backend/index.js';
import { nativeTest } from './helpers.js';

test('registerAcceleratedBackend is idempotent and always gives a reason', () => {
  const a = registerAcceleratedBackend();
  const b = registerAcceleratedBackend();
  assert.deepEqual(a, b);
  assert.ok(a.reason.length > 0);
});

nativeTest(
  'cxr-cpu has every cpu kernel plus its own five (batch norm, relu gradient, add + relu, eval conv + batch norm), and natives for the training kernels',
  () => {
    const cpu = tf
      .getKernelsForBackend('cpu')
      .map((k) => k.kernelName)
      .sort();
    const ours = tf
      .getKernelsForBackend(ACCELERATED_BACKEND)
      .map((k) => k.kernelName)
      .sort();
    assert.deepEqual(
      ours,
      [
        ...cpu,
        'CxrAddRelu',
        'CxrBatchNormTrain',
        'CxrBatchNormTrainGrad',
        'CxrConvBatchNormEval',
        'CxrReluGrad',
      ].sort(),
    );
    for (const k of [
      'Conv2D',
      'Conv2DBackpropInput',
      'Conv2DBackpropFilter',
      'FusedConv2D',
      'BatchMatMul',
      '_FusedMatMul',
      'MaxPool',
      'MaxPoolGrad',
      'AvgPool',
      'AvgPoolGrad',
      'FusedBatchNorm',
      'Relu',
      'Add',
      'Multiply',
      'Sum',
      'Mean',
    ]) {
      assert.ok(k in NATIVE_KERNELS, `${k} has no native kernel`);
      assert.ok(cpu.includes(k), `${k} is not a tfjs cpu kernel name`);
    }
  },
);
