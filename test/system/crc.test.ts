// The CRC-32 that PNG chunks and TFRecord framing share: the standard check values of both
// polynomials, and a sub-range equal to the CRC of the same bytes on their own.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CRC32_CASTAGNOLI, CRC32_IEEE, crc32 } from '../../src/system/crc.js';

const CHECK = new TextEncoder().encode('123456789');

test('crc32 gives the standard check values for the IEEE and Castagnoli polynomials', () => {
  assert.equal(crc32(CRC32_IEEE, CHECK), 0xcbf43926);
  assert.equal(crc32(CRC32_CASTAGNOLI, CHECK), 0xe3069283);
  assert.equal(crc32(CRC32_IEEE, new Uint8Array(0)), 0);
});

test('crc32 over bytes[start, end) equals the CRC of that slice alone', () => {
  const framed = new TextEncoder().encode('xx123456789yyy');
  assert.equal(crc32(CRC32_IEEE, framed, 2, 11), 0xcbf43926);
  assert.equal(crc32(CRC32_CASTAGNOLI, framed, 2, 11), 0xe3069283);
});
