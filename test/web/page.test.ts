/**
 * The web page in a real browser: headless Chromium (the system's, through puppeteer-core) loads the
 * built site with two detectors in the export format notebook 06 writes (here seeded, untrained
 * detectors of the smoke profile's shape, made by the test: a smoke run's detectors find nothing yet,
 * and parity needs detections), runs detection on the gallery's DICOM and the Ablation-CAM of its
 * top box, and the page's numbers must equal the Node library's on the same file (a portrait image, so
 * the page's keep-ratio placement is exercised; test/web/detect.test.ts ties that placement to training's):
 * - every detection scoring above the comparison floor has a partner of the same class with each box
 *   coordinate within 0.05 input pixels and the score within 1e-3 (the browser runs tfjs's wasm
 *   backend, Node the notebooks' backend: both float32, summing in different orders);
 * - the heat map's mass inside the box within 0.01, its target score within 1e-3, and every pixel
 *   of the map within 0.02.
 * Two tests: the build and the Node half (detections and heat maps of the library), which always run,
 * and the browser half. Without Chromium (none found, or CXR_CHROMIUM=none) the browser half
 * fails with a message naming Chromium and how to install it (test/helpers.ts, browserOrFail).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildSite } from '../../scripts/web.js';
import { runPage } from '../../scripts/webPage.js';
import { makeConfig, repoRoot } from '../../src/config.js';
import { initEngine } from '../../src/engine.js';
import { encodeDicom, uidFromKey } from '../../src/data/dicomWrite.js';
import { VINDR_CLASSES } from '../../src/data/labels.js';
import { backboneLabel, type BackboneInit } from '../../src/models/backbones.js';
import {
  detectorOnResnet,
  detectorTensors,
  disposeDetector,
  resnetFromConfig,
} from '../../src/models/detectorBuild.js';
import { encodeSafetensors } from '../../src/models/safetensors.js';
import { makeRng } from '../../src/rng.js';
import { decodeImageBytes } from '../../src/data/imageDecode.js';
import { browserOrFail } from '../helpers.js';
import {
  boxCam,
  detect,
  inputTensor,
  loadWebDetector,
  type BoxCam,
  type WebDetection,
} from '../../src/web/detect.js';
import { checkWebManifest, WEB_FORMAT, type WebManifest } from '../../src/web/format.js';
import { FASTER_RCNN_DEFAULTS } from '../../src/models/fasterRcnn/detector.js';

/** Two seeded detectors of the smoke profile's shape and one 12-bit MONOCHROME1 DICOM, written as exportWebModels writes them. */
function makeFixture(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'gallery'), { recursive: true });
  const config = makeConfig({ notebook: 'test', profile: 'smoke', env: {} });
  const models = ['bt_imagenet', 'imagenet'].map((init, k) => {
    const rng = makeRng(100 + k);
    const resnet = resnetFromConfig(config.backbone, rng.fork('backbone'));
    const detector = detectorOnResnet(resnet, config.detection, rng.fork('heads'));
    const raw = new Map(
      [...detectorTensors(resnet, detector)].map(([name, t]) => [
        name,
        { shape: [...t.shape], data: t.dataSync() as Float32Array },
      ]),
    );
    const bytes = encodeSafetensors(raw, { format: WEB_FORMAT, init });
    disposeDetector(resnet, detector);
    writeFileSync(join(dir, `${init}.safetensors`), bytes);
    return {
      init,
      label: backboneLabel(init as BackboneInit, 'smoke'),
      file: `${init}.safetensors`,
      bytes: bytes.length,
      sha256: '',
      checkpoint: '(seeded, untrained)',
      seed: 100 + k,
      testMap: null,
    };
  });
  // A dark field with a bright round "lesion" and a gradient; stored inverted (MONOCHROME1), windowed.
  // Portrait, as most radiographs are: the page must place it as training did (keep-ratio, top left,
  // padding right), which a square image would not tell from a squash.
  const [nw, nh] = [112, 144];
  const pixels = new Uint16Array(nw * nh);
  for (let y = 0; y < nh; y++)
    for (let x = 0; x < nw; x++) {
      const lesion = Math.hypot(x - 80, y - 50) < 14 ? 1800 : 0;
      pixels[y * nw + x] = 4095 - Math.min(4095, 600 + 12 * x + 5 * y + lesion);
    }
  writeFileSync(
    join(dir, 'gallery', 'phantom.dicom'),
    encodeDicom({
      rows: nh,
      columns: nw,
      pixels,
      bitsStored: 12,
      photometric: 'MONOCHROME1',
      rescaleSlope: 1,
      rescaleIntercept: 0,
      windowCenter: 2048,
      windowWidth: 4096,
      pixelSpacing: [0.5, 0.5],
      sopInstanceUid: uidFromKey('web-test'),
      studyUid: uidFromKey('web-test/study'),
      seriesUid: uidFromKey('web-test/series'),
      patientId: 'WEBTEST',
    }),
  );
  const manifest: WebManifest = {
    format: WEB_FORMAT,
    profile: 'smoke',
    notebook: 'test/web/page.test.ts',
    commit: null,
    dirty: null,
    inputSize: config.detection.inputSizes[0]!,
    backbone: config.backbone,
    detection: config.detection,
    cam: config.cam,
    classes: [...VINDR_CLASSES],
    models,
    gallery: [
      {
        imageId: 'phantom',
        file: 'gallery/phantom.dicom',
        width: nw,
        height: nh,
        gt: { boxes: [[66, 36, 94, 64]], labels: [3] },
        readers: [{ reader: 'R1', label: 3, box: [64, 35, 95, 66] }],
      },
    ],
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

const TOL = { box: 0.05, score: 1e-3, mass: 0.01, camPixel: 0.02 };

/** Detections compared: those clearly above the score floor (the detector's own, or the 100th score when the list is full). */
function comparable(dets: readonly WebDetection[], scoreThr: number): WebDetection[] {
  const floor = Math.max(scoreThr, dets.length >= 100 ? Math.min(...dets.map((d) => d.score)) : 0);
  return dets.filter((d) => d.score > floor + TOL.score);
}

function partner(d: WebDetection, others: readonly WebDetection[]): WebDetection | undefined {
  return others.find(
    (o) =>
      o.label === d.label &&
      Math.abs(o.score - d.score) <= TOL.score &&
      o.box.every((v, i) => Math.abs(v - d.box[i]!) <= TOL.box),
  );
}

/** What the build-and-Node test leaves for the browser test: plain values, every tensor disposed. */
interface NodeHalf {
  dist: string;
  manifest: WebManifest;
  /** Each model's detections on the gallery image. */
  dets: WebDetection[][];
  /** Each model's Ablation-CAM of model 0's top detection (the box the page explains with `box=0`). */
  cams: BoxCam[];
}
let nodeHalf: NodeHalf | undefined;

test(
  'web page: the site builds with the fixture models, and the Node library detects and explains on its image',
  { timeout: 600_000 },
  async (t) => {
    // Node computes with the notebooks' backend (cxr-cpu where the addon is built, else plain tfjs).
    await initEngine('auto');
    const root = repoRoot();
    const fixture = join(root, 'build', 'test-web', 'models');
    makeFixture(fixture);
    const dist = join(root, 'build', 'test-web', 'dist');
    const site = await buildSite({ modelsDir: fixture, out: dist });
    for (const f of [
      'index.html',
      'app.js',
      'tfjs-backend-wasm.wasm',
      'tfjs-backend-wasm-simd.wasm',
      'models/manifest.json',
    ])
      assert.ok((site.files[f] ?? 0) > 0, `${f} in the built site`);

    // The Node library on the same file.
    const manifest = checkWebManifest(JSON.parse(readFileSync(join(fixture, 'manifest.json'), 'utf8')));
    const g = manifest.gallery[0]!;
    const img = await decodeImageBytes(readFileSync(join(fixture, g.file)), g.file);
    const x = inputTensor(img, manifest.inputSize);
    assert.ok(x.imageHw[1] < manifest.inputSize, 'the fixture is placed with padding on the right');
    const detectors = manifest.models.map((m) =>
      loadWebDetector(manifest, m.init, readFileSync(join(fixture, m.file))),
    );
    const dets = detectors.map((d) => detect(d, x));
    assert.ok(dets[0]!.length > 0, 'the fixture detector finds something on the fixture image');
    const top = dets[0]![0]!;
    const cams: BoxCam[] = [];
    for (const d of detectors) {
      const c = await boxCam(manifest, d, x, top.box, top.label);
      assert.ok(Number.isFinite(c.score), `${d.init}: CAM target score ${c.score}`);
      assert.ok(c.massInBox >= 0 && c.massInBox <= 1 + 1e-6, `${d.init}: mass in box ${c.massInBox}`);
      assert.deepEqual(
        [c.cam.height, c.cam.width],
        x.imageHw,
        `${d.init}: the map covers the image, not the padding`,
      );
      cams.push(c);
    }
    detectors.forEach((d) => d.dispose());
    x.x.dispose();
    assert.equal(tf.memory().numTensors, 0, 'tensors left after disposing');
    t.diagnostic(
      `Node: ${dets.map((d, i) => `${manifest.models[i]!.init} ${d.length} detections`).join(', ')}`,
    );
    nodeHalf = { dist, manifest, dets, cams };
  },
);

test(
  "web page: headless Chromium gives the Node library's detections and heat-map mass on the same image",
  { timeout: 600_000 },
  async (t) => {
    const chromium = browserOrFail(
      'the web page in headless Chromium (the build and the Node half are tested above)',
    );
    assert.ok(nodeHalf, 'the build and the Node half (the test above) did not finish');
    const { dist, manifest, dets: nodeDets, cams } = nodeHalf;
    const g = manifest.gallery[0]!;
    const root = repoRoot();
    const shot = join(root, 'build', 'test-web', 'screenshot.png');
    // After the run, a file that is no image is dropped in: a clear message, and the results stay.
    const bad = join(root, 'build', 'test-web', 'not-an-image.png');
    writeFileSync(bad, 'this is not a PNG');
    const { page, consoleErrors, after } = await runPage({
      chromium,
      dist,
      query: 'backend=wasm&image=0&box=0&repeat=2',
      screenshot: shot,
      timeoutMs: 400_000,
      after: async (tab) => {
        const input = await tab.$('#file');
        await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(bad);
        await tab.waitForFunction(() => !document.getElementById('error')!.hidden, { timeout: 30_000 });
        return tab.evaluate(() => ({
          error: document.getElementById('error')!.textContent,
          image: (window as unknown as { cxrPage: { results: { image: string } } }).cxrPage.results.image,
        }));
      },
    });
    const dropped = after as { error: string; image: string };
    assert.match(dropped.error, /not-an-image\.png cannot be used: .*PNG does not decode/);
    assert.equal(dropped.image, page.results!.image, 'a bad file leaves the shown image and its results');
    assert.equal(page.state, 'done', `page state: ${page.message}; console: ${consoleErrors.join(' | ')}`);
    assert.equal(page.backend, 'wasm');
    assert.ok(existsSync(shot));
    const res = page.results!;
    assert.equal(res.image, g.imageId);

    for (const [i, m] of manifest.models.entries()) {
      const pageDets = res.models[i]!.detections;
      const mine = comparable(nodeDets[i]!, FASTER_RCNN_DEFAULTS.boxScoreThr);
      const theirs = comparable(pageDets, FASTER_RCNN_DEFAULTS.boxScoreThr);
      assert.ok(mine.length > 0, `${m.init}: detections to compare`);
      for (const d of mine)
        assert.ok(partner(d, pageDets), `${m.init}: Node's ${JSON.stringify(d)} not on the page`);
      for (const d of theirs)
        assert.ok(partner(d, nodeDets[i]!), `${m.init}: the page's ${JSON.stringify(d)} not in Node's`);
      t.diagnostic(`${m.init}: ${mine.length} detections agree (best ${mine[0]!.score.toFixed(4)})`);
    }

    // The heat maps of the box the page explained (model 0's top detection): Node's own top box must be it.
    const chosen = res.models[0]!.cam!;
    const top = nodeDets[0]![0]!;
    assert.ok(
      partner(top, [{ box: chosen.box, label: chosen.label, score: top.score }]),
      "the page explained Node's top detection",
    );
    for (const [i, m] of manifest.models.entries()) {
      const mine = cams[i]!;
      const theirs = res.models[i]!.cam!;
      assert.ok(
        Math.abs(mine.score - theirs.score) <= TOL.score,
        `${m.init}: CAM target ${theirs.score} vs Node ${mine.score}`,
      );
      assert.ok(
        Math.abs(mine.massInBox - theirs.massInBox) <= TOL.mass,
        `${m.init}: mass in box ${theirs.massInBox} vs Node ${mine.massInBox}`,
      );
      assert.equal(theirs.map.length, mine.cam.data.length);
      let worst = 0;
      for (let k = 0; k < theirs.map.length; k++)
        worst = Math.max(worst, Math.abs(theirs.map[k]! - mine.cam.data[k]!));
      assert.ok(worst <= TOL.camPixel, `${m.init}: heat-map pixels differ by up to ${worst}`);
      t.diagnostic(
        `${m.init}: mass in box ${theirs.massInBox.toFixed(4)} (Node ${mine.massInBox.toFixed(4)}), max pixel difference ${worst.toExponential(1)}`,
      );
    }
    const ms = (v: number) => `${Math.round(v)} ms`;
    t.diagnostic(
      `Chromium ${page.backend}: load ${ms(page.timings.loadMs)}, detection first ${ms(page.timings.detectMs[0]!)}, next ${page.timings.detectMs.slice(1).map(ms).join(', ')}, CAM ${page.timings.camMs.map(ms).join(', ')} (shared machine)`,
    );
  },
);
