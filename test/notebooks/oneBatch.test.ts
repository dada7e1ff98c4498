/**
 * The notebooks' "method on one batch" sections, run here on small inputs: every cell tagged
 * `one-batch` ends in `cxr.checkClose` (step-by-step value vs library call), so a section that no
 * longer matches the library fails `npm test` as well as the notebook run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine } from '../../src/engine.js';
import * as cxr from '../../src/index.js';
import { runTaggedCells } from '../helpers/cells.js';
import { rampImage } from '../helpers/tinyDetector.js';

const smoke = cxr.makeConfig({ profile: 'smoke', notebook: 'test', env: {} });

// Three readers on a 1000 × 800 image: R1, R2 and R3 box the same nodule (class 8) with small jitter,
// R1 also boxes an effusion (class 10) nobody else saw, R4 wrote "No finding". So WBF makes two
// clusters: the nodule with score 3/4 and the effusion with score 1/4 (four readers are four models).
const wbfImage = {
  imageId: 'hand',
  width: 1000,
  height: 800,
  readers: ['R1', 'R2', 'R3', 'R4'],
  noFindingReaders: ['R4'],
  annotations: [
    { readerId: 'R1', classId: 8, box: [100, 100, 200, 220] },
    { readerId: 'R1', classId: 10, box: [600, 400, 900, 700] },
    { readerId: 'R2', classId: 8, box: [110, 95, 205, 210] },
    { readerId: 'R3', classId: 8, box: [90, 105, 195, 230] },
  ],
};

test('02: WBF by hand on one image equals weightedBoxesFusion', async () => {
  await runTaggedCells('02_wbf', { cxr, config: smoke, one: wbfImage });
});

test('02: the section fails when the library disagrees with the hand computation', async () => {
  const shifted = {
    ...cxr,
    weightedBoxesFusion: (...args: Parameters<typeof cxr.weightedBoxesFusion>) => {
      const r = cxr.weightedBoxesFusion(...args);
      return { ...r, boxes: r.boxes.map((b) => b.map((v) => v + 0.01)) };
    },
  };
  await assert.rejects(
    runTaggedCells('02_wbf', { cxr: shifted, config: smoke, one: wbfImage }),
    /fused boxes/,
  );
});

/** A fake notebook session: the sections only fork its generator and show figures and tables. */
const fakeNb = (seed: number) => ({ rng: cxr.makeRng(seed), show: () => undefined, table: () => undefined });

test('03: the Barlow Twins loss by hand equals barlowTwinsLoss, and one LARS step equals Lars', async () => {
  const tf = cxr.tf;
  const side = smoke.data.imageSize;
  // Smooth, different films (stripes at a per-image angle), so the views and embeddings differ.
  const source = {
    count: 64,
    batch: (idx: number[]) =>
      tf.tidy(() => {
        const xy = tf.linspace(0, 6, side);
        const films = idx.map((i) =>
          tf.sin(
            tf.add(tf.mul(xy.reshape([side, 1]), Math.cos(i)), tf.mul(xy.reshape([1, side]), Math.sin(i))),
          ),
        );
        return tf.stack(films).mul(0.5).add(0.5).reshape([idx.length, side, side, 1]) as cxr.tf.Tensor4D;
      }),
  };
  await initEngine(smoke.backend);
  await runTaggedCells('03_pretraining', { cxr, config: smoke, nb: fakeNb(3), source });
});

test('05: the ROC area by trapezoids equals rocAuc, and the stratified cut is linearEvalSplit().test', async () => {
  // 40 test-list films: every third has an effusion, every fifth atelectasis, the rest are normal;
  // ages repeat (ties), so the ROC has diagonal steps the trapezoid rule must count as 1/2.
  const records = Array.from({ length: 40 }, (_, i) => ({
    imageIndex: `img${String(i).padStart(3, '0')}.png`,
    labels: i % 3 === 0 ? ['Effusion'] : i % 5 === 0 ? ['Atelectasis'] : ['No Finding'],
    age: 30 + ((i * 7) % 11),
  }));
  const nih = {
    records,
    test: new Set(records.map((r) => r.imageIndex)),
    imagePaths: new Map(records.map((r) => [r.imageIndex, `/nowhere/${r.imageIndex}`])),
  };
  const pool = records;
  const Y = cxr.nihLabelMatrix(records as never);
  await runTaggedCells('05_linear_evaluation', { cxr, config: smoke, nb: fakeNb(5), nih, pool, Y });
});

test('06: Ablation-CAM by hand (one channel, every weight, the map) equals ablationCam', async () => {
  const tf = cxr.tf;
  await initEngine(smoke.backend);
  // A 4 × 4 layer with 8 channels and a linear head over ReLU(A) whose weights change sign by channel,
  // so some ablations lower the score (positive w_k) and some raise it (negative w_k, cut by the ReLU).
  const activations = tf.tidy(() =>
    tf.sin(tf.range(0, 128).mul(0.37)).add(0.3).reshape([1, 4, 4, 8]),
  ) as cxr.tf.Tensor4D;
  const W = tf.tidy(() => tf.cos(tf.range(0, 128).mul(1.3)).reshape([1, 4, 4, 8]));
  const head = async (a: cxr.tf.Tensor4D) => {
    const t = tf.tidy(() => tf.relu(a).mul(W).sum([1, 2, 3]).add(2));
    const v = Array.from(t.dataSync());
    t.dispose();
    return v;
  };
  const x = tf.tidy(() => tf.linspace(0, 1, 256).reshape([1, 16, 16, 1]));
  const cut = { activations, dispose: () => activations.dispose() };
  const config = { ...smoke, cam: { ...smoke.cam, channelFraction: 0.5, batchSize: 3 } };
  await runTaggedCells('06_ablation_cam', { cxr, config, nb: fakeNb(6), x, cut, head, size: 16 });
  tf.dispose([activations, W, x]);
});

test('04: anchors, matcher, the four losses and NMS by hand equal the detector library', async () => {
  await initEngine(smoke.backend);
  const side = smoke.detection.inputSizes[0]!;
  // A 30 × 30 finding and a 12 × 12 one on a ramp. The section draws P2 (anchor side 32, the best fit for
  // 30 px): the large box gets positives of IoU >= 0.7, the small one reaches at most 144 / 1024 < 0.3, so
  // the best-anchor rule (min 0.3) claims nothing for it; NMS runs on the untrained RPN's proposals.
  const gt = {
    boxes: [
      [20, 30, 50, 60],
      [60, 10, 72, 22],
    ],
    labels: [3, 8],
  };
  const images = rampImage(side);
  const oneSet = { images, targets: [gt], ids: ['hand'] };
  const { detector: net, resnet: netBackbone } = cxr.buildDetector(smoke, 'none', cxr.makeRng(4));
  await runTaggedCells('04_detection', {
    cxr,
    config: smoke,
    nb: fakeNb(4),
    side,
    oneSet,
    gt,
    net,
    netBackbone,
  });
  for (const v of [...net.fpn.variables(), ...net.rpn.variables(), ...net.roiHeads.variables()]) v.dispose();
});
