/** Faster R-CNN + FPN (MMDetection faster_rcnn_r50_fpn) in TensorFlow.js. */
export * from './anchors.js';
export * from './backbone.js';
export * from './boxCoder.js';
export * from './detector.js';
export * from './fpn.js';
export * from './matcher.js';
export * from './roiAlign.js';
export * from './roiHeads.js';
export * from './rpn.js';
export * from './sampler.js';
export * from './train.js';
