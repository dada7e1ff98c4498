/**
 * The page: the demo's two trained detectors (notebook 06's export) run in the browser on a gallery
 * image or a dropped PNG/DICOM, with each backbone's detections and the Ablation-CAM map of a
 * chosen box side by side (Fig. 5, live). All model code is the library's own (src/web/detect.ts).
 *
 * URL parameters (the browser test uses them): `backend=webgpu|webgl|wasm|cpu` forces a backend;
 * `image=<n>` opens gallery image n at once, `box=<k>` then explains its k-th detection, `repeat=<r>`
 * runs detection r more times for the timing of warm runs.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { decodeImageBytes, type BrightnessImage } from '../../src/data/imageDecode.js';
import { checkWebManifest, type WebManifest } from '../../src/web/format.js';
import { boxCam, detect, inputTensor, loadWebDetector, webCamLayer, type BoxCam, type WebDetection, type WebDetector, type WebInput } from '../../src/web/detect.js';

interface Shown {
  name: string;
  image: BrightnessImage;
  /** The detectors' input: the image resized keeping its aspect ratio, top left of the square (as in training). */
  input: WebInput;
  /** Scale from original pixels to input pixels. */
  sx: number;
  sy: number;
  gt: { boxes: number[][]; labels: number[] } | null;
  readers: { reader: string; label: number; box: number[] }[];
  dets: WebDetection[][];
  chosen: { box: number[]; label: number; what: string } | null;
  cams: (BoxCam | null)[];
}

/** What the browser test reads. */
interface PageState {
  state: 'loading' | 'ready' | 'busy' | 'done' | 'error';
  backend: string;
  message: string;
  timings: { loadMs: number; detectMs: number[]; camMs: number[] };
  results: { image: string; models: { init: string; detections: WebDetection[]; cam: { box: number[]; label: number; score: number; massInBox: number; map: number[]; width: number; height: number } | null }[] } | null;
}

const page: PageState = { state: 'loading', backend: '', message: '', timings: { loadMs: 0, detectMs: [], camMs: [] }, results: null };
(window as unknown as { cxrPage: PageState }).cxrPage = page;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
let manifest: WebManifest;
let models: WebDetector[] = [];
let shown: Shown | null = null;
let threshold = 0.3;
let showReaders = true;

function setState(s: PageState['state'], message = ''): void {
  page.state = s;
  page.message = message;
  document.body.dataset.state = s;
  $('status').textContent = message;
}

function showError(message: string): void {
  const el = $('error');
  el.textContent = message;
  el.hidden = !message;
}

async function chooseBackend(): Promise<string> {
  setWasmPaths('./');
  const forced = params.get('backend');
  const order = forced ? [forced] : ['webgpu', 'webgl', 'wasm'];
  const tried: string[] = [];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
      tried.push(`${name}: not available`);
    } catch (e) {
      tried.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`This browser cannot run the detectors: no TensorFlow.js backend started (${tried.join('; ')}).`);
}

/** Fetches with a progress callback (bytes so far, total when the server says). */
async function fetchBytes(url: string, progress: (got: number, total: number) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    const hint = location.protocol === 'file:' ? ' This browser does not let a page opened from disk read files next to it; serve the folder (e.g. `npx http-server web/dist` or `python3 -m http.server -d web/dist`) and open it over http.' : '';
    throw new Error(`could not fetch ${url}: ${(e as Error).message}.${hint}`);
  }
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    progress(got, total);
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const COLORS = ['#e4572e', '#3b8ea5', '#f3a712', '#a8c686', '#669bbc', '#b56576', '#6d597a', '#ff7f50', '#2a9d8f', '#e9c46a', '#264653', '#8ab17d', '#d62828', '#7209b7'];

function drawImage(ctx: CanvasRenderingContext2D, img: BrightnessImage): void {
  const data = ctx.createImageData(img.width, img.height);
  for (let i = 0; i < img.data.length; i++) {
    const v = Math.round(Math.max(0, Math.min(1, img.data[i]!)) * 255);
    data.data[4 * i] = v; data.data[4 * i + 1] = v; data.data[4 * i + 2] = v; data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

/** A canvas showing the image at `scale` display pixels per input pixel. */
function imageCanvas(img: BrightnessImage, displaySize: number): HTMLCanvasElement {
  const src = document.createElement('canvas');
  src.width = img.width; src.height = img.height;
  drawImage(src.getContext('2d')!, img);
  const c = document.createElement('canvas');
  c.width = displaySize; c.height = Math.round((displaySize * img.height) / img.width);
  const ctx = c.getContext('2d')!;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(src, 0, 0, c.width, c.height);
  return c;
}

function heatOverlay(ctx: CanvasRenderingContext2D, cam: BoxCam, w: number, h: number): void {
  const src = document.createElement('canvas');
  src.width = cam.cam.width; src.height = cam.cam.height;
  const s = src.getContext('2d')!;
  const d = s.createImageData(cam.cam.width, cam.cam.height);
  for (let i = 0; i < cam.cam.data.length; i++) {
    const v = cam.cam.data[i]!;
    // A short jet-like ramp: blue → green → yellow → red, transparent where the map is 0.
    const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 3)));
    const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 2)));
    const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 1)));
    d.data[4 * i] = r * 255; d.data[4 * i + 1] = g * 255; d.data[4 * i + 2] = b * 255; d.data[4 * i + 3] = Math.round(170 * Math.min(1, v * 1.5));
  }
  s.putImageData(d, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(src, 0, 0, w, h);
}

