/** Metrics: ROC AUC, detection mAP (COCO and VOC/mmdet flavours), confidence intervals. */
export * from './auc.js';
export * from './ci.js';
export * from './map/index.js';
export * from './compare.js';
