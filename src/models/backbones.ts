/**
 * The backbone initialisations the paper compares, as files notebooks 04–06 load:
 * `none` (random), `imagenet` (the user's ImageNet file in `paper`, the proxy in smoke/demo),
 * `bt` (Barlow Twins from scratch) and `bt_imagenet` (Barlow Twins started from `imagenet`).
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config.js';
import { dataFingerprint } from '../data/dataCache.js';
import type { Rng } from '../rng.js';
import { resnetFromConfig } from './detectorBuild.js';
import { STAND_IN_VERSION } from './standInWeights.js';
import type { ResNet } from './resnet.js';
import { assignTensors, readCheckpoint, saveCheckpoint } from './weights.js';

export type BackboneInit = 'none' | 'imagenet' | 'bt' | 'bt_imagenet';
export const BACKBONE_INITS: readonly BackboneInit[] = ['none', 'imagenet', 'bt', 'bt_imagenet'];

/**
 * The backbones of the linear evaluation (notebook 05): the four initialisations and the control
 * `none_bn`, no pretraining with its BatchNorm statistics re-estimated on the NIH-format training
 * images (`train/bnCalibration.ts`), which separates a gain from self-supervision from a gain from
 * calibrated activations.
 */
export type EvalInit = BackboneInit | 'none_bn';

/** How each initialisation is named in tables and legends (the proxy is named as a proxy). */
export function backboneLabel(init: EvalInit, profile: Config['profile']): string {
  const imagenet = profile === 'paper' ? 'ImageNet' : 'ImageNet-proxy';
  return {
    none: 'no pretraining',
    none_bn: 'no pretraining, BatchNorm re-estimated on NIH',
    imagenet,
    bt: 'Barlow Twins',
    bt_imagenet: `Barlow Twins from ${imagenet}`,
  }[init];
}

const short = (key: unknown): string =>
  createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 10);

/**
 * What the `imagenet` backbone depends on: the backbone's shape and the seed, and either the
 * user's weight file (path, size and modification time) or the proxy's settings. No NIH data.
 */
export function imagenetFingerprint(config: Config): string {
  const file = config.data.imagenetWeights;
  const st = file && !config.dryRun && existsSync(file) ? statSync(file) : null;
  return short({
    seed: config.seed,
    backbone: config.backbone,
    // The dry run's stand-in file is a pure function of the backbone and the seed, written on first use.
    imagenet: config.dryRun
      ? { standIn: STAND_IN_VERSION }
      : file
        ? { file, size: st?.size ?? null, mtimeMs: st?.mtimeMs ?? null }
        : { proxy: config.proxy },
  });
}

/**
 * A short hash of everything a Barlow Twins backbone depends on, put in its file name so that a
 * checkpoint made under other settings or other data is never picked up by mistake: the
 * `imagenet` fingerprint, the pretraining settings and the content of the NIH folder (names and
 * SHA-1s of the files read, not where the folder sits), so changed images mean a fresh run.
 */
export function pretrainFingerprint(config: Config): string {
  // Where the data sit, and whether a split is held in memory or streamed, do not change a backbone.
  const { nihDir, vindrDir, inMemoryBytes, ...phantom } = config.data;
  void nihDir;
  void vindrDir;
  void inMemoryBytes;
  return short({
    imagenet: imagenetFingerprint(config),
    ...(config.data.imagenetWeightsBt ? { btStart: btStartKey(config) } : {}),
    pretrain: config.pretrain,
    phantom: config.data.source === 'synthetic' ? phantom : null,
    nih: dataFingerprint(config, 'nih'),
  });
}

function btStartKey(config: Config): { file: string; size: number | null; mtimeMs: number | null } {
  const file = config.data.imagenetWeightsBt;
  const st = existsSync(file) ? statSync(file) : null;
  return { file, size: st?.size ?? null, mtimeMs: st?.mtimeMs ?? null };
}

/**
 * Where the starting point of Barlow Twins from ImageNet lives when it is its own file
 * (`data.imagenetWeightsBt`: the authors' `IMAGENET1K_V2`), imported by notebook 03; null: it starts from
 * the `imagenet` backbone.
 */
export function btStartPath(config: Config): string | null {
  if (!config.data.imagenetWeightsBt) return null;
  return join(
    config.paths.checkpoints,
    `backbone_imagenet_bt_start-${short({ seed: config.seed, backbone: config.backbone, file: btStartKey(config) })}.safetensors`,
  );
}

/** Where a backbone initialisation lives. */
export function backbonePath(config: Config, init: Exclude<BackboneInit, 'none'>): string {
  return join(
    config.paths.checkpoints,
    `backbone_${init}-${init === 'imagenet' ? imagenetFingerprint(config) : pretrainFingerprint(config)}.safetensors`,
  );
}

/** A fresh 1-channel ResNet of the config's size (optionally with a classifier head). */
export function makeBackbone(
  config: Config,
  rng: Rng,
  opts: { numClasses?: number; zeroInitResidual?: boolean } = {},
): ResNet {
  return resnetFromConfig(config.backbone, rng, opts);
}

/** Saves the backbone's parameters and running statistics (not a classifier head) atomically. */
export function saveBackbone(model: ResNet, path: string, state: Record<string, unknown> = {}): void {
  const tensors = new Map<string, tf.Tensor>();
  for (const p of model.store.all()) if (!p.name.startsWith('fc.')) tensors.set(p.name, p.variable);
  saveCheckpoint(path, tensors, state);
}

/** A backbone with the weights saved at `path` (by `saveBackbone`); throws, naming notebook 03, when it is missing. */
export function loadBackboneFile(config: Config, path: string, rng: Rng, what = path): ResNet {
  return loadWeightsInto(makeBackbone(config, rng), path, `${what} not found at ${path}`, config);
}

/** Fills `model` (not its classifier head) from the checkpoint at `path`; disposes it and throws when missing. */
function loadWeightsInto(model: ResNet, path: string, missing: string, config: Config): ResNet {
  if (!existsSync(path)) {
    model.dispose();
    throw new Error(`${missing}: run notebook 03_pretraining first (profile ${config.profile})`);
  }
  const target = new Map(
    model.store
      .all()
      .filter((p) => !p.name.startsWith('fc.'))
      .map((p) => [p.name, p.variable] as [string, tf.Variable]),
  );
  assignTensors(target, readCheckpoint(path).tensors, path);
  return model;
}

/**
 * A backbone with the weights of `init` (`none`: the seeded random initialisation). Throws, naming
 * notebook 03, when a pretrained file is missing.
 */
export function loadBackbone(
  config: Config,
  init: BackboneInit,
  rng: Rng,
  opts: { numClasses?: number; zeroInitResidual?: boolean } = {},
): ResNet {
  const model = makeBackbone(config, rng, opts);
  if (init === 'none') return model;
  const path = backbonePath(config, init);
  return loadWeightsInto(model, path, `backbone '${init}' not found at ${path}`, config);
}
