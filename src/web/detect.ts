/**
 * What the web page computes, as plain functions on the library's own model code, so that Node
 * (the parity test) and the browser run the same steps: a detector rebuilt from an exported file,
 * an image placed as the detector's input the way training placed it (keep-ratio resize, top left of a
 * zero canvas), its detections, and the Ablation-CAM map of one box.
 * No file system, no Node built-ins.
 */
import * as tf from '@tensorflow/tfjs';
import type { CamLayer } from '../config.js';
import type { BrightnessImage } from '../data/imageDecode.js';
import { keepRatioInput } from '../data/keepRatio.js';
import { ablationCam, type CamMap } from '../explain/ablationCam.js';
import { cutDetectorAt } from '../explain/detectorLayers.js';
import { detectorHead } from '../explain/detectorTarget.js';
import { camMassInBoxes, cropCam } from '../explain/localisation.js';
import { assignTensors } from '../models/assign.js';
import {
  detectorOnResnet,
  detectorTensors,
  disposeDetector,
  resnetFromConfig,
} from '../models/detectorBuild.js';
import type { FasterRcnn } from '../models/fasterRcnn/detector.js';
import type { ResNet } from '../models/resnet.js';
import { decodeSafetensors } from '../models/safetensors.js';
import { makeRng } from '../rng.js';
import type { WebManifest } from './format.js';

/** A detector ready to run. */
export interface WebDetector {
  init: string;
  detector: FasterRcnn;
  resnet: ResNet;
  dispose(): void;
}

/** Rebuilds an exported detector: the manifest's config sections give the shapes, the file the values. */
export function loadWebDetector(manifest: WebManifest, init: string, bytes: Uint8Array): WebDetector {
  const rng = makeRng(0); // every variable is overwritten below; the seed only fixes the throwaway init
  const resnet = resnetFromConfig(manifest.backbone, rng.fork('backbone'));
  const detector = detectorOnResnet(resnet, manifest.detection, rng.fork('heads'));
  try {
    const { tensors } = decodeSafetensors(bytes, `${init} weights`);
    assignTensors(detectorTensors(resnet, detector) as Map<string, tf.Variable>, tensors, `${init} weights`);
  } catch (e) {
    disposeDetector(resnet, detector);
    throw e;
  }
  return { init, detector, resnet, dispose: () => disposeDetector(resnet, detector) };
}

/** An image as a detector's input, with where the image lies in it. */
export interface WebInput {
  /** `[1, size, size, 1]`: the resized image at the top left, zeros right of and below it. */
  x: tf.Tensor4D;
  /** The resized image's own `[height, width]` (detections are clipped to it, heat maps cropped to it). */
  imageHw: [number, number];
  /** `[w_scale, h_scale]` from original to input pixels (boxes in original pixels times these). */
  scales: [number, number];
}

/**
 * The detector's input for an image, as training and notebooks 04 and 06 made it: resized keeping its
 * aspect ratio to fit `size`×`size` and placed at the top left of a zero canvas (`keepRatioInput`, the
 * image cache's decoder). Squashing it to the square instead would show a detector shapes it never saw.
 */
export function inputTensor(img: BrightnessImage, size: number): WebInput {
  const { pixels, meta } = keepRatioInput(img, size);
  const [sw, sh, w, h] = meta;
  return { x: tf.tensor4d(pixels, [1, size, size, 1]), imageHw: [h, w], scales: [w / sw, h / sh] };
}

/** One detection in input pixels. */
export interface WebDetection {
  box: number[];
  label: number;
  score: number;
}

/** Every detection the detector returns (its own score floor and NMS, boxes clipped to the image), best first. */
export function detect(d: WebDetector, input: WebInput): WebDetection[] {
  const r = d.detector.detect(input.x, { imageSizesHw: [input.imageHw] })[0]!;
  return r.scores
    .map((score, k) => ({ box: r.boxes[k]!, label: r.labels[k]!, score }))
    .sort((a, b) => b.score - a.score);
}

/** The Ablation-CAM map of one box and its share inside the box. */
export interface BoxCam {
  /** The map over the image only (the input's padding cropped off, as notebook 06 scores it). */
  cam: CamMap;
  /** Target score of the unablated detector for this box (0: the box is not found again). */
  score: number;
  /** Share of the map's mass (over the image) inside the box. */
  massInBox: number;
}

/** The layer the page explains at: the first of notebook 06's list. */
export function webCamLayer(manifest: WebManifest): CamLayer {
  const layer = manifest.cam.layers[0];
  if (!layer) throw new Error('the models manifest names no Ablation-CAM layer');
  return layer;
}

/**
 * The heat map that explains one box: the target is that box (IoU + score of the best same-class
 * detection overlapping it by more than `cam.iouThr`), at {@link webCamLayer} with the manifest's
 * channel fraction and batch size, as notebook 06 does for one box: the cut detector sees the image's
 * own size, and the map is cropped to the image before its mass is measured.
 */
export async function boxCam(
  manifest: WebManifest,
  d: WebDetector,
  input: WebInput,
  box: number[],
  label: number,
): Promise<BoxCam> {
  const [, h, w] = input.x.shape;
  const cut = cutDetectorAt(d.detector, d.resnet, input.x, webCamLayer(manifest), input.imageHw);
  try {
    const r = await ablationCam({
      activations: cut.activations,
      head: detectorHead(cut.detector, { boxes: [box], labels: [label] }, { iouThr: manifest.cam.iouThr }),
      imageSize: [h, w],
      batchSize: manifest.cam.batchSize,
      channelFraction: manifest.cam.channelFraction,
    });
    const cam = cropCam(r.cam, input.imageHw[0], input.imageHw[1]);
    return { cam, score: r.score, massInBox: camMassInBoxes(cam, [box]).mass };
  } finally {
    cut.dispose();
  }
}
