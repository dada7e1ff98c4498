/**
 * Cutting the project's Faster R-CNN at a ResNet stage for Ablation-CAM: the stage's activations
 * for one image, and a `LayerDetector` that runs the rest (later stages, FPN, RPN, box head) on a
 * batch of ablated copies, with the earlier stages' outputs taken from the unablated image.
 */
import * as tf from '@tensorflow/tfjs';
import type { CamLayer } from '../config.js';
import type { FasterRcnn } from '../models/fasterRcnn/detector.js';
import type { ResNet } from '../models/resnet.js';
import type { LayerDetector } from './detectorTarget.js';

export interface CutDetector {
  /** The target layer's activations for the image, `[1, h, w, K]`. */
  activations: tf.Tensor4D;
  detector: LayerDetector;
  dispose(): void;
}

const STAGE: Partial<Record<CamLayer, number>> = { layer1: 0, layer2: 1, layer3: 2, layer4: 3 };

/**
 * @param image `[1, H, W, C]` with H and W multiples of 32 (the detector's size divisor), so no padding
 *   is involved.
 * @param layer a ResNet stage (`layer1`..`layer4`); FPN levels are not supported here yet.
 */
export function cutDetectorAt(detector: FasterRcnn, resnet: ResNet, image: tf.Tensor4D, layer: CamLayer): CutDetector {
  const stage = STAGE[layer];
  if (stage === undefined) throw new Error(`Ablation-CAM on '${layer}' is not supported by cutDetectorAt yet; use layer1..layer4`);
  const [, h, w] = image.shape;
  if (h % 32 !== 0 || w % 32 !== 0) throw new Error(`cutDetectorAt: image ${h}x${w} must be a multiple of 32`);
  const f = resnet.forward(image, { training: false });
  const cs = [f.c2, f.c3, f.c4, f.c5];
  f.pooled.dispose();
  f.logits?.dispose();
  const activations = cs[stage]!;
  const before = cs.slice(0, stage);
  for (const t of cs.slice(stage + 1)) t.dispose();
  return {
    activations,
    detector: {
      fromLayer: (acts) => {
        const b = acts.shape[0];
        const c = tf.tidy(() => {
          const later = stage < 3 ? resnet.stagesFrom(acts, stage + 1, { training: false }) : [];
          const all = [...before.map((t) => tf.tile(t, [b, 1, 1, 1]) as tf.Tensor4D), acts, ...later];
          return { c2: all[0]!, c3: all[1]!, c4: all[2]!, c5: all[3]! };
        });
        try {
          return detector.detectFromBackbone(c, [h, w], Array.from({ length: b }, () => [h, w] as [number, number]));
        } finally {
          // `acts` belongs to the caller; every other tensor here is ours.
          tf.dispose([c.c2, c.c3, c.c4, c.c5].filter((t) => t !== acts));
        }
      },
    },
    dispose: () => tf.dispose([activations, ...before]),
  };
}
