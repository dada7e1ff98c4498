/**
 * Writes the Barlow Twins training-parity case (test/helpers/btParity.ts) for the PyTorch peer:
 * `<dir>/case.json` (settings, and per tensor its name, shape and offset into case.f32) and
 * `<dir>/case.f32` (float32: every backbone and projector variable in our layouts, then the views).
 * Usage: node build/bench/peers/btParityExport.js DIR && /usr/bin/python3 bench/peers/bt_parity.py DIR
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from '../../src/engine.js';
import { BT_PARITY, btParityCase } from '../../test/helpers/btParity.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node build/bench/peers/btParityExport.js DIR');
mkdirSync(dir, { recursive: true });
const engine = await initEngine('auto');
const c = btParityCase();
const entries: { name: string; shape: number[]; offset: number }[] = [];
const chunks: Float32Array[] = [];
let offset = 0;
const put = (name: string, data: Float32Array, shape: number[]): void => {
  entries.push({ name, shape, offset });
  chunks.push(data);
  offset += data.length;
};
for (const [name, v] of c.model.namedVariables()) put(name, v.dataSync() as Float32Array, v.shape);
c.views.forEach(([a, b], k) => {
  put(`view1.${k}`, a.dataSync() as Float32Array, a.shape);
  put(`view2.${k}`, b.dataSync() as Float32Array, b.shape);
});
const all = new Float32Array(offset);
let o = 0;
for (const ch of chunks) {
  all.set(ch, o);
  o += ch.length;
}
writeFileSync(join(dir, 'case.f32'), Buffer.from(all.buffer));
writeFileSync(
  join(dir, 'case.json'),
  JSON.stringify({ settings: BT_PARITY, backend: engine.backend, tensors: entries }, null, 1),
);
console.log(`wrote ${entries.length} tensors (${offset} floats) to ${dir}`);
c.dispose();
