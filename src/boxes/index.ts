/** Box maths: IoU, NMS (torchvision and ensemble_boxes flavours), Weighted Boxes Fusion, reader fusion. */
export * from './iou.js';
export * from './nms.js';
export * from './wbf.js';
export * from './readers.js';
