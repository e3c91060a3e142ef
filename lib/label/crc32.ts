/**
 * CRC-32 (the zip / gzip polynomial 0xEDB88320, reflected, initial and final XOR 0xFFFFFFFF):
 * node:zlib's native `crc32` where this Node has it (20.15 and later), else a table loop.
 * @module
 */
import * as zlib from 'node:zlib';

let table: Int32Array | null = null;

/** CRC-32 by the byte-wise table method (the fallback, exported so tests can compare both). */
export function crc32Table(bytes: Uint8Array): number {
  if (table === null) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** The CRC-32 of `bytes`, as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  return nativeCrc32 ? nativeCrc32(bytes) >>> 0 : crc32Table(bytes);
}
