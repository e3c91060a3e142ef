import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { CL100K_PATTERN_TIKTOKEN, GPT2_PATTERN } from '../../lib/data/tokenizer_json.js';
import { Rng, randomText } from '../helpers/random_text.js';

/** Spans of the regex's matches, the reference the native pre-tokenizers must reproduce. */
function regexSpans(pattern: string, text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(new RegExp(pattern, 'gu'))) out.push(m.index!, m.index! + m[0].length);
  return out;
}

describe('native pre-tokenizers', () => {
  const cases: [string, string][] = [
    ['cl100k', CL100K_PATTERN_TIKTOKEN],
    ['gpt2', GPT2_PATTERN],
  ];
  for (const [name, pattern] of cases) {
    it(`${name} splits exactly like the JavaScript regex`, () => {
      const rng = new Rng(name.length);
      const fixed = ["I'm   here's 'RE 'x\n\n  \t\r\nfoo 1234567 ٣٤٥ ½! ?!\n\n x", '  ', ' ', '\n', 'a  ', ' a', '\u3000b', '\u00a0\u00a0c', "''s"];
      for (const text of fixed) expect(Array.from(native.pretokenize(text, name))).toEqual(regexSpans(pattern, text));
      for (let i = 0; i < 2000; i++) {
        const text = randomText(rng, 1 + rng.below(40));
        // The regex sees a lone surrogate as one code point of class "other", like U+FFFD natively.
        expect(Array.from(native.pretokenize(text, name))).toEqual(regexSpans(pattern, text));
      }
    });
  }

  it('rejects unknown pre-tokenizers and non-strings', () => {
    expect(() => native.pretokenize('a', 'bert')).toThrow(/unknown pre-tokenizer/);
    expect(() => native.pretokenize(3, 'gpt2')).toThrow(/text must be a string/);
  });
});

describe('native Bpe construction checks', () => {
  const bytes = new Uint8Array(256).map((_, i) => i);
  const offsets = new Uint32Array(257).map((_, i) => i);
  const kinds = new Uint8Array(256).fill(1);
  it('builds from the 256 bytes alone and encodes byte by byte', () => {
    const bpe = new native.Bpe({ pretokenizer: 'cl100k', mode: 'merges', tokenBytes: bytes, tokenOffsets: offsets, kinds, merges: new Uint32Array(0) });
    expect(Array.from(bpe.encode('ab'))).toEqual([97, 98]);
    expect(bpe.vocabSize()).toBe(256);
  });
  it('names the problem in bad specs', () => {
    const spec = { pretokenizer: 'cl100k', mode: 'merges', tokenBytes: bytes, tokenOffsets: offsets, kinds, merges: new Uint32Array(0) };
    expect(() => new native.Bpe({ ...spec, kinds: kinds.slice(0, 255) })).toThrow(/tokenOffsets has length 257, expected 256/);
    expect(() => new native.Bpe({ ...spec, tokenOffsets: offsets.map((o) => (o === 100 ? 999 : o)) })).toThrow(/tokenOffsets\[100\]/);
    expect(() => new native.Bpe({ ...spec, merges: new Uint32Array([1, 2]) })).toThrow(/not in the vocabulary/);
    expect(() => new native.Bpe({ ...spec, merges: new Uint32Array([1, 9999]) })).toThrow(/names 9999/);
    expect(() => new native.Bpe({ ...spec, merges: new Uint32Array([1]) })).toThrow(/even length/);
    expect(() => new native.Bpe({ ...spec, kinds: kinds.map((k, i) => (i === 65 ? 0 : k)) })).toThrow(/byte 0x41 has no token/);
    expect(() => new native.Bpe({ ...spec, kinds: kinds.map((k, i) => (i === 65 ? 7 : k)) })).toThrow(/kinds\[65\]/);
    expect(() => new native.Bpe({ ...spec, mode: 'wat' })).toThrow(/spec.mode/);
    expect(() => new native.Bpe({ ...spec, pretokenizer: 'bert' })).toThrow(/unknown pre-tokenizer/);
    expect(() => new native.Bpe(null)).toThrow(/spec must be an object/);
  });
  it('rejects bad training arguments', async () => {
    expect(() => native.bpeTrain('abc', 10, 'cl100k')).toThrow(/texts must be an array of strings/);
    expect(() => native.bpeTrain(['a', 2], 10, 'cl100k')).toThrow(/texts\[1\] must be a string/);
    expect(() => native.bpeTrain(['a'], -1, 'cl100k')).toThrow(RangeError);
    expect(() => native.bpeTrain(['a'], 1, 'cl100k', new Float32Array(1))).toThrow(/cancel must be a Int32Array/);
    const r = await native.bpeTrain(['aaaa aaaa'], 1000, 'cl100k');
    expect(r.merges.length / 2).toBeLessThan(1000); // runs out of pairs: stops early
  });
});
