/**
 * The dry run's stand-in for the ImageNet weight file: a seeded random-weight RGB ResNet with a
 * 1000-class head, written as torchvision's `state_dict` saved with safetensors (names as torchvision's,
 * convolutions `[out, in, kh, kw]`, the classifier `[out, in]`). It goes through the same importer
 * (`loadTorchResNetWeights`: names and shapes checked, RGB summed, normalisation folded) as the real file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackboneConfig } from '../config.js';
import { writeFileAtomic } from '../io.js';
import { makeRng } from '../rng.js';
import { ResNet } from './resnet.js';
import { encodeSafetensors, type RawTensor } from './safetensors.js';
import { transposeRaw } from './weights.js';

/** Part of the `imagenet` fingerprint of a dry run: bump when the stand-in's content changes. */
export const STAND_IN_VERSION = 2;

/** The stand-in's tensors by torchvision name (a ResNet of `backbone`'s blocks and width). */
export function standInImagenetTensors(
  backbone: Pick<BackboneConfig, 'blocks' | 'width'>,
  seed: number,
): Map<string, RawTensor> {
  const rgb = new ResNet(
    // Each block's last BatchNorm weight 0 (zero_init_residual), so that, like trained ImageNet weights and
    // unlike a plain random ResNet-50 with running statistics 0 and 1, activations do not grow block by
    // block: with version 1 the detector's loss started at 23.6 and its RPN lost every proposal.
    {
      blocks: backbone.blocks,
      width: backbone.width,
      inChannels: 3,
      numClasses: 1000,
      zeroInitResidual: true,
    },
    makeRng(seed).fork('imagenet-stand-in'),
  );
  try {
    const out = new Map<string, RawTensor>();
    for (const p of rgb.store.all()) {
      let t: RawTensor = { shape: [...p.variable.shape], data: p.variable.dataSync() as Float32Array };
      // Ours are [kh, kw, in, out] and [in, out]; torchvision's [out, in, kh, kw] and [out, in].
      if (t.shape.length === 4) t = transposeRaw(t, [3, 2, 0, 1]);
      if (t.shape.length === 2) t = transposeRaw(t, [1, 0]);
      out.set(p.name, t);
    }
    return out;
  } finally {
    rgb.dispose();
  }
}

/** Writes the stand-in to `path` (atomically). */
export function writeStandInImagenetFile(
  path: string,
  backbone: Pick<BackboneConfig, 'blocks' | 'width'>,
  seed: number,
): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, encodeSafetensors(standInImagenetTensors(backbone, seed)));
}
