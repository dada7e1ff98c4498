/**
 * The backbone initialisations the paper compares, as files notebooks 04–06 load:
 * `none` (random), `imagenet` (the user's ImageNet file in `paper`, the proxy in smoke/demo),
 * `bt` (Barlow Twins from scratch) and `bt_imagenet` (Barlow Twins started from `imagenet`).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config.js';
import type { Rng } from '../rng.js';
import { resnetFromConfig } from './detectorBuild.js';
import type { ResNet } from './resnet.js';
import { assignTensors, readCheckpoint, saveCheckpoint } from './weights.js';

export type BackboneInit = 'none' | 'imagenet' | 'bt' | 'bt_imagenet';
export const BACKBONE_INITS: readonly BackboneInit[] = ['none', 'imagenet', 'bt', 'bt_imagenet'];

/** How each initialisation is named in tables and legends (the proxy is named as a proxy). */
export function backboneLabel(init: BackboneInit, profile: Config['profile']): string {
  const imagenet = profile === 'paper' ? 'ImageNet' : 'ImageNet-proxy';
  return { none: 'no pretraining', imagenet, bt: 'Barlow Twins', bt_imagenet: `Barlow Twins from ${imagenet}` }[init];
}

/**
 * A short hash of everything a pretrained backbone depends on, put in its file name so that a
 * checkpoint made under other settings is never picked up by mistake.
 */
export function pretrainFingerprint(config: Config): string {
  // The phantom is a function of its sizes and the seed, not of where the clone sits: its folders stay out.
  const { nihDir, vindrDir, ...phantom } = config.data;
  void vindrDir;
  const key = JSON.stringify({ seed: config.seed, backbone: config.backbone, pretrain: config.pretrain, proxy: config.proxy, data: config.data.source === 'synthetic' ? phantom : nihDir, imagenet: config.data.imagenetWeights });
  return createHash('sha256').update(key).digest('hex').slice(0, 10);
}

/** Where a backbone initialisation lives. */
export function backbonePath(config: Config, init: Exclude<BackboneInit, 'none'>): string {
  return join(config.paths.checkpoints, `backbone_${init}-${pretrainFingerprint(config)}.safetensors`);
}

/** A fresh 1-channel ResNet of the config's size (optionally with a classifier head). */
export function makeBackbone(config: Config, rng: Rng, opts: { numClasses?: number; zeroInitResidual?: boolean } = {}): ResNet {
  return resnetFromConfig(config.backbone, rng, opts);
}

/** Saves the backbone's parameters and running statistics (not a classifier head) atomically. */
export function saveBackbone(model: ResNet, path: string, state: Record<string, unknown> = {}): void {
  const tensors = new Map<string, tf.Tensor>();
  for (const p of model.store.all()) if (!p.name.startsWith('fc.')) tensors.set(p.name, p.variable);
  saveCheckpoint(path, tensors, state);
}

/**
 * A backbone with the weights of `init` (`none`: the seeded random initialisation). Throws, naming
 * notebook 03, when a pretrained file is missing.
 */
export function loadBackbone(config: Config, init: BackboneInit, rng: Rng, opts: { numClasses?: number } = {}): ResNet {
  const model = makeBackbone(config, rng, opts);
  if (init === 'none') return model;
  const path = backbonePath(config, init);
  if (!existsSync(path)) {
    model.dispose();
    throw new Error(`backbone '${init}' not found at ${path}: run notebook 03_pretraining first (profile ${config.profile})`);
  }
  const target = new Map(model.store.all().filter((p) => !p.name.startsWith('fc.')).map((p) => [p.name, p.variable] as [string, tf.Variable]));
  assignTensors(target, readCheckpoint(path).tensors, path);
  return model;
}
