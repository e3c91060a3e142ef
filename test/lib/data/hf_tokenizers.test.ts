/**
 * The tokenizer.json that `Tokenizer.save` writes, loaded by Hugging Face's tokenizers.js
 * (`@huggingface/tokenizers`, whose regex translation follows the Rust library's Oniguruma
 * semantics): the same ids on random Unicode text and on real text from ../shared/data, for a
 * trained tokenizer and for cl100k; and the known differences, pinned so docs/tokenizer.md stays true.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { readDocuments } from '../../../lib/data/read_documents.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { Rng, randomText } from '../../helpers/random_text.js';
import { tempDir } from './helpers.js';

const corpus = join('..', 'shared', 'data', 'corpus');
const hasCorpus = existsSync(join(corpus, 'medical.val.jsonl.gz'));
if (!hasCorpus) console.warn(`SKIPPED the Hugging Face tokenizer comparison on real text: ${corpus} is absent`);

const { dir, cleanup } = tempDir('tf-hf-');
afterAll(cleanup);

/** tokenizers.js built from the file `tokenizer` saves. */
async function hfOf(tokenizer: Tokenizer, name: string): Promise<HfTokenizer> {
  const path = join(dir, `${name}.tokenizer.json`);
  await tokenizer.save(path);
  return new HfTokenizer(JSON.parse(readFileSync(path, 'utf-8')), {});
}

/** cl100k and its tokenizers.js twin, made once (saving and parsing 100k merges takes seconds). */
let cl100kPair: Promise<[Tokenizer, HfTokenizer]> | undefined;
function cl100k(): Promise<[Tokenizer, HfTokenizer]> {
  const tok = Tokenizer.cl100k();
  cl100kPair ??= hfOf(tok, 'cl100k').then((hf) => [tok, hf]);
  return cl100kPair;
}

const hfIds = (hf: HfTokenizer, text: string) => hf.encode(text, { add_special_tokens: false }).ids;

/** Texts whose ids differ, with the first differing position, for a readable failure. */
function mismatches(ours: Tokenizer, hf: HfTokenizer, texts: string[]): string[] {
  const out: string[] = [];
  for (const text of texts) {
    const a = Array.from(ours.encode(text));
    const b = hfIds(hf, text);
    if (a.length === b.length && a.every((id, i) => id === b[i])) continue;
    let i = 0;
    while (a[i] === b[i]) i++;
    out.push(`${JSON.stringify(ours.decode(a.slice(Math.max(0, i - 2), i + 3)))}: ours ${a.slice(i, i + 3)}, hf ${b.slice(i, i + 3)}`);
  }
  return out;
}

async function firstTexts(file: string, count: number): Promise<string[]> {
  const texts: string[] = [];
  for await (const doc of readDocuments(join(corpus, file))) {
    texts.push(doc.text);
    if (texts.length === count) break;
  }
  return texts;
}

/** Random Unicode text without the characters whose classes differ (see the last test). */
function randomTexts(seed: number, count: number): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => randomText(rng, 40).replace(/<\|endoftext\|>|\u0085|\ufeff/g, ' '));
}

describe('tokenizer.json in Hugging Face tokenizers.js', () => {
  it('gives the same ids on random Unicode text (emoji, CJK, controls, lone surrogates) for a trained tokenizer and cl100k', async () => {
    const texts = randomTexts(11, 300);
    const trained = await Tokenizer.train(randomTexts(12, 200), { vocabSize: 700 });
    for (const [tok, hf] of [[trained, await hfOf(trained, 'random')], await cl100k()] as const) {
      const name = tok === trained ? 'trained' : 'cl100k';
      expect(mismatches(tok, hf, texts), name).toEqual([]);
      expect(hf.token_to_id('<|endoftext|>')).toBe(tok.eotId);
      expect(hf.token_to_id('<|hidden|>')).toBe(tok.hiddenId);
    }
  });

  it.skipIf(!hasCorpus)('gives the same ids and decodes to the same text on real documents from ../shared/data', async () => {
    const domains = ['medical', 'biology', 'general'];
    const train = (await Promise.all(domains.map((d) => firstTexts(`${d}.train.jsonl.gz`, 20)))).flat();
    const test = (await Promise.all(domains.map((d) => firstTexts(`${d}.val.jsonl.gz`, 15)))).flat();
    const trained = await Tokenizer.train(train, { vocabSize: 4096 });
    for (const [tok, hf] of [[trained, await hfOf(trained, 'real')], await cl100k()] as const) {
      const name = tok === trained ? 'trained' : 'cl100k';
      expect(mismatches(tok, hf, test), name).toEqual([]);
      for (const text of test.slice(0, 10)) expect(hf.decode(Array.from(tok.encode(text)), { clean_up_tokenization_spaces: false })).toBe(text);
    }
  });

  it('known differences: special-token text inside a document, U+0085 and U+FEFF', async () => {
    const [cl, hf] = await cl100k();
    // tokenfilter encodes special-token text as plain text; tokenizers matches it as the special id
    const text = 'end <|endoftext|> start';
    expect(Array.from(cl.encode(text))).not.toContain(cl.eotId);
    expect(hfIds(hf, text)).toContain(cl.eotId);
    // U+0085 is a space for the Rust library's regex (and tokenizers.js), not for JavaScript's \s;
    // U+FEFF the reverse: the pre-tokenizer splits around them differently
    for (const odd of ['a \u0085b', 'x \ufeffy']) {
      expect(hfIds(hf, odd)).not.toEqual(Array.from(cl.encode(odd)));
      expect(cl.decode(hfIds(hf, odd))).toBe(odd);
    }
  });
});