function strokeBox(ctx: CanvasRenderingContext2D, b: number[], k: number, color: string, dash: number[], width: number, label?: string): void {
  ctx.save();
  ctx.strokeStyle = color; ctx.lineWidth = width; ctx.setLineDash(dash);
  ctx.strokeRect(b[0]! * k, b[1]! * k, (b[2]! - b[0]!) * k, (b[3]! - b[1]!) * k);
  if (label) {
    ctx.setLineDash([]);
    ctx.font = '11px sans-serif';
    const tw = ctx.measureText(label).width + 4;
    const y = Math.max(0, b[1]! * k - 14);
    ctx.fillStyle = color; ctx.fillRect(b[0]! * k, y, tw, 14);
    ctx.fillStyle = '#fff'; ctx.fillText(label, b[0]! * k + 2, y + 11);
  }
  ctx.restore();
}

function render(): void {
  const out = $('results');
  out.innerHTML = '';
  if (!shown) return;
  const s = shown;
  const size = manifest.inputSize;
  const display = 320;
  const k = display / size;
  models.forEach((m, mi) => {
    const col = document.createElement('div');
    col.className = 'model';
    const entry = manifest.models[mi]!;
    const h = document.createElement('h3');
    h.textContent = entry.label;
    col.append(h);
    // The image part of the input only (the padding right of and below it is not shown).
    const [ih, iw] = s.input.imageHw;
    const all = s.input.x.dataSync() as Float32Array;
    const data = new Float32Array(ih * iw);
    for (let y = 0; y < ih; y++) data.set(all.subarray(y * size, y * size + iw), y * iw);
    const c = imageCanvas({ width: iw, height: ih, data }, Math.round(iw * k));
    const ctx = c.getContext('2d')!;
    const cam = s.cams[mi];
    if (cam) heatOverlay(ctx, cam, c.width, c.height);
    if (showReaders) for (const r of s.readers) strokeBox(ctx, [r.box[0]! * s.sx, r.box[1]! * s.sy, r.box[2]! * s.sx, r.box[3]! * s.sy], k, '#bbbbbb', [2, 3], 1);
    if (s.gt) s.gt.boxes.forEach((b, i) => strokeBox(ctx, [b[0]! * s.sx, b[1]! * s.sy, b[2]! * s.sx, b[3]! * s.sy], k, '#22c55e', [], 2, `GT ${manifest.classes[s.gt!.labels[i]!]}`));
    const dets = s.dets[mi]!.filter((d) => d.score >= threshold);
    dets.forEach((d) => strokeBox(ctx, d.box, k, COLORS[d.label % COLORS.length]!, [6, 3], 2, `${manifest.classes[d.label]} ${d.score.toFixed(2)}`));
    if (s.chosen) strokeBox(ctx, s.chosen.box, k, '#ffffff', [], 1);
    col.append(c);
    const cap = document.createElement('p');
    cap.className = 'cam-caption';
    cap.textContent = !s.chosen ? 'Pick a box below to see its Ablation-CAM map.' : !cam ? 'computing the heat map…'
      : cam.score > 0 ? `Ablation-CAM of "${s.chosen.what}": ${(100 * cam.massInBox).toFixed(0)} % of the map inside the box (target score ${cam.score.toFixed(2)})`
        : `This detector does not find "${s.chosen.what}" (no same-class detection with IoU > ${manifest.cam.iouThr}): nothing to explain.`;
    col.append(cap);
    const list = document.createElement('table');
    list.className = 'dets';
    list.innerHTML = '<tr><th>class</th><th>score</th><th>box (input px)</th><th></th></tr>';
    if (!dets.length) list.innerHTML += `<tr><td colspan="4">no detection scores ≥ ${threshold.toFixed(2)}</td></tr>`;
    for (const d of dets) {
      const tr = document.createElement('tr');
      tr.innerHTML = `<td><span class="sw" style="background:${COLORS[d.label % COLORS.length]}"></span>${manifest.classes[d.label]}</td><td>${d.score.toFixed(3)}</td><td>${d.box.map((v) => v.toFixed(1)).join(', ')}</td>`;
      const td = document.createElement('td');
      const btn = document.createElement('button');
      btn.textContent = 'explain';
      btn.onclick = () => void explain(d.box, d.label, `${entry.label}: ${manifest.classes[d.label]} ${d.score.toFixed(2)}`);
      td.append(btn); tr.append(td); list.append(tr);
    }
    col.append(list);
    out.append(col);
  });
  const gtList = $('gt');
  gtList.innerHTML = '';
  if (s.gt && s.gt.boxes.length) {
    gtList.append('Ground truth (fused readers\' boxes, solid green; single readers dotted grey): ');
    s.gt.boxes.forEach((b, i) => {
      const btn = document.createElement('button');
      const box = [b[0]! * s.sx, b[1]! * s.sy, b[2]! * s.sx, b[3]! * s.sy];
      btn.textContent = `explain GT ${manifest.classes[s.gt!.labels[i]!]}`;
      btn.onclick = () => void explain(box, s.gt!.labels[i]!, `GT ${manifest.classes[s.gt!.labels[i]!]}`);
      gtList.append(btn);
    });
  } else gtList.textContent = s.gt ? 'This image has no ground-truth box (a normal image).' : 'No ground truth for a dropped file.';
  renderTimings();
}

