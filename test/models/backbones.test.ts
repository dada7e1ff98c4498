import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeConfig, type Config } from '../../src/config.js';
import { forgetDataFingerprints } from '../../src/data/dataCache.js';
import { NIH_COLUMNS } from '../../src/data/nih.js';
import { encodeGrayPng } from '../../src/data/png.js';
import { writeFileAtomic } from '../../src/io.js';
import { backbonePath, imagenetFingerprint, pretrainFingerprint } from '../../src/models/backbones.js';
import { tempDir } from '../helpers.js';

function nihFolder(): string {
  const dir = tempDir();
  writeFileAtomic(
    join(dir, 'Data_Entry_2017.csv'),
    `${NIH_COLUMNS.join(',')},\na.png,Mass,0,1,58,M,PA,64,64,0.1,0.1,\nb.png,No Finding,0,2,40,F,PA,64,64,0.1,0.1,\n`,
  );
  for (const [name, v] of [
    ['a.png', 10],
    ['b.png', 200],
  ] as const)
    writeFileAtomic(
      join(dir, 'images', name),
      encodeGrayPng({ width: 8, height: 8, pixels: new Uint8Array(64).fill(v), bitDepth: 8 }),
    );
  writeFileAtomic(join(dir, 'train_val_list.txt'), 'a.png\nb.png\n');
  return dir;
}

const cfg = (nihDir: string, extra: Partial<Parameters<typeof makeConfig>[0]> = {}): Config =>
  makeConfig({
    notebook: 't',
    profile: 'smoke',
    env: {},
    ...extra,
    data: { nihDir, ...extra.data },
    paths: { checkpoints: join(nihDir, '..', 'ck') } as Config['paths'],
  });

test('pretrainFingerprint: where the data sits does not change it; its content, sizes, seed and settings do', () => {
  const a = nihFolder();
  const b = join(tempDir(), 'copy');
  cpSync(a, b, { recursive: true });
  forgetDataFingerprints();
  const base = pretrainFingerprint(cfg(a));
  assert.equal(pretrainFingerprint(cfg(b)), base);
  assert.notEqual(pretrainFingerprint(cfg(a, { env: { CXR_SEED: '5' } })), base);
  assert.notEqual(pretrainFingerprint(cfg(a, { data: { nihImages: 201 } as Config['data'] })), base);
  assert.notEqual(pretrainFingerprint(cfg(a, { pretrain: { lrWeights: 1 } })), base);
});

test('a changed image, a changed list or a new image changes the Barlow Twins key, not the ImageNet one', () => {
  const a = nihFolder();
  forgetDataFingerprints();
  const c = cfg(a);
  const [bt, inet] = [backbonePath(c, 'bt'), backbonePath(c, 'imagenet')];
  writeFileAtomic(
    join(a, 'images', 'b.png'),
    encodeGrayPng({ width: 8, height: 8, pixels: new Uint8Array(64).fill(201), bitDepth: 8 }),
  );
  forgetDataFingerprints();
  const bt2 = backbonePath(c, 'bt');
  assert.notEqual(bt2, bt);
  assert.equal(backbonePath(c, 'imagenet'), inet);
  writeFileSync(join(a, 'train_val_list.txt'), 'a.png\n');
  forgetDataFingerprints();
  const bt3 = backbonePath(c, 'bt');
  assert.notEqual(bt3, bt2);
  writeFileAtomic(
    join(a, 'images_001', 'images', 'c.png'),
    encodeGrayPng({ width: 8, height: 8, pixels: new Uint8Array(64), bitDepth: 8 }),
  );
  forgetDataFingerprints();
  assert.notEqual(backbonePath(c, 'bt'), bt3);
  assert.equal(imagenetFingerprint(c), imagenetFingerprint(cfg(nihFolder())));
});
