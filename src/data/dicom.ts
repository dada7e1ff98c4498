/**
 * DICOM Part-10 files: a small writer (explicit VR little endian, what the phantom ships) and a
 * reader built on dicom-parser with the codecs real VinDr-CXR files use (uncompressed, JPEG
 * lossless, JPEG-LS, JPEG 2000). Pixel values come back as stored; `dicomToBrightness` applies
 * rescale, the VOI window and MONOCHROME1 inversion.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNear: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
} as const;

/** Transfer syntaxes this reader decodes; any other is reported as unsupported, not guessed at. */
export const SUPPORTED_TRANSFER_SYNTAXES: readonly string[] = Object.values(TS);

/** Digital X-Ray Image Storage – For Presentation. */
export const DX_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.1.1';

/** A deterministic DICOM UID (`2.25.<128-bit decimal>`) from any key, e.g. `${seed}/${imageId}`. */
export function uidFromKey(key: string): string {
  const h = createHash('sha256').update(key).digest();
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

/** What the writer needs; pixel values are stored values (before rescale). */
export interface DicomWriteOptions {
  rows: number;
  columns: number;
  /** Stored values, rows×columns row-major, each < 2^bitsStored. */
  pixels: Uint16Array;
  bitsStored: number;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter: number;
  windowWidth: number;
  /** Millimetres per pixel [row spacing, column spacing]. */
  pixelSpacing: [number, number];
  sopInstanceUid: string;
  studyUid: string;
  seriesUid: string;
  patientId: string;
}

type El = { tag: number; vr: string; value: Uint8Array };

const LONG_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);

function str(s: string, pad: number): Uint8Array {
  const b = Buffer.from(s, 'latin1');
  return b.length % 2 ? Buffer.concat([b, Buffer.from([pad])]) : b;
}
const ui = (tag: number, s: string): El => ({ tag, vr: 'UI', value: str(s, 0) });
const cs = (tag: number, vr: string, s: string): El => ({ tag, vr, value: str(s, 0x20) });
const ds = (tag: number, v: number | number[]): El => cs(tag, 'DS', (Array.isArray(v) ? v : [v]).map((x) => String(Math.round(x * 1e6) / 1e6)).join('\\'));
function us(tag: number, v: number): El {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return { tag, vr: 'US', value: b };
}
function ul(tag: number, v: number): El {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return { tag, vr: 'UL', value: b };
}

function encodeElements(els: El[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of els.sort((a, b) => a.tag - b.tag)) {
    const long = LONG_VRS.has(e.vr);
    const head = Buffer.alloc(long ? 12 : 8);
    head.writeUInt16LE(e.tag >>> 16, 0);
    head.writeUInt16LE(e.tag & 0xffff, 2);
    head.write(e.vr, 4, 'latin1');
    if (long) head.writeUInt32LE(e.value.length, 8);
    else head.writeUInt16LE(e.value.length, 6);
    parts.push(head, Buffer.from(e.value));
  }
  return Buffer.concat(parts);
}

/**
 * Writes a DICOM Part-10 file (128-byte preamble, "DICM", group 0002 meta, then the data set) in
 * explicit VR little endian with 16 bits allocated. Same options, same bytes.
 */
export function encodeDicom(o: DicomWriteOptions): Uint8Array {
  if (o.pixels.length !== o.rows * o.columns) throw new Error(`encodeDicom: ${o.pixels.length} pixels for ${o.rows}x${o.columns}`);
  if (!(o.bitsStored >= 8 && o.bitsStored <= 16)) throw new Error(`encodeDicom: bitsStored ${o.bitsStored} outside 8..16`);
  const metaBody = encodeElements([
    { tag: 0x00020001, vr: 'OB', value: Uint8Array.from([0, 1]) },
    ui(0x00020002, DX_SOP_CLASS),
    ui(0x00020003, o.sopInstanceUid),
    ui(0x00020010, TS.explicitLE),
    ui(0x00020012, '1.2.826.0.1.3680043.10.1104.1'),
    cs(0x00020013, 'SH', 'CXR_NB_PHANTOM'),
  ]);
  const meta = Buffer.concat([encodeElements([ul(0x00020000, metaBody.length)]), metaBody]);
  const px = Buffer.alloc(o.pixels.length * 2);
  for (let i = 0; i < o.pixels.length; i++) px.writeUInt16LE(o.pixels[i]!, 2 * i);
  const body = encodeElements([
    cs(0x00080016, 'UI', DX_SOP_CLASS),
    ui(0x00080018, o.sopInstanceUid),
    cs(0x00080060, 'CS', 'DX'),
    cs(0x00100020, 'LO', o.patientId),
    cs(0x00185101, 'CS', 'PA'),
    ui(0x0020000d, o.studyUid),
    ui(0x0020000e, o.seriesUid),
    us(0x00280002, 1),
    cs(0x00280004, 'CS', o.photometric),
    us(0x00280010, o.rows),
    us(0x00280011, o.columns),
    ds(0x00280030, o.pixelSpacing),
    us(0x00280100, 16),
    us(0x00280101, o.bitsStored),
    us(0x00280102, o.bitsStored - 1),
    us(0x00280103, 0),
    ds(0x00281050, o.windowCenter),
    ds(0x00281051, o.windowWidth),
    ds(0x00281052, o.rescaleIntercept),
    ds(0x00281053, o.rescaleSlope),
    { tag: 0x7fe00010, vr: 'OW', value: px },
  ]);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), meta, body]);
}