function renderTimings(): void {
  const t = page.timings;
  const ms = (v: number) => `${Math.round(v)} ms`;
  $('timings').textContent = `backend ${page.backend}; weights loaded and built in ${ms(t.loadMs)}; detection (both models): ` +
    (t.detectMs.length ? `first ${ms(t.detectMs[0]!)}${t.detectMs.length > 1 ? `, next ${t.detectMs.slice(1).map(ms).join(', ')}` : ''}` : '—') +
    (t.camMs.length ? `; Ablation-CAM (both models): ${t.camMs.map(ms).join(', ')}` : '');
}

function publish(): void {
  if (!shown) return;
  page.results = {
    image: shown.name,
    models: models.map((m, i) => {
      const c = shown!.cams[i];
      return {
        init: m.init, detections: shown!.dets[i]!,
        cam: c && shown!.chosen ? { box: shown!.chosen.box, label: shown!.chosen.label, score: c.score, massInBox: c.massInBox, map: Array.from(c.cam.data), width: c.cam.width, height: c.cam.height } : null,
      };
    }),
  };
}

function runDetection(): WebDetection[][] {
  const t0 = performance.now();
  const dets = models.map((m) => detect(m, shown!.input));
  page.timings.detectMs.push(performance.now() - t0);
  return dets;
}

async function explain(box: number[], label: number, what: string): Promise<void> {
  if (!shown || page.state === 'busy') return;
  setState('busy', `computing the Ablation-CAM maps of ${what}…`);
  shown.chosen = { box, label, what };
  shown.cams = models.map(() => null);
  render();
  await new Promise((r) => setTimeout(r, 0));
  try {
    const t0 = performance.now();
    for (let i = 0; i < models.length; i++) shown.cams[i] = await boxCam(manifest, models[i]!, shown.input, box, label);
    page.timings.camMs.push(performance.now() - t0);
    publish();
    render();
    setState('done', `heat maps of ${what}`);
  } catch (e) {
    showError(`The heat map failed: ${(e as Error).message}`);
    setState('ready', '');
  }
}

/** Shows an image: replaces the current one only once it decoded and ran. */
async function show(name: string, image: BrightnessImage, gt: Shown['gt'], readers: Shown['readers']): Promise<void> {
  const size = manifest.inputSize;
  const input = inputTensor(image, size);
  const prev = shown;
  const [sx, sy] = input.scales;
  shown = { name, image, input, sx, sy, gt, readers, dets: [], chosen: null, cams: [] };
  try {
    shown.dets = runDetection();
    for (let r = Number(params.get('repeat') ?? 0); r > 0; r--) runDetection();
  } catch (e) {
    input.x.dispose();
    shown = prev;
    throw e;
  }
  prev?.input.x.dispose();
  showError('');
  publish();
  render();
  setState('ready', `${name}: ${shown.dets.map((d, i) => `${manifest.models[i]!.label} ${d.filter((x) => x.score >= threshold).length}`).join(', ')} detection(s) ≥ ${threshold.toFixed(2)}`);
}

async function openGallery(i: number): Promise<void> {
  const g = manifest.gallery[i]!;
  setState('busy', `opening ${g.imageId}…`);
  try {
    const bytes = await fetchBytes(`models/${g.file}`, () => {});
    const img = await decodeImageBytes(bytes, g.file);
    await show(g.imageId, img, g.gt, g.readers);
  } catch (e) {
    showError(`Gallery image ${g.imageId}: ${(e as Error).message}`);
    setState('ready', '');
  }
}

