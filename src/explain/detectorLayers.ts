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
const LEVEL: Partial<Record<CamLayer, number>> = { 'fpn.p2': 0, 'fpn.p3': 1, 'fpn.p4': 2, 'fpn.p5': 3 };

/**
 * The cut at an FPN output level: the level's activations are ablated and the other levels
 * (P6 included, which the RPN reads from P5's max-pool in the unablated image) stay as computed.
 */
function cutAtLevel(
  detector: FasterRcnn,
  image: tf.Tensor4D,
  level: number,
  imageHw: [number, number],
): CutDetector {
  const { feats, paddedHw } = detector.pyramid(image);
  const activations = feats[level]!;
  return {
    activations,
    detector: {
      fromLayer: (acts) => {
        const b = acts.shape[0];
        const tiled = feats.map((f, i) => (i === level ? acts : (tf.tile(f, [b, 1, 1, 1]) as tf.Tensor4D)));
        try {
          return detector.detectFromPyramid(
            tiled,
            paddedHw,
            Array.from({ length: b }, () => imageHw),
          );
        } finally {
          tf.dispose(tiled.filter((t) => t !== acts));
        }
      },
    },
    dispose: () => tf.dispose(feats),
  };
}

/**
 * @param image `[1, H, W, C]` with H and W multiples of 32 (the detector's size divisor), so no padding
 *   is involved.
 * @param layer a ResNet stage (`layer1`..`layer4`) or an FPN output level (`fpn.p2`..`fpn.p5`).
 * @param imageHw the image's own `[height, width]` when it sits at the top left of a zero-padded input
 *   (keep-ratio resize): detections are clipped to it, as `FasterRcnn.detect` with `imageSizesHw` does.
 *   Default: the whole input.
 */
export function cutDetectorAt(
  detector: FasterRcnn,
  resnet: ResNet,
  image: tf.Tensor4D,
  layer: CamLayer,
  imageHw?: [number, number],
): CutDetector {
  const [, h, w] = image.shape;
  if (h % 32 !== 0 || w % 32 !== 0)
    throw new Error(`cutDetectorAt: image ${h}x${w} must be a multiple of 32`);
  const hw = imageHw ?? [h, w];
  if (!(hw[0] >= 1 && hw[0] <= h && hw[1] >= 1 && hw[1] <= w))
    throw new Error(`cutDetectorAt: image size ${hw[0]}x${hw[1]} does not fit the ${h}x${w} input`);
  const level = LEVEL[layer];
  if (level !== undefined) return cutAtLevel(detector, image, level, hw);
  const stage = STAGE[layer];
  if (stage === undefined) throw new Error(`cutDetectorAt: unknown layer '${layer}'`);
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
          return detector.detectFromBackbone(
            c,
            [h, w],
            Array.from({ length: b }, () => hw),
          );
        } finally {
          // `acts` belongs to the caller; every other tensor here is ours.
          tf.dispose([c.c2, c.c3, c.c4, c.c5].filter((t) => t !== acts));
        }
      },
    },
    dispose: () => tf.dispose([activations, ...before]),
  };
}