/** A decoded DICOM image (single frame, greyscale). */
export interface DicomImage {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  photometric: string;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** First window of the VOI LUT, if the file has one. */
  windowCenter: number | null;
  windowWidth: number | null;
  /** [row spacing, column spacing] in mm, or null. */
  pixelSpacing: [number, number] | null;
  sopInstanceUid: string;
  transferSyntax: string;
  /** Stored values, rows×columns row-major (sign applied when pixelRepresentation is 1). */
  pixels: Int32Array;
}

/** Thrown for files that parse but cannot be decoded here; `kind` is the audit's problem category. */
export class DicomError extends Error {
  constructor(
    readonly kind: 'unsupported-transfer-syntax' | 'bad-dicom' | 'truncated-image',
    message: string,
  ) {
    super(message);
  }
}

interface Codecs {
  openjpeg: { J2KDecoder: new () => WasmDecoder };
  charls: { JpegLSDecoder: new () => WasmDecoder };
}
interface WasmDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; isSigned?: boolean };
  delete(): void;
}
let codecs: Promise<Codecs> | null = null;

/** Loads the WebAssembly codecs once (they ship inside their npm packages; nothing is downloaded). */
function loadCodecs(): Promise<Codecs> {
  codecs ??= (async () => {
    const oj = require('@cornerstonejs/codec-openjpeg/wasmjs') as () => Promise<Codecs['openjpeg']>;
    const cl = require('@cornerstonejs/codec-charls/wasmjs') as () => Promise<Codecs['charls']>;
    return { openjpeg: await oj(), charls: await cl() };
  })();
  return codecs;
}

function wasmDecode(Decoder: new () => WasmDecoder, frame: Uint8Array): { pixels: Uint8Array; bits: number; signed: boolean; w: number; h: number } {
  const d = new Decoder();
  try {
    d.getEncodedBuffer(frame.length).set(frame);
    d.decode();
    const info = d.getFrameInfo();
    return { pixels: new Uint8Array(d.getDecodedBuffer()), bits: info.bitsPerSample, signed: Boolean(info.isSigned), w: info.width, h: info.height };
  } finally {
    d.delete();
  }
}

/**
 * Parses a DICOM file and decodes its first frame. Throws `DicomError` with a kind the audit counts:
 * `bad-dicom` (not DICOM, no pixel data, colour), `truncated-image` (fewer pixel bytes than the
 * header promises), `unsupported-transfer-syntax`.
 */
