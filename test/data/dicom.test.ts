import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/config.js';
import { decodeDicom, DicomError, dicomToBrightness, TS } from '../../src/data/dicom.js';
import { encodeDicom, uidFromKey, type DicomWriteOptions } from '../../src/data/dicomWrite.js';

function opts(over: Partial<DicomWriteOptions> = {}): DicomWriteOptions {
  // A 3x2 ramp that uses the full 16-bit range, so a lost high byte or sign would show.
  return {
    rows: 2, columns: 3, pixels: Uint16Array.from([0, 1, 255, 256, 40000, 65535]), bitsStored: 16,
    photometric: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: 0, windowCenter: 32768, windowWidth: 65536,
    pixelSpacing: [0.14, 0.14], sopInstanceUid: uidFromKey('a'), studyUid: uidFromKey('b'), seriesUid: uidFromKey('c'), patientId: 'P1', ...over,
  };
}

test('written DICOM reads back: preamble, tags, 16-bit values', async () => {
  const bytes = encodeDicom(opts());
  assert.equal(Buffer.from(bytes.subarray(128, 132)).toString('latin1'), 'DICM');
  const img = await decodeDicom(bytes);
  assert.deepEqual([img.rows, img.columns, img.bitsAllocated, img.bitsStored, img.pixelRepresentation], [2, 3, 16, 16, 0]);
  assert.equal(img.transferSyntax, TS.explicitLE);
  assert.equal(img.photometric, 'MONOCHROME2');
  assert.deepEqual(img.pixelSpacing, [0.14, 0.14]);
  assert.equal(img.sopInstanceUid, uidFromKey('a'));
  assert.deepEqual([...img.pixels], [0, 1, 255, 256, 40000, 65535]);
  assert.deepEqual([img.windowCenter, img.windowWidth, img.rescaleSlope, img.rescaleIntercept], [32768, 65536, 1, 0]);
});

test('same options, same bytes; UIDs are deterministic and valid', () => {
  assert.deepEqual(encodeDicom(opts()), encodeDicom(opts()));
  assert.match(uidFromKey('x'), /^2\.25\.\d+$/);
  assert.ok(uidFromKey('x').length <= 64);
});

test('MONOCHROME1 is inverted and rescale + window are applied', async () => {
  // 12-bit values 0..4095; slope 2, intercept -100 -> modality -100..8090; window covers it exactly.
  const base = { rows: 1, columns: 2, pixels: Uint16Array.from([0, 4095]), bitsStored: 12, rescaleSlope: 2, rescaleIntercept: -100, windowCenter: 3995.5, windowWidth: 8191 };
  const m2 = dicomToBrightness(await decodeDicom(encodeDicom(opts({ ...base, photometric: 'MONOCHROME2' }))));
  const m1 = dicomToBrightness(await decodeDicom(encodeDicom(opts({ ...base, photometric: 'MONOCHROME1' }))));
  assert.ok(m2[0]! < 0.001 && m2[1]! > 0.999);
  assert.ok(m1[0]! > 0.999 && m1[1]! < 0.001);
});

test('truncated pixel data and unknown transfer syntaxes are clear errors', async () => {
  const bytes = encodeDicom(opts());
  await assert.rejects(decodeDicom(bytes.subarray(0, bytes.length - 4)), (e: unknown) => e instanceof DicomError && e.kind === 'truncated-image');
  // Same length UID: explicit VR LE -> RLE Lossless, which this reader does not decode.
  const rle = Buffer.from(bytes);
  const at = rle.indexOf(Buffer.from(`${TS.explicitLE}\0`, 'latin1'));
  rle.write('1.2.840.10008.1.2.5', at, 'latin1');
  await assert.rejects(decodeDicom(rle), (e: unknown) => e instanceof DicomError && e.kind === 'unsupported-transfer-syntax' && /1\.2\.840\.10008\.1\.2\.5/.test(e.message));
  await assert.rejects(decodeDicom(Buffer.from('not a dicom file at all, just text')), (e: unknown) => e instanceof DicomError);
});

// Real compressed files made once by dcmtk from sources written by encodeDicom
// (test/fixtures/dicom/make.mjs; tool versions and commands in provenance.json), so these tests
// need no dcmtk. The pixel patterns are recomputed here from their formulas.
const FIXTURES = join(repoRoot(), 'test', 'fixtures', 'dicom');
const PATTERNS: Record<string, (i: number) => number> = {
  '(i * 2731) % 4096': (i) => (i * 2731) % 4096,
  '(i * 40503 + 7) % 65536': (i) => (i * 40503 + 7) % 65536,
};
interface FixtureCase { file: string; source: string; command: string; tool_version: string; ts: string; maxError: number; sha256: string }
const provenance = JSON.parse(readFileSync(join(FIXTURES, 'provenance.json'), 'utf8')) as {
  sources: Record<string, { rows: number; columns: number; bitsStored: number; formula: string }>;
  cases: FixtureCase[];
};

test('the compressed-DICOM fixtures cover every compressed transfer syntax dcmtk writes that the reader decodes', () => {
  const covered = new Set(provenance.cases.map((c) => c.ts));
  for (const ts of [TS.jpegLossless, TS.jpegLosslessSV1, TS.jpegLsLossless, TS.jpegLsNear]) assert.ok(covered.has(ts), ts);
});

for (const c of provenance.cases) {
  test(`${c.file} (${c.command}; ${c.tool_version}) decodes to its source's values${c.maxError ? ` within ${c.maxError}` : ''}`, async () => {
    const bytes = readFileSync(join(FIXTURES, c.file));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), c.sha256, 'the file is the one provenance.json records');
    const src = provenance.sources[c.source]!;
    const pattern = PATTERNS[src.formula];
    assert.ok(pattern, `unknown source formula ${src.formula}`);
    const img = await decodeDicom(bytes);
    assert.equal(img.transferSyntax, c.ts);
    assert.deepEqual([img.rows, img.columns, img.bitsStored], [src.rows, src.columns, src.bitsStored]);
    let maxErr = 0;
    for (let i = 0; i < src.rows * src.columns; i++) maxErr = Math.max(maxErr, Math.abs(img.pixels[i]! - pattern(i)));
    // Lossless must be exact; near-lossless JPEG-LS must stay within NEAR and really be lossy here.
    if (c.maxError === 0) assert.equal(maxErr, 0);
    else assert.ok(maxErr > 0 && maxErr <= c.maxError, `max |error| ${maxErr}, NEAR ${c.maxError}`);
  });
}
