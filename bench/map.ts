/**
 * Benchmark: mAP@0.5 evaluation of a VinDr-sized detection set (15,000 images; ground truth = the
 * fused synthetic reader boxes; detections = jittered hits plus false positives), ours
 * (`evaluateDetections`) beside MMDetection 3.3.0 `eval_map` (numpy) on the same data, and our
 * COCO-style mode beside pycocotools when it is importable.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fuseReaderBoxes } from '../src/boxes/readers.js';
import { evaluateDetections, type ImageDetections, type ImageGroundTruth } from '../src/metrics/map/index.js';
import { makeRng } from '../src/rng.js';
import { syntheticVindr } from './lib/vindrSynthetic.js';
import { median, peersDir, peerUnavailable, runPython, type BenchResult } from './lib/peers.js';

const NUM_CLASSES = 14;

// mean_ap.py imports mmengine / terminaltables only to print tables: stub them, and give its
// relative imports a throw-away package in a temp dir holding the two files it needs.
const MMDET_SCRIPT = `
import json, os, shutil, sys, time, types
import numpy as np
d = sys.argv[1]
inp = json.load(open(d + '/input.json'))
pkg = os.path.join(d, 'mmdet_eval'); os.makedirs(pkg)
for f in ('mean_ap.py', 'bbox_overlaps.py'): shutil.copy(os.path.join(inp['functional'], f), pkg)
open(os.path.join(pkg, '__init__.py'), 'w').close()
open(os.path.join(pkg, 'class_names.py'), 'w').write('def get_classes(d):\\n    raise NotImplementedError\\n')
for name in ('mmengine', 'mmengine.logging', 'mmengine.utils', 'terminaltables'):
    sys.modules[name] = types.ModuleType(name)
sys.modules['mmengine.logging'].print_log = lambda *a, **k: None
sys.modules['mmengine.utils'].is_str = lambda x: isinstance(x, str)
sys.modules['terminaltables'].AsciiTable = object
sys.path.insert(0, d)
from mmdet_eval.mean_ap import eval_map
C = inp['num_classes']
dets = [[np.array(c, dtype=np.float32).reshape(-1, 5) for c in im] for im in inp['dets']]
anns = [{'bboxes': np.array(g['boxes'], dtype=np.float32).reshape(-1, 4), 'labels': np.array(g['labels'], dtype=np.int64)} for g in inp['gts']]
t0 = time.perf_counter()
m, _ = eval_map(dets, anns, iou_thr=0.5, logger='silent', nproc=1, eval_mode='area')
t = time.perf_counter() - t0
json.dump({'seconds': t, 'map': float(m), 'numpy': np.__version__}, open(d + '/output.json', 'w'))
`;

const COCO_SCRIPT = `
import json, sys, time, io, contextlib
d = sys.argv[1]
inp = json.load(open(d + '/input.json'))
sys.path.insert(0, inp['pythonapi'])
import numpy as np
if not hasattr(np, 'float'): np.float = float
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
gt = {'images': [{'id': i + 1} for i in range(len(inp['gts']))], 'categories': [{'id': c} for c in range(inp['num_classes'])], 'annotations': []}
res = []
for i, g in enumerate(inp['gts']):
    for b, l in zip(g['boxes'], g['labels']):
        gt['annotations'].append({'id': len(gt['annotations']) + 1, 'image_id': i + 1, 'category_id': l, 'bbox': [b[0], b[1], b[2] - b[0], b[3] - b[1]], 'area': (b[2] - b[0]) * (b[3] - b[1]), 'iscrowd': 0})
for i, im in enumerate(inp['dets']):
    for c, lst in enumerate(im):
        for x1, y1, x2, y2, s in lst: res.append({'image_id': i + 1, 'category_id': c, 'bbox': [x1, y1, x2 - x1, y2 - y1], 'score': s})
with contextlib.redirect_stdout(io.StringIO()):
    t0 = time.perf_counter()
    cg = COCO(); cg.dataset = gt; cg.createIndex()
    E = COCOeval(cg, cg.loadRes(res), 'bbox')
    # only what our 'coco' mode computes: IoU 0.5, area 'all', maxDets 100
    E.params.iouThrs = np.array([0.5]); E.params.areaRng = [[0, 1e10]]; E.params.areaRngLbl = ['all']; E.params.maxDets = [100]
    E.evaluate(); E.accumulate()
    p = E.eval['precision'][0, :, :, 0, 0]
    t = time.perf_counter() - t0
json.dump({'seconds': t, 'map': float(np.mean(p[p > -1]))}, open(d + '/output.json', 'w'))
`;

function detectionSet(): { dets: ImageDetections[]; gts: ImageGroundTruth[] } {
  const rng = makeRng(77);
  const { images } = syntheticVindr(rng.fork('annotations'));
  const fused = fuseReaderBoxes(images).images;
  const gts: ImageGroundTruth[] = fused.map((im) => ({ boxes: im.boxes, labels: im.labels }));
  const dets: ImageDetections[] = fused.map((im) => {
    const d: ImageDetections = { boxes: [], scores: [], labels: [] };
    im.boxes.forEach((b, k) => {
      if (rng.next() < 0.3) return;
      const w = b[2]! - b[0]!,
        h = b[3]! - b[1]!;
      d.boxes.push(b.map((v, j) => v + 0.1 * (j % 2 === 0 ? w : h) * rng.normal()));
      d.scores.push(0.3 + 0.7 * rng.next());
      d.labels.push(rng.next() < 0.9 ? im.labels[k]! : rng.int(NUM_CLASSES));
    });
    for (let k = rng.int(4); k > 0; k--) {
      const x = rng.next() * (im.width - 400),
        y = rng.next() * (im.height - 400);
      d.boxes.push([x, y, x + 50 + rng.next() * 350, y + 50 + rng.next() * 350]);
      d.scores.push(0.6 * rng.next());
      d.labels.push(rng.int(NUM_CLASSES));
    }
    return d;
  });
  return { dets, gts };
}

function timeOurs(
  dets: ImageDetections[],
  gts: ImageGroundTruth[],
  mode: 'coco' | 'area',
): { seconds: number; map: number } {
  evaluateDetections(dets.slice(0, 2000), gts.slice(0, 2000), { numClasses: NUM_CLASSES, mode }); // warm-up
  const times: number[] = [];
  let map = NaN;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    map = evaluateDetections(dets, gts, { numClasses: NUM_CLASSES, mode }).map;
    times.push(performance.now() - t0);
  }
  return { seconds: median(times) / 1000, map };
}

/** Runs the benchmark; returns evaluation times in seconds, ours and the peers'. */
export async function run(): Promise<BenchResult[]> {
  const { dets, gts } = detectionSet();
  const nDets = dets.reduce((s, d) => s + d.boxes.length, 0),
    nGts = gts.reduce((s, g) => s + g.boxes.length, 0);
  // the peers' input: detections[img][cls] = [x1, y1, x2, y2, score][]
  const peerDets = dets.map((d) => {
    const per: number[][][] = Array.from({ length: NUM_CLASSES }, () => []);
    d.boxes.forEach((b, k) => per[d.labels[k]!]!.push([...b, d.scores[k]!]));
    return per;
  });
  const input = { dets: peerDets, gts, num_classes: NUM_CLASSES };
  const results: BenchResult[] = [];

  const area = timeOurs(dets, gts, 'area');
  let peer: string | null = null,
    peerValue: number | null = null;
  const functional = join(peersDir(), 'mmdetection', 'mmdet', 'evaluation', 'functional');
  if (!existsSync(join(functional, 'mean_ap.py')))
    peerUnavailable('mmdetection eval_map', `${functional}/mean_ap.py not found`);
  else {
    const r = runPython(MMDET_SCRIPT, { ...input, functional });
    if (r instanceof Error) peerUnavailable('mmdetection eval_map', r.message);
    else {
      peer = `MMDetection 3.3.0 eval_map(eval_mode='area', nproc=1) (Python, numpy ${r.numpy})`;
      peerValue = r.seconds;
      if (Math.abs(r.map - area.map) > 1e-6)
        process.stderr.write(`[bench] map: mmdet mAP ${r.map}, ours ${area.map}\n`);
    }
  }
  results.push({
    name: `map50_area_${dets.length}img_${nDets}dets_${nGts}gts`,
    value: area.seconds,
    unit: 's',
    peer,
    peerValue,
    ratio: peerValue ? peerValue / area.seconds : null,
  });

  const coco = timeOurs(dets, gts, 'coco');
  peer = null;
  peerValue = null;
  const pythonapi = join(peersDir(), 'cocoapi', 'PythonAPI');
  if (!existsSync(join(pythonapi, 'pycocotools', 'cocoeval.py')))
    peerUnavailable('pycocotools', `${pythonapi}/pycocotools not found (needs its C extension built)`);
  else {
    const r = runPython(COCO_SCRIPT, { ...input, pythonapi });
    if (r instanceof Error) peerUnavailable('pycocotools', r.message);
    else {
      peer = 'pycocotools COCOeval bbox at IoU 0.5, area all, maxDets 100 (Python + C extension IoU)';
      peerValue = r.seconds;
      if (Math.abs(r.map - coco.map) > 1e-9)
        process.stderr.write(`[bench] map: pycocotools AP50 ${r.map}, ours ${coco.map}\n`);
    }
  }
  results.push({
    name: `map50_coco_${dets.length}img_${nDets}dets_${nGts}gts`,
    value: coco.seconds,
    unit: 's',
    peer,
    peerValue,
    ratio: peerValue ? peerValue / coco.seconds : null,
  });
  return results;
}
