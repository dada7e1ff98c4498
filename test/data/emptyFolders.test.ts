/** Empty image folders: clear messages naming the folder and what to do, not crashes later on. */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeConfig, type Config } from '../../src/config.js';
import { openNih, openVindr } from '../../src/data/datasets.js';
import { ensureNihPhantom, ensureVindrPhantom } from '../../src/data/synthetic.js';
import { nihTrainSource } from '../../src/train/pretrainRun.js';
import { tempDir } from '../helpers.js';

const root = tempDir('cxr-empty-');
const config = (nih = join(root, 'nih')): Config => makeConfig({
  notebook: 't', profile: 'smoke', env: { CXR_NIH_DIR: nih, CXR_VINDR_DIR: join(root, 'vindr') },
  paths: { results: join(root, 'results'), checkpoints: join(root, 'ck'), figures: join(root, 'fig') } as Config['paths'],
  backbone: { blocks: [1, 1, 1, 1], width: 4, inputSize: 16 },
});

test('an empty NIH images/ folder (notebooks 01, 03, 05): "none of the N images listed ... has a readable PNG", naming the folder', async () => {
  ensureNihPhantom({ dir: join(root, 'nih'), numImages: 12, imageSize: 16, seed: 1 });
  rmSync(join(root, 'nih', 'images'), { recursive: true });
  mkdirSync(join(root, 'nih', 'images'));
  await assert.rejects(openNih(config(), { log: () => {} }), (e: Error) => e.message.startsWith(`NIH: none of the 12 images listed in ${join(root, 'nih')}/Data_Entry_2017.csv has a readable PNG under images/`) && /point CXR_NIH_DIR/.test(e.message));
});

test('an empty VinDr train/ folder (notebooks 02, 04, 06): "none of the N images listed ... has a readable file under train/"', async () => {
  ensureVindrPhantom({ dir: join(root, 'vindr'), numImages: 6, imageSize: 32, seed: 1 });
  rmSync(join(root, 'vindr', 'train'), { recursive: true });
  mkdirSync(join(root, 'vindr', 'train'));
  await assert.rejects(openVindr(config(), { log: () => {} }), (e: Error) => e.message.startsWith(`VinDr: none of the 6 images listed in ${join(root, 'vindr')}/train.csv has a readable file under train/`) && /CXR_VINDR_DIR/.test(e.message));
});

test('no train_val images with pixels (notebook 03): "no pretraining images", not "Pass at least one tensor to concat"', async () => {
  const dir = join(root, 'nih2');
  ensureNihPhantom({ dir, numImages: 12, imageSize: 16, seed: 1 });
  const nih = await openNih(config(dir), { log: () => {} });
  for (const id of nih.trainVal) nih.imagePaths.delete(id);
  await assert.rejects(nihTrainSource(nih, 16), /^Error: NIH: no pretraining images: \d+ image\(s\) in .*train_val_list\.txt/);
});
