// Mutated .npy arrays and .npz archives (stored and deflated): parsed to arrays that encode and
// parse again identically, or refused with a coded error. Zip sizes are capped, so a lying
// entry size cannot make the reader allocate for it.
import { describe, expect, it } from 'vitest';
import { encodeNpy, encodeNpz, parseNpy, parseNpz, type NpyArray } from '../../lib/label/npz.js';
import { caseCount, caseLabel, caseRng, checkInput, mutate } from './fuzz_kit.js';

function sameArray(a: NpyArray, b: NpyArray, label: string): void {
  expect({ dtype: b.dtype, shape: b.shape }, label).toEqual({ dtype: a.dtype, shape: a.shape });
  expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)), label).toBe(true);
}

/** float32 arrays re-encode exactly; other dtypes have no encoder, so they are checked for size only. */
function roundTripNpy(array: NpyArray, label: string): void {
  const count = array.shape.reduce((x, y) => x * y, 1);
  expect(array.data.length, label).toBe(count);
  if (array.dtype === 'f4') sameArray(array, parseNpy(encodeNpy(array.data as Float32Array, array.shape)), label);
}

describe('fuzz: npy and npz', () => {
  const rng0 = caseRng('npz-source', 0);
  const arrays = new Map([
    ['W_enc', encodeNpy(Float32Array.from({ length: 48 }, () => rng0.nextUnit() - 0.5), [6, 8])],
    ['b_enc', encodeNpy(Float32Array.from({ length: 8 }, () => rng0.nextUnit()), [8])],
  ]);

  it('parses or refuses (coded) every mutated .npy', async () => {
    const good = arrays.get('W_enc')!;
    const outcomes = { parsed: 0, refused: 0 };
    for (let i = 0; i < caseCount(150); i++) {
      const rng = caseRng('npy', i);
      const { bytes, how } = mutate(good, rng, [0, 128]);
      const label = caseLabel('npy', i, how);
      outcomes[await checkInput(label, () => parseNpy(bytes, 'case.npy'), (a) => roundTripNpy(a, label))]++;
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });

  it('parses or refuses (coded) every mutated .npz, stored and deflated', async () => {
    const outcomes = { parsed: 0, refused: 0 };
    for (const compress of [false, true]) {
      const good = encodeNpz(arrays, { compress });
      const directory = new DataView(good.buffer, good.byteOffset).getUint32(good.length - 6, true);
      for (let i = 0; i < caseCount(100); i++) {
        const stream = `npz-${compress ? 'deflated' : 'stored'}`;
        const rng = caseRng(stream, i);
        const { bytes, how } = mutate(good, rng, rng.below(2) === 0 ? [0, 40] : [directory, good.length]);
        const label = caseLabel(stream, i, how);
        const parsed = await checkInput(label, () => parseNpz(bytes, 'case.npz'), (entries) => {
          for (const [name, a] of entries) roundTripNpy(a, `${label}: ${name}`);
        });
        outcomes[parsed]++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });
});
