// npz integrity: every entry's CRC-32 is checked, so a flipped bit in a stored weight is refused
// instead of loading silently; both CRC-32 implementations agree with the standard check value.
import { describe, expect, it } from 'vitest';
import { NpyError, encodeNpy, encodeNpz, parseNpz } from '../../../lib/label/npz.js';
import { crc32, crc32Table } from '../../../lib/label/crc32.js';
import { TokenfilterError } from '../../../lib/errors.js';

function archive(compress: boolean): Uint8Array {
  const w = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
  return encodeNpz(new Map([['W_enc', encodeNpy(w, [8, 8])], ['b_enc', encodeNpy(new Float32Array(8).fill(0.5), [8])]]), { compress });
}

/** Offset of the first entry's data in a stored archive (local header 30 bytes + name). */
function firstDataOffset(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return 30 + view.getUint16(26, true) + view.getUint16(28, true);
}

describe('npz CRC-32', () => {
  it('computes the standard check value with zlib and with the table fallback', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Table(check)).toBe(0xcbf43926);
    const noise = Uint8Array.from({ length: 5000 }, (_, i) => (i * 2654435761) >>> 24);
    expect(crc32Table(noise)).toBe(crc32(noise));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('loads an intact archive, stored and deflated', () => {
    for (const compress of [false, true]) expect([...parseNpz(archive(compress), 'ok.npz').keys()]).toEqual(['W_enc', 'b_enc']);
  });

  it('refuses a stored archive with one flipped bit in a weight, naming the entry and the file', () => {
    const bytes = archive(false);
    const at = firstDataOffset(bytes) + 128 + 17; // inside W_enc's float data, past the .npy header
    for (const bit of [0, 5, 7]) {
      const flipped = Uint8Array.from(bytes);
      flipped[at] ^= 1 << bit;
      let caught: unknown;
      try {
        parseNpz(flipped, 'sae.npz');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(NpyError);
      expect(caught).toBeInstanceOf(TokenfilterError);
      expect(caught).toMatchObject({ code: 'E_FILE_FORMAT', path: 'sae.npz' });
      expect((caught as Error).message).toMatch(/^sae\.npz: entry 'W_enc\.npy' fails its CRC-32 check/);
    }
  });

  it('refuses an archive whose recorded CRC-32 was altered (deflated)', () => {
    const bytes = archive(true);
    const view = new DataView(bytes.buffer);
    const cdOffset = view.getUint32(bytes.length - 6, true);
    view.setUint32(cdOffset + 16, view.getUint32(cdOffset + 16, true) ^ 0x100, true);
    expect(() => parseNpz(bytes, 'z.npz')).toThrow(/z\.npz: entry 'W_enc\.npy' fails its CRC-32 check/);
  });
});
