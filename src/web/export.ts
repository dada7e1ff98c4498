/**
 * Notebook 06's last step: the first-seed detectors of notebook 04 and a gallery of test images,
 * written where `npm run web` takes them from (`web/models/` for demo, the one the repository
 * commits; `web/models/<profile>/` for the others, git-ignored). Only this writes those files.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config.js';
import { VINDR_CLASSES } from '../data/labels.js';
import type { VindrDataset } from '../data/vindr.js';
import { writeFileAtomic, writeJsonAtomic } from '../io.js';
import { gitState } from '../manifest.js';
import { backboneLabel, type BackboneInit } from '../models/backbones.js';
import { encodeSafetensors } from '../models/safetensors.js';
import { readCheckpoint } from '../models/weights.js';
import { detectionRunPaths, type DetectionRun, type DetImage } from '../train/detectionRun.js';
import { WEB_FORMAT, type WebGalleryImage, type WebManifest, type WebModelEntry } from './format.js';

/** Where a profile's exported models go. */
export function webModelsDir(config: Config): string {
  if (config.dryRun) return join(config.paths.root, 'web', 'models', `${config.profile}-dry-run`);
  return config.profile === 'demo'
    ? join(config.paths.root, 'web', 'models')
    : join(config.paths.root, 'web', 'models', config.profile);
}

/**
 * Writes `<dir>/<init>.safetensors` (the detector's tensors, float32, as notebook 04 saved them
 * without the training state), `<dir>/gallery/<imageId>.dicom` (the phantom files themselves) and
 * `<dir>/manifest.json`. Old files of the folder's own kinds are removed first, so it holds one run.
 */
export function exportWebModels(
  config: Config,
  vindr: VindrDataset,
  test: readonly DetImage[],
  inits: readonly BackboneInit[],
  opts: { dir?: string; galleryImages?: number } = {},
): { dir: string; manifest: WebManifest; bytes: number } {
  const dir = opts.dir ?? webModelsDir(config);
  const size = config.detection.inputSizes[0]!;
  const seed = config.seeds[0]!;
  mkdirSync(join(dir, 'gallery'), { recursive: true });
  for (const f of readdirSync(dir))
    if (f.endsWith('.safetensors') || f === 'manifest.json') rmSync(join(dir, f));
  for (const f of readdirSync(join(dir, 'gallery'))) rmSync(join(dir, 'gallery', f));
  const models: WebModelEntry[] = inits.map((init) => {
    const p = detectionRunPaths(config, init, size, seed);
    if (!existsSync(p.weights))
      throw new Error(
        `exportWebModels: detector '${init}' at ${size}px not found (${p.weights}): run notebook 04_detection first`,
      );
    const bytes = encodeSafetensors(readCheckpoint(p.weights).tensors, { format: WEB_FORMAT, init });
    const file = `${init}.safetensors`;
    writeFileAtomic(join(dir, file), bytes);
    const run = existsSync(p.result) ? (JSON.parse(readFileSync(p.result, 'utf8')) as DetectionRun) : null;
    return {
      init,
      label: backboneLabel(init, config.profile),
      file,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      checkpoint: basename(p.weights),
      seed,
      testMap: run ? run.testMap : null,
    };
  });
  // The first test images with boxes, then one without: the page shows both kinds.
  const n = opts.galleryImages ?? 6;
  const picked = [
    ...test.filter((im) => im.boxes.length > 0).slice(0, n - 1),
    ...test.filter((im) => im.boxes.length === 0).slice(0, 1),
  ];
  const byId = new Map(vindr.images.map((im) => [im.imageId, im]));
  const gallery: WebGalleryImage[] = picked.map((im) => {
    const file = `gallery/${im.imageId}.dicom`;
    copyFileSync(im.path, join(dir, file));
    const ann = byId.get(im.imageId)?.annotations ?? [];
    return {
      imageId: im.imageId,
      file,
      width: im.width,
      height: im.height,
      gt: { boxes: im.boxes, labels: im.labels },
      readers: ann.map((a) => ({ reader: a.readerId, label: a.classId, box: [...a.box] })),
    };
  });
  const git = gitState(config.paths.root);
  const manifest: WebManifest = {
    format: WEB_FORMAT,
    profile: config.profile,
    notebook: config.notebook,
    commit: git?.commit ?? null,
    dirty: git?.dirty ?? null,
    inputSize: size,
    backbone: config.backbone,
    detection: config.detection,
    cam: config.cam,
    classes: [...VINDR_CLASSES],
    models,
    gallery,
  };
  writeJsonAtomic(join(dir, 'manifest.json'), manifest);
  return { dir, manifest, bytes: models.reduce((a, m) => a + m.bytes, 0) };
}
