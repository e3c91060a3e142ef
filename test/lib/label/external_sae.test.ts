// Gemma-Scope-layout SAEs written by the test as a stored .npz (zip of .npy), a deflated .npz
// and safetensors, loaded back, and encoded against a float64 reference; hostile files refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../../lib/model/safetensors.js';
import { NpyError, encodeNpy, encodeNpz, parseNpy, parseNpz } from '../../../lib/label/npz.js';
import { SparseAutoencoder } from '../../../lib/label/sae.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenfilter-sae-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 12;
const L = 20;
let state = 99;
const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const tensors = {
  W_enc: { shape: [D, L], data: Float32Array.from({ length: D * L }, rand) },
  b_enc: { shape: [L], data: Float32Array.from({ length: L }, () => 0.1 * rand()) },
  threshold: { shape: [L], data: Float32Array.from({ length: L }, () => 0.2 + 0.3 * Math.abs(rand())) },
  W_dec: { shape: [L, D], data: Float32Array.from({ length: L * D }, rand) },
  b_dec: { shape: [D], data: Float32Array.from({ length: D }, rand) },
};

function referenceEncode(x: Float32Array, T: number): Float64Array {
  const out = new Float64Array(T * L);
  for (let t = 0; t < T; t++)
    for (let l = 0; l < L; l++) {
      let s = tensors.b_enc.data[l];
      for (let d = 0; d < D; d++) s += x[t * D + d] * tensors.W_enc.data[d * L + l];
      out[t * L + l] = s > tensors.threshold.data[l] ? s : 0;
    }
  return out;
}

function npzEntries(): Map<string, Uint8Array> {
  return new Map(Object.entries(tensors).map(([k, v]) => [k, encodeNpy(v.data, v.shape)]));
}

/** A deflated archive, as numpy.savez_compressed writes. */
function deflatedNpz(): Uint8Array {
  const deflated = encodeNpz(npzEntries(), { compress: true });
  expect(new DataView(deflated.buffer, deflated.byteOffset).getUint16(8, true)).toBe(8); // method: deflate
  return deflated;
}

