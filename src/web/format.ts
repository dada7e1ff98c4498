/**
 * What notebook 06 exports for the web page (`web/models/`): the trained detectors as safetensors
 * files and a manifest that says how to rebuild them (the run's own config sections) and where
 * they came from, plus a gallery of phantom test images with their boxes. Browser-safe.
 */
import type { BackboneConfig, CamConfig, DetectionConfig } from '../config.js';

export const WEB_FORMAT = 'cxr-notebooks web models v1';

/** One exported detector. */
export interface WebModelEntry {
  init: string;
  /** How tables and legends name it (e.g. "Barlow Twins from ImageNet-proxy"). */
  label: string;
  /** File name next to the manifest. */
  file: string;
  bytes: number;
  sha256: string;
  /** The checkpoint notebook 04 wrote, which this file holds the tensors of. */
  checkpoint: string;
  seed: number;
  /** Test mAP50 of that run (notebook 04), null when its result file is missing. */
  testMap: number | null;
}

/** One gallery image: a phantom test image with its fused ground truth and its readers' boxes (original pixels). */
export interface WebGalleryImage {
  imageId: string;
  file: string;
  width: number;
  height: number;
  gt: { boxes: number[][]; labels: number[] };
  readers: { reader: string; label: number; box: number[] }[];
}

export interface WebManifest {
  format: typeof WEB_FORMAT;
  profile: string;
  /** The notebook that wrote it, and the commit and time of the run. */
  notebook: string;
  commit: string | null;
  dirty: boolean | null;
  inputSize: number;
  backbone: BackboneConfig;
  detection: DetectionConfig;
  cam: CamConfig;
  classes: string[];
  models: WebModelEntry[];
  gallery: WebGalleryImage[];
}

/** Checks a fetched manifest before anything is built from it; throws one message naming what is wrong. */
export function checkWebManifest(m: unknown): WebManifest {
  const x = m as Partial<WebManifest> | null;
  if (!x || typeof x !== 'object') throw new Error('models manifest is not a JSON object');
  if (x.format !== WEB_FORMAT)
    throw new Error(`models manifest has format '${String(x.format)}', this page reads '${WEB_FORMAT}'`);
  if (!Array.isArray(x.models) || x.models.length === 0) throw new Error('models manifest lists no models');
  if (!x.backbone || !x.detection || !x.cam || !Array.isArray(x.classes) || !(Number(x.inputSize) > 0))
    throw new Error('models manifest lacks backbone, detection, cam, classes or inputSize');
  if (!Array.isArray(x.gallery)) throw new Error('models manifest lacks the gallery');
  return x as WebManifest;
}
