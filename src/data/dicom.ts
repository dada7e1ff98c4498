/**
 * DICOM Part-10 files: a reader built on dicom-parser with the codecs real VinDr-CXR files use (uncompressed, JPEG
 * lossless, JPEG-LS, JPEG 2000). Pixel values come back as stored; `dicomToBrightness` applies
 * rescale, the VOI window and MONOCHROME1 inversion. No Node built-ins: the web page decodes
 * dropped files with this same reader (the writer is in dicomWrite.ts).
 */
import dicomParser from 'dicom-parser';
import { Decoder as JpegLosslessDecoder } from 'jpeg-lossless-decoder-js';

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
    const oj = (await import('@cornerstonejs/codec-openjpeg/wasmjs')).default as unknown as () => Promise<Codecs['openjpeg']>;
    const cl = (await import('@cornerstonejs/codec-charls/wasmjs')).default as unknown as () => Promise<Codecs['charls']>;
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
        const buf = new JpegLosslessDecoder().decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.length, bitsAllocated > 8 ? 2 : 1);
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
