import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePng, encodeGrayPng } from '../../src/data/png.js';

test('8-bit greyscale round-trips exactly', () => {
  const pixels = Uint8Array.from({ length: 35 }, (_, i) => (i * 37) % 256);
  const back = decodePng(encodeGrayPng({ width: 7, height: 5, pixels, bitDepth: 8 }));
  assert.equal(back.width, 7);
  assert.equal(back.height, 5);
  assert.equal(back.bitDepth, 8);
  assert.deepEqual([...back.pixels], [...pixels]);
});

test('16-bit greyscale values above 255 survive', () => {
  const pixels = Uint16Array.from([0, 1, 255, 256, 4095, 65535]);
  const back = decodePng(encodeGrayPng({ width: 3, height: 2, pixels, bitDepth: 16 }));
  assert.equal(back.bitDepth, 16);
  assert.deepEqual([...back.pixels], [...pixels]);
});

test('a truncated file is an error, not a blank image', () => {
  const bytes = encodeGrayPng({ width: 8, height: 8, pixels: new Uint8Array(64).fill(9), bitDepth: 8 });
  assert.throws(() => decodePng(bytes.subarray(0, bytes.length - 20)));
});
