// Table-driven reflected CRC-32 for any polynomial: PNG chunks use the IEEE one, TFRecord framing
// (TensorBoard event files) uses Castagnoli's. One loop, one table per polynomial, built once.

/** PNG, zlib, Ethernet: crc32("123456789") = 0xcbf43926. */
export const CRC32_IEEE = 0xedb88320;
/** Castagnoli (TFRecord): crc32c("123456789") = 0xe3069283. */
export const CRC32_CASTAGNOLI = 0x82f63b78;

const tables = new Map<number, Uint32Array>();

function tableFor(reversedPolynomial: number): Uint32Array {
  let table = tables.get(reversedPolynomial);
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? reversedPolynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  tables.set(reversedPolynomial, table);
  return table;
}

/** The CRC-32 of bytes[start, end) under `reversedPolynomial` (bit-reversed form, as above). */
export function crc32(reversedPolynomial: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  const table = tableFor(reversedPolynomial);
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