async function openFile(file: File): Promise<void> {
  if (page.state === 'busy' || page.state === 'loading') return;
  setState('busy', `reading ${file.name}…`);
  try {
    if (file.size > 64e6) throw new Error(`${(file.size / 1e6).toFixed(0)} MB is more than this page reads (64 MB)`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const img = await decodeImageBytes(bytes, file.name);
    if (img.width < 16 || img.height < 16) throw new Error(`${img.width}×${img.height} pixels is too small to be a radiograph`);
    await show(file.name, img, null, []);
  } catch (e) {
    // Nothing shown changes: the previous image and its results stay.
    showError(`${file.name} cannot be used: ${(e as Error).message}. Drop a PNG (8 or 16 bit) or a DICOM file (uncompressed, JPEG lossless, JPEG-LS or JPEG 2000).`);
    setState(shown ? 'ready' : 'ready', shown ? `still showing ${shown.name}` : '');
  }
}

async function buildGallery(): Promise<void> {
  const el = $('gallery');
  for (const [i, g] of manifest.gallery.entries()) {
    const b = document.createElement('button');
    b.className = 'thumb';
    b.title = `${g.imageId}: ${g.gt.boxes.length ? g.gt.labels.map((l) => manifest.classes[l]).join(', ') : 'no finding'}`;
    b.onclick = () => void openGallery(i);
    el.append(b);
    try {
      const img = await decodeImageBytes(await fetchBytes(`models/${g.file}`, () => {}), g.file);
      b.append(imageCanvas(img, 72));
      const cap = document.createElement('span');
      cap.textContent = g.gt.boxes.length ? `${g.gt.boxes.length} box${g.gt.boxes.length > 1 ? 'es' : ''}` : 'normal';
      b.append(cap);
    } catch (e) {
      b.textContent = `${g.imageId}: ${(e as Error).message}`;
    }
  }
}

async function main(): Promise<void> {
  setState('loading', 'starting TensorFlow.js…');
  try {
    page.backend = await chooseBackend();
    $('backend').textContent = page.backend;
    const t0 = performance.now();
    manifest = checkWebManifest(JSON.parse(new TextDecoder().decode(await fetchBytes('models/manifest.json', () => {}))));
    $('provenance').textContent = `profile ${manifest.profile}, written by notebook ${manifest.notebook} at commit ${manifest.commit?.slice(0, 10) ?? 'unknown'}${manifest.dirty ? ' (with uncommitted changes)' : ''}; ` +
      manifest.models.map((m) => `${m.label}: test mAP50 ${m.testMap === null ? 'n/a' : m.testMap.toFixed(3)}`).join(', ') + `; input ${manifest.inputSize}×${manifest.inputSize} px; heat maps at ${webCamLayer(manifest)}`;
    const total = manifest.models.reduce((a, m) => a + m.bytes, 0);
    let before = 0;
    for (const m of manifest.models) {
      const bytes = await fetchBytes(`models/${m.file}`, (got) => {
        const pct = (100 * (before + got)) / total;
        ($('progress') as HTMLProgressElement).value = pct;
        setState('loading', `loading weights: ${m.label} (${((before + got) / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB)`);
      });
      before += m.bytes;
      models.push(loadWebDetector(manifest, m.init, bytes));
    }
    page.timings.loadMs = performance.now() - t0;
    $('progress').hidden = true;
    setState('ready', 'pick an image');
    await buildGallery();
    const i = params.get('image');
    if (i !== null) {
      await openGallery(Number(i));
      const k = Number(params.get('box') ?? -1);
      const d = shown?.dets[0]?.[k];
      if (d) await explain(d.box, d.label, `${manifest.models[0]!.label}: ${manifest.classes[d.label]} ${d.score.toFixed(2)}`);
      else if (shown?.gt?.boxes.length && k >= 0) {
        // No such detection (an untrained detector finds nothing): explain the first ground-truth box instead.
        const s = shown;
        const b = s.gt!.boxes[0]!;
        await explain([b[0]! * s.sx, b[1]! * s.sy, b[2]! * s.sx, b[3]! * s.sy], s.gt!.labels[0]!, `GT ${manifest.classes[s.gt!.labels[0]!]}`);
      } else if (page.state === 'ready') setState('done', `${page.message} (no detection ${k} to explain)`);
    }
  } catch (e) {
    showError((e as Error).message);
    setState('error', 'the page cannot run here');
  }
}

$('threshold').oninput = (e) => {
  threshold = Number((e.target as HTMLInputElement).value);
  $('threshold-value').textContent = threshold.toFixed(2);
  render();
};
$('readers').onchange = (e) => { showReaders = (e.target as HTMLInputElement).checked; render(); };
$('file').onchange = (e) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) void openFile(f); };
const drop = $('drop');
drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); const f = e.dataTransfer?.files[0]; if (f) void openFile(f); };
void main();
