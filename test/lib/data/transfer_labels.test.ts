import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { offsetMap, toUtf16Offsets, transferLabels } from '../../../lib/data/transfer_labels.js';
import { isTokenfilterError } from '../../../lib/errors.js';

// "Dose 5 µg 💊 daily." — µ is 2 UTF-8 bytes, 💊 is 4 UTF-8 bytes and 2 UTF-16 units.
// UTF-16:    D0 o1 s2 e3 ' '4 5=5 ' '6 µ7 g8 ' '9 💊10,11 ' '12 d13 a14 i15 l16 y17 .18   (length 19)
// codepoints: same up to 💊 (10), then ' '11 d12 … .17                                     (length 18)
// UTF-8:      same up to ' '6, µ7,8 g9 ' '10 💊11..14 ' '15 d16 … .21                       (length 22)
const text = 'Dose 5 µg 💊 daily.';

describe('offset units', () => {
  it('maps code points and UTF-8 bytes to UTF-16 units', () => {
    expect(text.length).toBe(19);
    const cp = offsetMap(text, 'codepoint');
    expect(cp.length).toBe(19); // 18 code points + the end
    expect(cp[10]).toBe(10); // 💊 starts at unit 10
    expect(cp[11]).toBe(12); // the space after it
    const u8 = offsetMap(text, 'utf8');
    expect(u8.length).toBe(23);
    expect([u8[7], u8[8], u8[9]]).toEqual([7, 7, 8]); // µ's two bytes, then g
    expect([u8[11], u8[12], u8[13], u8[14], u8[15]]).toEqual([10, 10, 10, 10, 12]);
  });

  it('an end inside a character rounds out to the character', () => {
    // byte token [11, 13) is the first half of 💊: it covers the whole emoji in UTF-16
    expect(Array.from(toUtf16Offsets(text, [11, 13, 13, 15], 'utf8'))).toEqual([10, 12, 10, 12]);
    // µ's first byte alone
    expect(Array.from(toUtf16Offsets(text, [7, 8], 'utf8'))).toEqual([7, 8]);
  });
});

