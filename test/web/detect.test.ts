/**
 * The web page's input is the training input: `inputTensor` (src/web/detect.ts) places an image as the
 * image cache's decoder does for training and scoring (keep-ratio resize to fit the square, top left,
 * zeros right of and below it), and the page's detections on it are notebook 04's `detectAll` on the
 * same file. Non-square images only: on a square one a squash to the square is the same placement, so
 * a page that squashed would pass these tests only there.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { encodeDicom, uidFromKey } from '../../src/data/dicomWrite.js';
import { decodeImageBytes } from '../../src/data/imageDecode.js';
import { initEngine } from '../../src/engine.js';
import { detectorOnResnet, disposeDetector, resnetFromConfig } from '../../src/models/detectorBuild.js';
import { makeRng } from '../../src/rng.js';
import { detectAll, keepRatioPixels, loadDetectionSet, scaleBoxes } from '../../src/train/detectionRun.js';
import { boxCam, detect, inputTensor, type WebDetector } from '../../src/web/detect.js';
import { WEB_FORMAT, type WebManifest } from '../../src/web/format.js';
import { tempDir } from '../helpers.js';
import { tinyDetectionConfig } from '../helpers/tinyDetector.js';

before(async () => {
  await initEngine('cpu');
});

/** A `width`×`height` 12-bit DICOM: a gradient that never reaches 0 and a bright round "lesion" at (cx, cy). */
function writeDicom(path: string, width: number, height: number, cx: number, cy: number): Uint8Array {
  const pixels = new Uint16Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      pixels[y * width + x] = Math.min(
        4095,
        400 + 9 * x + 7 * y + (Math.hypot(x - cx, y - cy) < 12 ? 1800 : 0),
      );
  const bytes = encodeDicom({
    rows: height,
    columns: width,
    pixels,
    bitsStored: 12,
    photometric: 'MONOCHROME2',
    rescaleSlope: 1,
    rescaleIntercept: 0,
    windowCenter: 2048,
    windowWidth: 4096,
    pixelSpacing: [0.5, 0.5],
    sopInstanceUid: uidFromKey(`web-detect/${width}x${height}`),
    studyUid: uidFromKey('web-detect/study'),
    seriesUid: uidFromKey('web-detect/series'),
    patientId: 'WEBDETECT',
  });
  writeFileSync(path, bytes);
  return bytes;
}

test('inputTensor places a non-square image as training does: keep-ratio, top left, zero padding (hand-computed sizes)', async () => {
  const dir = tempDir();
  // Landscape 160×96 into 64: scale 64/160 = 0.4, sides 64 × int(38.4 + 0.5) = 38, padding below.
  // Portrait 96×160 into 64: 38 × 64, padding right.
  for (const [w, h, rw, rh] of [
    [160, 96, 64, 38],
    [96, 160, 38, 64],
  ] as const) {
    const path = join(dir, `${w}x${h}.dicom`);
    const img = await decodeImageBytes(writeDicom(path, w, h, w / 2, h / 2), path);
    const input = inputTensor(img, 64);
    assert.deepEqual(input.x.shape, [1, 64, 64, 1]);
    assert.deepEqual(input.imageHw, [rh, rw]);
    assert.deepEqual(input.scales, [rw / w, rh / h]);
    const px = input.x.dataSync();
    // Exactly the training decoder's pixels (the image cache's keep-ratio-top-left decoder).
    const train = await keepRatioPixels(path, 64);
    assert.deepEqual(train.meta, [w, h, rw, rh]);
    let differ = 0;
    for (let i = 0; i < px.length; i++) if (px[i] !== train.pixels[i]) differ++;
    assert.equal(differ, 0, `${w}×${h}: ${differ} of ${px.length} input pixels differ from training's`);
    // The image where it was put, nothing elsewhere (the gradient is above 0 everywhere in the image).
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        const v = px[y * 64 + x]!;
        if (y < rh && x < rw) assert.ok(v > 0, `${w}×${h}: image pixel (${x}, ${y}) is ${v}`);
        else assert.equal(v, 0, `${w}×${h}: padding pixel (${x}, ${y}) is ${v}`);
      }
    input.x.dispose();
  }
});

test("the page's detections on a non-square image are notebook 04's detectAll on the training set of the same file", async () => {
  const dir = tempDir();
  const config = tinyDetectionConfig();
  const size = config.detection.inputSizes[0]!;
  const [w, h] = [100, 160];
  const path = join(dir, 'portrait.dicom');
  const img = await decodeImageBytes(writeDicom(path, w, h, 40, 60), path);
  const gt = [[28, 48, 52, 72]];
  const set = await loadDetectionSet(
    [{ imageId: 'portrait', path, width: w, height: h, boxes: gt, labels: [3] }],
    size,
  );
  const input = inputTensor(img, size);
  assert.deepEqual(input.imageHw, set.sizesHw[0]);
  assert.deepEqual(input.scales, set.scales[0]);
  // What the page draws the ground truth with: the boxes training was given.
  assert.deepEqual(scaleBoxes(gt, input.scales), set.targets[0]!.boxes);

  const rng = makeRng(7);
  const resnet = resnetFromConfig(config.backbone, rng.fork('backbone'));
  const detector = detectorOnResnet(resnet, config.detection, rng.fork('heads'));
  const web: WebDetector = {
    init: 'none',
    detector,
    resnet,
    dispose: () => disposeDetector(resnet, detector),
  };
  try {
    const page = detect(web, input);
    const nb04 = detectAll(detector, set, 1)[0]!;
    assert.ok(page.length > 0, 'the seeded detector finds something on the image');
    assert.equal(page.length, nb04.scores.length);
    const byScore = nb04.scores.map((s, k) => k).sort((a, b) => nb04.scores[b]! - nb04.scores[a]!);
    page.forEach((d, j) => {
      const k = byScore[j]!;
      assert.equal(d.label, nb04.labels[k]);
      assert.ok(Math.abs(d.score - nb04.scores[k]!) < 1e-6, `score ${d.score} vs ${nb04.scores[k]}`);
      d.box.forEach((v, c) =>
        assert.ok(Math.abs(v - nb04.boxes[k]![c]!) < 1e-4, `box ${d.box} vs ${nb04.boxes[k]}`),
      );
      // Clipped to the image, not to the square.
      assert.ok(d.box[2]! <= input.imageHw[1] + 1e-4 && d.box[3]! <= input.imageHw[0] + 1e-4, `box ${d.box}`);
    });

    // The heat map covers the image only (notebook 06 crops the padding before scoring a map).
    const manifest = { format: WEB_FORMAT, cam: { ...config.cam, batchSize: 32 } } as unknown as WebManifest;
    const top = page[0]!;
    const cam = await boxCam(manifest, web, input, top.box, top.label);
    assert.deepEqual([cam.cam.height, cam.cam.width], input.imageHw);
    assert.ok(cam.massInBox >= 0 && cam.massInBox <= 1, `mass ${cam.massInBox}`);
  } finally {
    web.dispose();
    input.x.dispose();
    set.dispose();
  }
  assert.equal(tf.memory().numTensors, 0, 'tensors left');
});
