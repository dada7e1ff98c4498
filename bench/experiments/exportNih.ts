/**
 * Dumps the NIH-format phantom of a profile for the PyTorch recipe search (bt_recipe.py): the
 * train_val images at the size notebook 03 holds them in memory, as raw float32 `[N, S, S]` in [0, 1],
 * the held-out (test-list) images likewise, and a JSON with labels and patient ids.
 * Usage: node build/bench/experiments/exportNih.js [profile] [outDir]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfig, type ProfileName } from '../../src/config.js';
import { openNih } from '../../src/data/datasets.js';
import { initEngine } from '../../src/engine.js';
import { nihSplitSource } from '../../src/train/pretrainRun.js';

const profile = (process.argv[2] ?? 'demo') as ProfileName;
const out = process.argv[3] ?? '.cache/bt-recipe';
mkdirSync(out, { recursive: true });
const config = makeConfig({ notebook: 'export', profile });
await initEngine(config.backend);
const nih = await openNih(config);
for (const split of ['train', 'test'] as const) {
  const src = await nihSplitSource(
    nih,
    split === 'train' ? 'train_val' : 'test',
    config.data.imageSize,
    undefined,
    { stream: false },
  );
  const px = src.tensor!.dataSync() as Float32Array;
  writeFileSync(join(out, `${split}.f32`), Buffer.from(px.buffer, px.byteOffset, px.byteLength));
  writeFileSync(
    join(out, `${split}.json`),
    JSON.stringify({
      shape: src.tensor!.shape,
      ids: src.ids,
      labels: src.ids!.map((id) => nih.records.find((r) => r.imageIndex === id)!.labels),
      patients: src.ids!.map((id) => nih.records.find((r) => r.imageIndex === id)!.patientId),
    }),
  );
  console.log(`${split}: ${src.tensor!.shape}`);
  src.dispose();
}
