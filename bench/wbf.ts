/**
 * Benchmark: Weighted Boxes Fusion of a VinDr-sized reader annotation set (15,000 images, 3 readers,
 * ~36,000 boxes), ours (`fuseReaderBoxes`) beside ensemble_boxes 1.0.9 `weighted_boxes_fusion`
 * called once per image on the same normalised boxes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fuseReaderBoxes } from '../src/boxes/readers.js';
import { makeRng } from '../src/rng.js';
import { syntheticVindr } from './lib/vindrSynthetic.js';
import { median, peersDir, peerUnavailable, runPython, type BenchResult } from './lib/peers.js';

const IOU_THR = 0.55;

// Loads ensemble_boxes_wbf.py by path: the package __init__ also imports numba-based modules.
const PEER_SCRIPT = `
import importlib.util, json, sys, time
import numpy as np
d = sys.argv[1]
inp = json.load(open(d + '/input.json'))
spec = importlib.util.spec_from_file_location('ensemble_boxes_wbf', inp['module'])
wbf = importlib.util.module_from_spec(spec); spec.loader.exec_module(wbf)
import warnings; warnings.simplefilter('ignore')
images = inp['images']
best, fused = None, 0
for rep in range(inp['repeats']):
    t0 = time.perf_counter(); fused = 0
    for im in images:
        b, s, l = wbf.weighted_boxes_fusion(im[0], im[1], im[2], iou_thr=inp['iou_thr'], skip_box_thr=0.0, conf_type='avg')
        fused += len(b)
    t = time.perf_counter() - t0
    best = t if best is None else min(best, t)
json.dump({'seconds': best, 'fused': fused, 'numpy': np.__version__}, open(d + '/output.json', 'w'))
`;

/** Runs the benchmark; returns WBF throughput in images/s, ours and the peer's. */
export async function run(): Promise<BenchResult[]> {
  const { images, numBoxes } = syntheticVindr(makeRng(2024));
  fuseReaderBoxes(images.slice(0, 2000), { iouThr: IOU_THR }); // warm-up (JIT)
  const times: number[] = [];
  let fusedBoxes = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const out = fuseReaderBoxes(images, { iouThr: IOU_THR });
    times.push(performance.now() - t0);
    fusedBoxes = out.images.reduce((s, im) => s + im.boxes.length, 0);
  }
  const ours = images.length / (median(times) / 1000);

  let peer: string | null = null,
    peerValue: number | null = null;
  const module = join(peersDir(), 'Weighted-Boxes-Fusion', 'ensemble_boxes', 'ensemble_boxes_wbf.py');
  if (!existsSync(module)) {
    peerUnavailable('ensemble_boxes', `${module} not found`);
  } else {
    // The same per-image inputs fuseReaderBoxes builds: readers as models, boxes / true image size.
    const peerImages = images.map((im) => {
      const models = new Map<string, number>();
      const b: number[][][] = [],
        s: number[][] = [],
        l: number[][] = [];
      for (const a of im.annotations) {
        if (!models.has(a.readerId)) {
          models.set(a.readerId, b.length);
          b.push([]);
          s.push([]);
          l.push([]);
        }
        if (a.classId === 14 || !a.box) continue;
        const m = models.get(a.readerId)!;
        b[m]!.push([
          a.box[0]! / im.width,
          a.box[1]! / im.height,
          a.box[2]! / im.width,
          a.box[3]! / im.height,
        ]);
        s[m]!.push(1);
        l[m]!.push(a.classId);
      }
      return [b, s, l];
    });
    const r = runPython(PEER_SCRIPT, { module, images: peerImages, iou_thr: IOU_THR, repeats: 1 });
    if (r instanceof Error) peerUnavailable('ensemble_boxes', r.message);
    else {
      peer = `ensemble_boxes 1.0.9 weighted_boxes_fusion per image (Python, numpy ${r.numpy})`;
      peerValue = images.length / r.seconds;
      if (r.fused !== fusedBoxes)
        process.stderr.write(`[bench] wbf: peer fused ${r.fused} boxes, ours ${fusedBoxes}\n`);
    }
  }
  return [
    {
      name: `wbf_vindr_${images.length}img_${numBoxes}boxes`,
      value: ours,
      unit: 'images/s',
      peer,
      peerValue,
      ratio: peerValue ? ours / peerValue : null,
    },
  ];
}
