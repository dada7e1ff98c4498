import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeDicom, DicomError, dicomToBrightness, TS } from '../../src/data/dicom.js';
import { encodeDicom, uidFromKey, type DicomWriteOptions } from '../../src/data/dicomWrite.js';
import { writeFileAtomic } from '../../src/io.js';
import { tempDir } from '../helpers.js';

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

// dcmtk (Debian `dcmtk`) makes real compressed files; skipped where it is not installed.
const hasDcmtk = spawnSync('dcmcjpeg', ['--version'], { stdio: 'ignore' }).status === 0;
for (const [tool, args, ts] of [['dcmcjpeg', ['+el', '+sv', '2'], TS.jpegLossless], ['dcmcjpeg', ['+e1'], TS.jpegLosslessSV1], ['dcmcjpls', [], TS.jpegLsLossless]] as const) {
  test(`compressed by ${tool} ${args.join(' ')} decodes to the same 16-bit values`, { skip: hasDcmtk ? false : 'dcmtk not installed' }, async () => {
    const dir = tempDir();
    const px = new Uint16Array(64 * 48);
    for (let i = 0; i < px.length; i++) px[i] = (i * 2731) % 4096;
    const src = join(dir, 'in.dcm');
    const out = join(dir, 'out.dcm');
    writeFileAtomic(src, encodeDicom(opts({ rows: 48, columns: 64, pixels: px, bitsStored: 12 })));
    const r = spawnSync(tool, [...args, src, out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const img = await decodeDicom(readFileSync(out));
    assert.equal(img.transferSyntax, ts);
    assert.deepEqual([...img.pixels], [...px]);
  });
}
