/** Every bench group, in the order `npm run bench` runs them. Add new groups here. */
import { convBench } from './conv.js';
import type { BenchGroup, BenchResult } from './registry.js';
import { resnetBench } from './resnet.js';

/** A group backed by a module exporting `run()` (loaded only when the group runs). */
function moduleGroup(
  id: string,
  description: string,
  load: () => Promise<{ run(): Promise<BenchResult[]> }>,
): BenchGroup {
  return { id, description, run: async () => (await load()).run() };
}

export const BENCH_GROUPS: BenchGroup[] = [
  convBench,
  resnetBench,
  moduleGroup(
    'gemm',
    'the bundled SGEMM vs the system BLAS (OpenBLAS) in the same process, GFLOP/s',
    () => import('./gemm.js'),
  ),
  moduleGroup(
    'pretrain',
    'Barlow Twins training images/s, ResNet-50 at 64 and 224 px, vs PyTorch',
    () => import('./pretrain.js'),
  ),
  moduleGroup('data', 'phantom generation and image loading throughput at 224 px', () => import('./data.js')),
  moduleGroup(
    'wbf',
    'Weighted Boxes Fusion of a VinDr-sized annotation set vs ensemble_boxes',
    () => import('./wbf.js'),
  ),
  moduleGroup(
    'map',
    'mAP@0.5 evaluation time vs MMDetection eval_map and pycocotools',
    () => import('./map.js'),
  ),
  moduleGroup(
    'detection',
    'Faster R-CNN training and inference images/s at 224 and 640 px vs torchvision',
    () => import('./detection.js'),
  ),
  moduleGroup(
    'demo',
    "the demo profile's own steps (Barlow Twins with views, detection training, probe features) vs PyTorch",
    () => import('./demo.js'),
  ),
  moduleGroup(
    'cam',
    'Ablation-CAM channels ablated per second vs the same loop in PyTorch',
    () => import('./cam.js'),
  ),
];
