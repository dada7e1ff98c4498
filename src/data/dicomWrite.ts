/**
 * A small DICOM Part-10 writer (explicit VR little endian, 16 bits allocated): what the phantom
 * ships. Node only (Buffer, node:crypto); the reader is in dicom.ts.
 */
import { createHash } from 'node:crypto';
import { TS } from './dicom.js';

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