describe('transferLabels', () => {
  // tokenizer A (byte-level, UTF-8 offsets): "Dose" " 5" " µ" "g" " " 💊-bytes ×2 " daily" "."
  const aOffsets = [0, 4, 4, 6, 6, 9, 9, 10, 10, 11, 11, 13, 13, 15, 15, 21, 21, 22];
  // flagged: " µ", "g", and the first half of 💊
  const aLabels = Uint8Array.from([0, 0, 1, 1, 0, 1, 0, 0, 0]);
  // tokenizer B (UTF-16): "Dose 5" " µg" " 💊" " daily."
  const bOffsets = [0, 6, 6, 9, 9, 12, 12, 19];

  it("'any' flags a B-token when any of its characters was flagged", () => {
    expect(Array.from(transferLabels(text, aOffsets, aLabels, bOffsets, { sourceUnit: 'utf8' }))).toEqual([0, 1, 1, 0]);
  });

  it("'majority' needs more than half of the B-token's characters", () => {
    // " µg": 3 units, all flagged → 1; " 💊": ' ' unflagged, 💊's 2 units flagged (by its first
    // byte-token: a character takes the largest value covering it) → 2/3 → 1; "Dose 5" → 0
    const out = transferLabels(text, aOffsets, aLabels, bOffsets, { sourceUnit: 'utf8', rule: 'majority' });
    expect(Array.from(out)).toEqual([0, 1, 1, 0]);
    const fewer = Uint8Array.from([0, 0, 0, 1, 0, 1, 0, 0, 0]); // only "g" and 💊
    expect(Array.from(transferLabels(text, aOffsets, fewer, bOffsets, { sourceUnit: 'utf8', rule: 'majority' }))).toEqual([0, 0, 1, 0]);
    expect(Array.from(transferLabels(text, aOffsets, fewer, bOffsets, { sourceUnit: 'utf8', rule: 'any' }))).toEqual([0, 1, 1, 0]);
  });

  it('scores: the largest (any) or the mean (majority) over characters', () => {
    const scores = Float32Array.from([0.1, 0.2, 0.9, 0.5, 0.0, 0.8, 0.3, 0.4, 0.6]);
    const any = transferLabels(text, aOffsets, scores, bOffsets, { sourceUnit: 'utf8' });
    expect(any).toBeInstanceOf(Float32Array);
    expect(Array.from(any)).toEqual(Array.from(Float32Array.from([0.2, 0.9, 0.8, 0.6])));
    const mean = transferLabels(text, aOffsets, scores, bOffsets, { sourceUnit: 'utf8', rule: 'majority' });
    // "Dose 5": 4×0.1 + 2×0.2 over 6; " µg": (0.9+0.9+0.5)/3; " 💊": (0 + 0.8 + 0.8)/3; " daily.": (6×0.4 + 0.6)/7
    const expected = [(0.4 + 0.4) / 6, 2.3 / 3, 1.6 / 3, 3.0 / 7];
    Array.from(mean).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('code-point offsets (Python str indices) give the same result as UTF-16 ones', () => {
    const a16 = [0, 4, 4, 9, 9, 12, 12, 19];
    const aCp = [0, 4, 4, 9, 9, 11, 11, 18];
    const labels = Uint8Array.from([0, 1, 1, 0]);
    const b16 = [0, 2, 2, 5, 5, 8, 8, 10, 10, 12, 12, 15, 15, 19];
    const viaCp = transferLabels(text, aCp, labels, b16, { sourceUnit: 'codepoint' });
    expect(Array.from(viaCp)).toEqual(Array.from(transferLabels(text, a16, labels, b16)));
    expect(Array.from(viaCp)).toEqual([0, 1, 1, 1, 1, 0, 0]); // A flags units [4, 12)
  });

  it('zero-width and uncovered B-tokens take the value at their start', () => {
    const aOff = [0, 4, 5, 6]; // "Dose" and "5"; the space between is covered by no A-token
    const out = transferLabels(text, aOff, Uint8Array.from([1, 0]), [0, 0, 4, 5, 2, 2, 5, 6]);
    expect(Array.from(out)).toEqual([1, 0, 1, 0]);
  });

  it('two real tokenizers that split differently: every flagged character stays flagged', async () => {
    const corpus = ['the patient took 5 µg of digoxin daily', 'a café near the hospital — naïve 💊 dosing', 'cells divide'];
    const small = await Tokenizer.train(corpus, { vocabSize: 262 });
    const large = await Tokenizer.train(corpus, { vocabSize: 330 });
    const sample = 'The patient in the café took 5 µg of digoxin 💊 daily; cells divide.';
    const a = small.encodeWithOffsets(sample);
    const b = large.encodeWithOffsets(sample);
    expect(a.ids.length).not.toBe(b.ids.length);
    // flag A's tokens inside "5 µg of digoxin 💊"
    const start = sample.indexOf('5 µg');
    const end = sample.indexOf(' daily');
    const aLabels = new Uint8Array(a.ids.length);
    for (let t = 0; t < aLabels.length; t++) aLabels[t] = a.offsets[2 * t] >= start && a.offsets[2 * t + 1] <= end && a.offsets[2 * t + 1] > a.offsets[2 * t] ? 1 : 0;
    const bLabels = transferLabels(sample, a.offsets, aLabels, b.offsets, { rule: 'any' });
    for (let t = 0; t < bLabels.length; t++) {
      const [s, e] = [b.offsets[2 * t], b.offsets[2 * t + 1]];
      const inside = s < end && e > start;
      if (e > s) expect(bLabels[t], `B-token ${t} "${sample.slice(s, e)}"`).toBe(inside ? 1 : 0);
    }
    // and back again: the round trip keeps the flagged characters
    const back = transferLabels(sample, b.offsets, bLabels as Uint8Array, a.offsets);
    expect(Array.from(back)).toEqual(Array.from(aLabels).map((v, t) => (a.offsets[2 * t + 1] > a.offsets[2 * t] ? v : back[t])));
  });

  it('bad input is a coded error naming what is wrong', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => transferLabels(text, [0, 4], Uint8Array.from([1, 0]), [0, 4]), /1 tokens but sourceValues has 2/],
      [() => transferLabels(text, [0, 40], Uint8Array.from([1]), [0, 4]), /sourceOffsets: token 0 has \[0, 40\)/],
      [() => transferLabels(text, [3, 2], Uint8Array.from([1]), [0, 4]), /start <= end/],
      [() => transferLabels(text, [0, 4], Uint8Array.from([2]), [0, 4]), /not 0 or 1/],
      [() => transferLabels(text, [0, 4], Float32Array.from([Number.NaN]), [0, 4]), /not a finite number/],
      [() => transferLabels(text, [0, 4], Uint8Array.from([1]), [0, 4], { rule: 'most' as never }), /rule must be/],
      [() => transferLabels(text, [0, 4], Uint8Array.from([1]), [0, 4], { sourceUnit: 'bytes' as never }), /sourceUnit must be/],
      [() => transferLabels(text, [0, 4], Uint8Array.from([1]), [0, 4, 5]), /targetOffsets must hold 2 values/],
    ];
    for (const [call, message] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(isTokenfilterError(error, 'E_OPTION')).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});