export async function decodeDicom(bytes: Uint8Array): Promise<DicomImage> {
  const dicomParser = require('dicom-parser') as typeof import('dicom-parser');
  let ds: import('dicom-parser').DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String((e as { exception?: string }).exception ?? e);
    throw new DicomError(/end of buffer|beyond|truncat|overrun/i.test(msg) ? 'truncated-image' : 'bad-dicom', `not a readable DICOM file: ${msg}`);
  }
  const ts = ds.string('x00020010') ?? TS.implicitLE;
  const rows = ds.uint16('x00280010') ?? 0;
  const columns = ds.uint16('x00280011') ?? 0;
  const spp = ds.uint16('x00280002') ?? 1;
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const pixelRepresentation = ds.uint16('x00280103') ?? 0;
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim();
  const el = ds.elements.x7fe00010;
  if (!el) throw new DicomError('bad-dicom', 'no PixelData (7FE0,0010)');
  if (!(rows > 0 && columns > 0)) throw new DicomError('bad-dicom', `bad Rows/Columns ${rows}x${columns}`);
  if (spp !== 1 || !photometric.startsWith('MONOCHROME')) throw new DicomError('bad-dicom', `not greyscale (SamplesPerPixel ${spp}, ${photometric})`);
  if (!SUPPORTED_TRANSFER_SYNTAXES.includes(ts)) throw new DicomError('unsupported-transfer-syntax', `transfer syntax ${ts} is not supported (supported: uncompressed, JPEG lossless, JPEG-LS, JPEG 2000)`);
  const n = rows * columns;
  const pixels = new Int32Array(n);
  const signed = pixelRepresentation === 1;
  if (ts === TS.implicitLE || ts === TS.explicitLE || ts === TS.explicitBE) {
    const bytesPer = bitsAllocated / 8;
    if (bytesPer !== 1 && bytesPer !== 2) throw new DicomError('bad-dicom', `BitsAllocated ${bitsAllocated} not supported`);
    const avail = Math.min(el.length, bytes.length - el.dataOffset);
    if (avail < n * bytesPer) throw new DicomError('truncated-image', `PixelData holds ${Math.max(0, avail)} bytes, ${rows}x${columns}x${bytesPer} needed`);
    const view = new DataView(bytes.buffer, bytes.byteOffset + el.dataOffset, n * bytesPer);
    const le = ts !== TS.explicitBE;
    for (let i = 0; i < n; i++) pixels[i] = bytesPer === 1 ? (signed ? view.getInt8(i) : view.getUint8(i)) : signed ? view.getInt16(2 * i, le) : view.getUint16(2 * i, le);
  } else {
    let frame: Uint8Array;
    try {
      frame = el.fragments?.length ? dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments.length) : dicomParser.readEncapsulatedImageFrame(ds, el, 0);
    } catch (e) {
      throw new DicomError('truncated-image', `encapsulated PixelData unreadable: ${e instanceof Error ? e.message : String(e)}`);
    }
    let out: { pixels: Uint8Array | Uint16Array | Int16Array; w: number; h: number };
    try {
      if (ts === TS.jpegLossless || ts === TS.jpegLosslessSV1) {
        const { Decoder } = require('jpeg-lossless-decoder-js') as { Decoder: new () => { decode(b: ArrayBuffer, o: number, l: number, bytesPer?: number): ArrayBuffer } };
        const buf = new Decoder().decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.length, bitsAllocated > 8 ? 2 : 1);
        out = { pixels: bitsAllocated > 8 ? (signed ? new Int16Array(buf) : new Uint16Array(buf)) : new Uint8Array(buf), w: columns, h: rows };
      } else {
        const c = await loadCodecs();
        const r = wasmDecode(ts === TS.j2k || ts === TS.j2kLossless ? c.openjpeg.J2KDecoder : c.charls.JpegLSDecoder, frame);
        const p = r.bits > 8 ? (signed || r.signed ? new Int16Array(r.pixels.buffer, 0, r.w * r.h) : new Uint16Array(r.pixels.buffer, 0, r.w * r.h)) : r.pixels;
        out = { pixels: p, w: r.w, h: r.h };
      }
    } catch (e) {
      throw new DicomError('truncated-image', `compressed frame (${ts}) failed to decode: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (out.w !== columns || out.h !== rows || out.pixels.length < n) throw new DicomError('bad-dicom', `decoded frame is ${out.w}x${out.h}, header says ${columns}x${rows}`);
    for (let i = 0; i < n; i++) pixels[i] = out.pixels[i]!;
  }
  // Only the low BitsStored bits are the value (high bits may carry overlays in old files).
  if (!signed && bitsStored < 16 && bitsAllocated === 16) {
    const mask = (1 << bitsStored) - 1;
    for (let i = 0; i < n; i++) pixels[i] = pixels[i]! & mask;
  }
  const spacing = ds.string('x00280030');
  const sp = spacing ? spacing.split('\\').map(Number) : null;
  return {
    rows,
    columns,
    bitsAllocated,
    bitsStored,
    pixelRepresentation,
    photometric,
    rescaleSlope: ds.floatString('x00281053') ?? 1,
    rescaleIntercept: ds.floatString('x00281052') ?? 0,
    windowCenter: ds.floatString('x00281050', 0) ?? null,
    windowWidth: ds.floatString('x00281051', 0) ?? null,
    pixelSpacing: sp && sp.length === 2 && sp.every(Number.isFinite) ? [sp[0]!, sp[1]!] : null,
    sopInstanceUid: ds.string('x00080018') ?? '',
    transferSyntax: ts,
    pixels,
  };
}

/**
 * Display brightness in [0, 1] (1 = white = dense), row-major: modality value = stored × slope +
 * intercept, then the file's window (DICOM linear VOI function) or, without one, the value range;
 * MONOCHROME1 is inverted so bone is always bright.
 */
export function dicomToBrightness(img: DicomImage): Float32Array {
  const n = img.pixels.length;
  const out = new Float32Array(n);
  const { rescaleSlope: m, rescaleIntercept: b } = img;
  let lo: number;
  let hi: number;
  if (img.windowCenter !== null && img.windowWidth !== null && img.windowWidth >= 1) {
    // PS3.3 C.11.2.1.2: the window maps c - 0.5 - (w-1)/2 … c - 0.5 + (w-1)/2 to black … white.
    lo = img.windowCenter - 0.5 - (img.windowWidth - 1) / 2;
    hi = img.windowCenter - 0.5 + (img.windowWidth - 1) / 2;
  } else {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = img.pixels[i]! * m + b;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const scale = hi > lo ? 1 / (hi - lo) : 0;
  const invert = img.photometric === 'MONOCHROME1';
  for (let i = 0; i < n; i++) {
    let t = (img.pixels[i]! * m + b - lo) * scale;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    out[i] = invert ? 1 - t : t;
  }
  return out;
}
