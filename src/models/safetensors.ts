/**
 * The safetensors format (huggingface/safetensors): 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then
 * the raw little-endian tensor bytes. Used both for our checkpoints (float32, exact round trip) and
 * to read torchvision/timm weights the user supplies.
 */

/** A float tensor as plain data (row-major, shape as in the file). */
export interface RawTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
  /** Tensors present but not float (e.g. torch's int64 `num_batches_tracked`), by name → dtype. */
  skipped: Map<string, string>;
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Serialises float32 tensors (in the map's order) with string metadata. */
export function encodeSafetensors(
  tensors: Map<string, RawTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (the format allows trailing spaces).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Parses a safetensors buffer; float tensors (F64/F32/F16/BF16) become float32, others are listed in `skipped`. */
export function decodeSafetensors(buf: Uint8Array, source = 'safetensors'): SafetensorsContent {
  if (buf.length < 8) throw new Error(`${source}: too short for a safetensors file`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 0 || 8 + n > buf.length)
    throw new Error(
      `${source}: header length ${n} does not fit a ${buf.length}-byte file (not safetensors?)`,
    );
  let header: Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${source}: header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + n;
  const tensors = new Map<string, RawTensor>();
  const skipped = new Map<string, string>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const count = shape.reduce((a, b) => a * b, 1);
    const width = BYTES[dtype];
    if (width === undefined) throw new Error(`${source}: ${name} has unknown dtype ${dtype}`);
    if (end - begin !== count * width || base + end > buf.length)
      throw new Error(`${source}: ${name} byte range [${begin}, ${end}) does not match ${dtype}[${shape}]`);
    const at = buf.byteOffset + base + begin;
    const data = new Float32Array(count);
    if (dtype === 'F32') {
      // Copy through bytes: the offset need not be 4-aligned in someone else's file.
      new Uint8Array(data.buffer).set(buf.subarray(base + begin, base + end));
    } else if (dtype === 'F64') {
      const dv = new DataView(buf.buffer, at, count * 8);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat64(8 * i, true);
    } else if (dtype === 'F16' || dtype === 'BF16') {
      const dv = new DataView(buf.buffer, at, count * 2);
      const f32 = new Float32Array(1);
      const u32 = new Uint32Array(f32.buffer);
      for (let i = 0; i < count; i++) {
        const h = dv.getUint16(2 * i, true);
        if (dtype === 'F16') data[i] = halfToFloat(h);
        else {
          u32[0] = h << 16;
          data[i] = f32[0]!;
        }
      }
    } else {
      skipped.set(name, dtype);
      continue;
    }
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata, skipped };
}