describe('external SAEs in the Gemma Scope layout', () => {
  const x = Float32Array.from({ length: 7 * D }, () => 2 * rand());
  const ref = referenceEncode(x, 7);

  async function check(path: string): Promise<void> {
    const sae = await SparseAutoencoder.load(path);
    expect(sae.config).toMatchObject({ dModel: D, dSae: L, kind: 'jumprelu' });
    expect(sae.inputScale).toBe(1);
    const f = await sae.encode(x);
    for (let i = 0; i < f.length; i++) expect(Math.abs(f[i] - ref[i])).toBeLessThan(1e-5 * (1 + Math.abs(ref[i])));
    const picked = await sae.encode(x, sae.encoderFor([3, 19, 0]));
    for (let t = 0; t < 7; t++) [3, 19, 0].forEach((l, s) => expect(picked[t * 3 + s]).toBeCloseTo(ref[t * L + l], 5));
  }

  it('loads a stored .npz (numpy.savez) and encodes like the reference', async () => {
    const path = join(dir, 'params.npz');
    writeFileSync(path, encodeNpz(npzEntries()));
    await check(path);
  });

  it('loads a deflated .npz (numpy.savez_compressed)', async () => {
    const path = join(dir, 'compressed.npz');
    writeFileSync(path, deflatedNpz());
    await check(path);
  });

  it('loads safetensors with the same names, and round-trips its own saves', async () => {
    const path = join(dir, 'sae.safetensors');
    await writeSafetensors(path, Object.entries(tensors));
    await check(path);
    const sae = await SparseAutoencoder.load(path);
    sae.inputScale = 0.5;
    const again = join(dir, 'again.safetensors');
    await sae.save(again, { layer: '3' });
    const back = await SparseAutoencoder.load(again);
    expect(back.inputScale).toBe(0.5);
    expect(back.metadata.layer).toBe('3');
    expect(back.parameters).toEqual(sae.parameters);
  });

  it('refuses shape mismatches, missing tensors and NaN with messages naming the tensor', async () => {
    const bad = join(dir, 'bad.safetensors');
    await writeSafetensors(bad, Object.entries({ ...tensors, b_dec: { shape: [D + 1], data: new Float32Array(D + 1) } }));
    await expect(SparseAutoencoder.load(bad)).rejects.toThrow(/'b_dec' has shape \[13\], expected \[12\]/);
    const { threshold: _t, ...noThreshold } = tensors;
    await writeSafetensors(bad, Object.entries(noThreshold));
    await expect(SparseAutoencoder.load(bad)).rejects.toThrow(/'threshold' is missing/);
    const nan = Float32Array.from(tensors.W_dec.data);
    nan[5] = Number.NaN;
    await writeSafetensors(bad, Object.entries({ ...tensors, W_dec: { shape: [L, D], data: nan } }));
    await expect(SparseAutoencoder.load(bad)).rejects.toThrow(/'W_dec' holds a non-finite value at index 5/);
    const sae = await SparseAutoencoder.load(join(dir, 'params.npz'));
    await expect(sae.encode(new Float32Array(D + 1))).rejects.toThrow(/not a multiple of dModel = 12/);
    const withNaN = new Float32Array(D);
    withNaN[2] = Number.NaN;
    await expect(sae.encode(withNaN)).rejects.toThrow(/x.*index 2/);
    expect(() => sae.encoderFor([20])).toThrow(/latent 20 is outside \[0, 20\)/);
  });

  it('refuses hostile or truncated npz and npy files clearly', async () => {
    const good = encodeNpz(npzEntries());
    expect(() => parseNpz(good.subarray(0, good.length - 30), 'cut.npz')).toThrow(NpyError);
    expect(() => parseNpz(new Uint8Array(100), 'zeros.npz')).toThrow(/not a zip archive/);
    // central directory pointing past the end
    const lying = Uint8Array.from(good);
    new DataView(lying.buffer).setUint32(lying.length - 6, good.length * 2, true);
    expect(() => parseNpz(lying, 'lying.npz')).toThrow(/central directory out of range/);
    // an entry claiming a huge uncompressed size (zip bomb guard)
    const bomb = Uint8Array.from(deflatedNpz());
    const bv = new DataView(bomb.buffer);
    const cdOffset = bv.getUint32(bomb.length - 6, true);
    bv.setUint32(cdOffset + 24, 0xfffffff0, true);
    expect(() => parseNpz(bomb, 'bomb.npz')).toThrow(NpyError);
    const npy = encodeNpy(new Float32Array(6), [2, 3]);
    expect(() => parseNpy(npy.subarray(0, npy.length - 4), 'cut.npy')).toThrow(/needs 24 data bytes, the file has 20/);
    const big = Uint8Array.from(npy);
    big.set(new TextEncoder().encode("'<f8'"), big.indexOf(0x27) + 10);
    expect(() => parseNpy(big, 'x.npy')).toThrow(NpyError);
    const fortran = new TextDecoder('latin1').decode(npy).replace('False', 'True ');
    expect(() => parseNpy(Uint8Array.from(fortran, (c) => c.charCodeAt(0)), 'f.npy')).toThrow(/Fortran-order/);
    const full = readFileSync(join(dir, 'sae.safetensors'));
    writeFileSync(join(dir, 'cut.safetensors'), full.subarray(0, full.length - 7));
    await expect(SparseAutoencoder.load(join(dir, 'cut.safetensors'))).rejects.toThrow(/cut\.safetensors: .*(belong to no tensor|out of range)/);
    const huge = Buffer.from(full);
    huge.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(join(dir, 'huge.safetensors'), huge);
    await expect(SparseAutoencoder.load(join(dir, 'huge.safetensors'))).rejects.toThrow(/header length .* exceeds/);
    const path = join(dir, 'hostile.npz');
    writeFileSync(path, lying);
    await expect(SparseAutoencoder.load(path)).rejects.toThrow(/hostile\.npz: central directory out of range/);
  });
});
