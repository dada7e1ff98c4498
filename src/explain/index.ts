/** Ablation-CAM and the numbers that judge its heat maps (notebook 06). */
export * from './ablationCam.js';
export * from './detectorTarget.js';
export * from './localisation.js';
export * from './detectorLayers.js';
export * from './camRun.js';
