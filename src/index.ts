/**
 * The notebook API: everything notebooks/01–06 import (from the build, `../build/src/index.js`), and
 * nothing else. Internals (kernels, layers, samplers, peers' numerics) stay behind their modules, which
 * tests, benchmarks and scripts import directly. The list is documented in README.md ("The notebook
 * API"); test/notebooks/api.test.ts fails when a notebook uses a name missing here or the README's
 * list and this file disagree.
 */

// Every notebook's first cell, the results files, the checks of the "method on one batch" sections.
export { makeConfig, type Config } from './config.js';
export { startNotebook, type NotebookSession } from './notebook.js';
export { loadResults } from './manifest.js';
export { makeRng, type Rng } from './rng.js';
export { checkClose } from './check.js';
/** The TensorFlow.js the library computes with (same instance and backend), for visible tensor code. */
export * as tf from '@tensorflow/tfjs';

// 01 — data: loading, validation, counts.
export { openNih, openVindr, issueTable, issueRows } from './data/datasets.js';
export { NIH_LABELS, VINDR_CLASSES } from './data/labels.js';
export { labelDistribution, cohortTable, type LabelDistribution } from './data/audit.js';
export { vindrClassCounts } from './data/vindr.js';
export {
  classExamples,
  imageStatistics,
  readerTable,
  siteTable,
  vindrInstanceCounts,
  type ClassCounts,
} from './data/vindrAudit.js';
export { readImage, resizeImage } from './data/images.js';
export { labelDistributionFigure } from './plots/dataAudit.js';
export { classExamplesFigure, siteStatsFigure, vindrClassFigure } from './plots/vindrAudit.js';

// 02 — Weighted Boxes Fusion and the VinDr re-split.
export { weightedBoxesFusion, type WbfOptions, type WbfResult } from './boxes/wbf.js';
export { iou } from './boxes/iou.js';
export { fuseVindr, fusionExample, fusionSweep, splitVindr } from './data/fusion.js';
export { instancesPerClass, writeFusedSplit } from './data/annotations.js';
export { iterativeStratification } from './data/split.js';
export { fusedCountSweepFigure, fusionExampleFigure, instanceCountsFigure } from './plots/wbf.js';

// 03 — Barlow Twins pretraining.
export {
  imagenetInit,
  nihKnnSets,
  nihSplitSource,
  nihTrainSource,
  pretrainBarlowTwins,
  type BarlowTwinsResult,
} from './train/pretrainRun.js';
export { barlowTwinsViews } from './data/augment.js';
export { BarlowTwins, barlowTwinsLoss } from './models/barlowTwins.js';
export { Lars } from './models/lars.js';
export { backboneLabel, loadBackbone, type BackboneInit } from './models/backbones.js';
export { correlationMatricesFigure, lossCurvesFigure, metricCurvesFigure } from './plots/pretraining.js';

// 04 — Faster R-CNN + FPN and mAP@0.5.
export {
  buildDetector,
  detectAll,
  detectionSplits,
  loadDetectionSet,
  loadDetector,
  runDetection,
  type DetImage,
  type DetectionRun,
} from './train/detectionRun.js';
export {
  evaluateDetections,
  type EvaluateDetectionsOptions,
  type ImageDetections,
  type ImageGroundTruth,
} from './metrics/map/index.js';
export { gridAnchors } from './models/fasterRcnn/anchors.js';
export { decodeBoxes } from './models/fasterRcnn/boxCoder.js';
export { BELOW_LOW, iouMatrix, matchPredictions } from './models/fasterRcnn/matcher.js';
export {
  detectionComparisons,
  detectionExampleFigure,
  mapCurvesFigure,
  mapTable,
  perClassApTable,
} from './plots/detection.js';

// 05 — the linear evaluation protocol.
export {
  linearEvalSplit,
  nihLabelMatrix,
  runLinearEvaluation,
  type LinearEvalRun,
} from './train/linearEval.js';
export { rocAuc } from './metrics/auc.js';
export {
  aucByFractionFigure,
  aucTable,
  linearEvalComparisons,
  perLabelAucTable,
} from './plots/linearEval.js';

// 06 — Ablation-CAM.
export { ablatedBatch, ablationCam } from './explain/ablationCam.js';
export { camImages, camLocalisation, type CamImage, type LayerLocalisation } from './explain/camRun.js';
export { cutDetectorAt } from './explain/detectorLayers.js';
export { detectorHead } from './explain/detectorTarget.js';
export type { LocalisationComparison } from './explain/localisation.js';
export { camGridFigure, camGridRows, localisationTable } from './plots/cam.js';
export { exportWebModels } from './web/export.js';

// Figures and tables (nb.show / nb.table draw them).
export { imagePanelsFigure, type ImagePanel } from './plots/panels.js';
export { fromArquero, type TableData } from './plots/table.js';
export type { Figure } from './plots/figure.js';
