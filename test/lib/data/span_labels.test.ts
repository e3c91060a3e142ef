import { describe, expect, it } from 'vitest';
import { spanLabelsToTokenLabels, type CharSpan } from '../../../lib/data/span_labels.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';

/** Reference: label per code unit, then each token's share counted directly. */
function reference(offsets: Uint32Array, spans: CharSpan[], label: string, rule: 'majority' | 'any', length: number): number[] {
  const inside = new Uint8Array(length + 1);
  for (const [s, e, l] of spans) if (l === label) inside.fill(1, s, e);
  const out: number[] = [];
  for (let t = 0; t < offsets.length / 2; t++) {
    const [a, b] = [offsets[2 * t], offsets[2 * t + 1]];
    if (a === b) {
      out.push(inside[a]);
      continue;
    }
    let covered = 0;
    for (let i = a; i < b; i++) covered += inside[i];
    out.push(rule === 'any' ? (covered > 0 ? 1 : 0) : 2 * covered > b - a ? 1 : 0);
  }
  return out;
}

// "Café 🩺 flu." in UTF-16 code units:
//  C=0 a=1 f=2 é=3 ' '=4 🩺=5,6 (surrogate pair) ' '=7 f=8 l=9 u=10 .=11
const text = 'Café 🩺 flu.';
// hand-made tokens: "Caf" [0,3) "é" [3,4) " " [4,5) "🩺" [5,7) " flu" [7,11) "." [11,12)
const offsets = Uint32Array.from([0, 3, 3, 4, 4, 5, 5, 7, 7, 11, 11, 12]);

describe('spanLabelsToTokenLabels', () => {
  it('the text has the code-unit layout the expectations assume', () => {
    expect(text.length).toBe(12);
    expect(text.slice(5, 7)).toBe('🩺');
    expect(text.slice(7, 11)).toBe(' flu');
  });

  it('majority rule: strictly more than half of a token inside the spans', () => {
    const spans: CharSpan[] = [[3, 6, 'medical'], [8, 12, 'medical'], [0, 3, 'general']];
    // Caf 0/3 → 0; é 1/1 → 1; ' ' 1/1 → 1; 🩺 1/2 (half) → 0; ' flu' 3/4 → 1; '.' 1/1 → 1
    expect(Array.from(spanLabelsToTokenLabels(offsets, spans, { label: 'medical' }))).toEqual([0, 1, 1, 0, 1, 1]);
    expect(Array.from(spanLabelsToTokenLabels(offsets, spans, { label: 'general' }))).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it('any rule: one code unit inside is enough', () => {
    const spans: CharSpan[] = [[3, 6, 'medical'], [10, 11, 'medical']];
    // 🩺 has its first unit inside; ' flu' has 'u'
    expect(Array.from(spanLabelsToTokenLabels(offsets, spans, { label: 'medical', rule: 'any' }))).toEqual([0, 1, 1, 1, 1, 0]);
    expect(Array.from(spanLabelsToTokenLabels(offsets, spans, { label: 'medical' }))).toEqual([0, 1, 1, 0, 0, 0]);
  });

  it('overlapping spans count once; numeric labels; spans in any order', () => {
    const spans: CharSpan[] = [[1, 2, 1], [0, 2, 1], [5, 6, 2], [6, 7, 1]];
    // Caf: union [0,2) = 2/3 → 1 (overlap counted once: 2, not 3); 🩺: only [6,7) has label 1 → half → 0
    expect(Array.from(spanLabelsToTokenLabels(offsets, spans, { label: 1 }))).toEqual([1, 0, 0, 0, 0, 0]);
    // with label 2 also present the emoji would still be half for each label separately
    expect(Array.from(spanLabelsToTokenLabels(offsets, spans, { label: 2 }))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('zero-width tokens take the label of the span containing their position', () => {
    const zero = Uint32Array.from([6, 6, 8, 8, 12, 12]);
    expect(Array.from(spanLabelsToTokenLabels(zero, [[3, 6, 'm'], [8, 12, 'm']], { label: 'm' }))).toEqual([0, 1, 0]);
  });

  it('decomposed accents (e + combining acute) split across tokens', () => {
    const s = 'cafe\u0301 ok'; // c a f e ◌́ ' ' o k → 8 units
    expect(s.length).toBe(8);
    const offs = Uint32Array.from([0, 4, 4, 5, 5, 8]); // "cafe" "◌́" " ok"
    expect(Array.from(spanLabelsToTokenLabels(offs, [[2, 5, 'x']], { label: 'x' }))).toEqual([0, 1, 0]);
    expect(Array.from(spanLabelsToTokenLabels(offs, [[2, 5, 'x']], { label: 'x', rule: 'any' }))).toEqual([1, 1, 0]);
  });

  it('agrees with a per-character reference on real tokenizer offsets over multi-byte text', async () => {
    const corpus = ['Café 🩺 flu, naïve coöperation — 😀👍🏽 emoji; 東京 and Ünïcode.', 'Plain ASCII text about influenza and robins.'];
    const tokenizer = await Tokenizer.train(corpus, { vocabSize: 300 });
    let seed = 17;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    for (const text of corpus) {
      const { offsets } = tokenizer.encodeWithOffsets(text);
      for (let trial = 0; trial < 50; trial++) {
        const spans: CharSpan[] = Array.from({ length: 1 + next(4) }, () => {
          const a = next(text.length);
          return [a, a + next(text.length - a + 1), next(3) === 0 ? 'b' : 'm'] as CharSpan;
        });
        for (const rule of ['majority', 'any'] as const)
          expect(Array.from(spanLabelsToTokenLabels(offsets, spans, { label: 'm', rule }))).toEqual(reference(offsets, spans, 'm', rule, text.length));
      }
    }
  });

  it('rejects malformed input', () => {
    expect(() => spanLabelsToTokenLabels([0, 1, 2], [], { label: 'm' })).toThrow(/2 values per token/);
    expect(() => spanLabelsToTokenLabels([3, 1], [], { label: 'm' })).toThrow(/end < start/);
    expect(() => spanLabelsToTokenLabels([0, 1], [[5, 2, 'm']], { label: 'm' })).toThrow(/spans\[0\]/);
    expect(() => spanLabelsToTokenLabels([0, 1], [], { label: 'm', rule: 'most' as never })).toThrow(/rule/);
  });
});
