import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { broadcastLabel, UNLABELLED } from '../../../lib/classify/labels.js';
import { combineWithLexicon, FIRST_LEXICON_FEATURES, Lexicon, LEXICON_FEATURES, tokenWords, wordShape } from '../../../lib/classify/lexicon.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { Random } from '../../../lib/data/random.js';
import { readSafetensors, writeSafetensors } from '../../../lib/model/safetensors.js';
import { errorCode } from '../../../lib/errors.js';
import { scoreShards } from '../../../lib/classify/score_shards.js';
import { writeShard } from '../../../lib/data/shard.js';
import { readSideFile, sideFilePathFor, SideFileKind } from '../../../lib/data/side_file.js';
import { GENERAL, MEDICAL, savedTinyBiLM, tinyTokenizer } from './fixtures.js';

const MEDICAL_WORDS = 'patient dose insulin diabetes doctor blood pressure clinic fever nurse tablet surgery'.split(' ');
const GENERAL_WORDS = 'river castle king feast town summer bridge market ship song garden winter'.split(' ');
const COMMON = 'the a of and was in for with to by'.split(' ');

/** A sentence of 6–11 words drawn from one domain's words and common ones. */
function sentence(words: readonly string[], random: Random): string {
  const n = 6 + Math.floor(random.next() * 6);
  const out = Array.from({ length: n }, () => (random.next() < 0.5 ? COMMON : words)[Math.floor(random.next() * (random.next() < 0.5 ? COMMON.length : words.length)) % (random.next() < 0.5 ? COMMON.length : words.length)] ?? 'the');
  return `${out[0][0].toUpperCase()}${out.join(' ').slice(1)}.`;
}

describe('tokenWords', () => {
  it('recovers the words of the text (letters and digits, lower-cased) from the token ids alone, with the buckets of each feature', async () => {
    const tokenizer = await tinyTokenizer();
    const random = new Random(5);
    for (let trial = 0; trial < 20; trial++) {
      const text = Array.from({ length: 4 }, () => sentence(random.next() < 0.5 ? MEDICAL_WORDS : GENERAL_WORDS, random)).join(random.next() < 0.3 ? '\n' : ' ') + " It's 42, isn't-it? HbA1c (7%).";
      const tokens = tokenizer.encode(text);
      const words = tokenWords(tokens, tokenizer, 20, LEXICON_FEATURES);
      expect(words.words).toEqual(text.toLowerCase().match(/[\p{L}\p{N}]+/gu));
      expect(words.tokenCount.every((c) => c >= 1)).toBe(true);
      // word, pair (only inside a sentence), number shape (only for a word with a digit)
      words.sentenceOf.forEach((s, w) => {
        const expected = 1 + (w > 0 && words.sentenceOf[w - 1] === s ? 1 : 0) + (/\d/.test(words.words[w]) ? 1 : 0);
        expect(words.wordStart[w + 1] - words.wordStart[w]).toBe(expected);
      });
      for (const b of words.wordBuckets) expect(b).toBeLessThan(1 << 20);
      // a punctuation bucket exactly on tokens holding something other than letters, digits and whitespace
      tokens.forEach((id, t) => expect(words.tokenBucket[t] >= 0).toBe(/[^\p{L}\p{N}\s]/u.test(tokenizer.decode([id]))));
      // tokens' sentences never decrease, and a word's tokens share its sentence
      tokens.forEach((_, t) => {
        if (t > 0) expect(words.tokenSentence[t]).toBeGreaterThanOrEqual(words.tokenSentence[t - 1]);
        if (words.wordOf[t] >= 0) expect(words.tokenSentence[t]).toBe(words.sentenceOf[words.wordOf[t]]);
      });
      // the first lexicons' features: a word and its pair only, no punctuation
      const first = tokenWords(tokens, tokenizer, 20, FIRST_LEXICON_FEATURES);
      expect(first.tokenBucket.every((b) => b === -1)).toBe(true);
      first.sentenceOf.forEach((s, w) => expect(first.wordStart[w + 1] - first.wordStart[w]).toBe(w > 0 && first.sentenceOf[w - 1] === s ? 2 : 1));
    }
  });

  it('writes a word shape with runs of capitals, other letters and digits folded', () => {
    expect(wordShape('HbA1c')).toBe('AaA0a');
    expect(wordShape('Ébola2')).toBe('Aa0');
    expect(wordShape('1991')).toBe('0');
    expect(wordShape('mg2')).toBe('a0');
    expect(wordShape('COVID19')).toBe('A0');
  });
});

describe('Lexicon', () => {
  it("spreads each word's weights over its tokens and gives a token its punctuation's: a sentence's evidence sums to its logit", async () => {
    const tokenizer = await tinyTokenizer();
    const random = new Random(9);
    const weights = Float32Array.from({ length: 1 << 10 }, () => random.next() * 2 - 1);
    const tokens = tokenizer.encode(`${MEDICAL} (It was 42%.) ${GENERAL}`);
    for (const features of [FIRST_LEXICON_FEATURES, LEXICON_FEATURES]) {
      const lexicon = new Lexicon(tokenizer, weights, null, features);
      const words = tokenWords(tokens, tokenizer, 10, features);
      let logit = 0;
      for (const b of words.wordBuckets) logit += weights[b];
      for (const b of words.tokenBucket) if (b >= 0) logit += weights[b];
      const evidence = lexicon.evidence(tokens);
      expect(evidence.reduce((a, b) => a + b, 0)).toBeCloseTo(logit, 3);
      tokens.forEach((_, t) => {
        if (words.wordOf[t] < 0 && words.tokenBucket[t] < 0) expect(evidence[t]).toBe(0);
      });
    }
    // the features change the evidence; a lexicon made without a list holds the first ones
    expect(new Lexicon(tokenizer, weights).features).toEqual(FIRST_LEXICON_FEATURES);
    expect(Array.from(new Lexicon(tokenizer, weights, null, LEXICON_FEATURES).evidence(tokens))).not.toEqual(Array.from(new Lexicon(tokenizer, weights).evidence(tokens)));
  });

  it('fits sentences of two domains, its loss falling, and separates held-out sentences', async () => {
    const tokenizer = await tinyTokenizer();
    const random = new Random(1);
    const doc = (words: readonly string[], label: 0 | 1) => broadcastLabel(tokenizer.encode(Array.from({ length: 8 }, () => sentence(words, random)).join(' ')), label);
    const train = Array.from({ length: 30 }, (_, i) => (i % 2 ? doc(MEDICAL_WORDS, 1) : doc(GENERAL_WORDS, 0)));
    const losses: number[] = [];
    const lexicon = await Lexicon.fit(train, tokenizer, { bits: 12, epochs: 3, onEpoch: (_, loss) => losses.push(loss) });
    expect(losses).toHaveLength(3);
    expect(losses[0]).toBeLessThan(Math.log(2));
    expect(losses[2]).toBeLessThan(losses[0]);
    expect(lexicon.fit).toMatchObject({ epochs: 3, positiveSentences: 120, sentences: 240 });
    expect(lexicon.features).toEqual(LEXICON_FEATURES);
    const sum = (text: string) => lexicon.evidence(tokenizer.encode(text)).reduce((a, b) => a + b, 0);
    for (let k = 0; k < 10; k++) {
      expect(sum(sentence(MEDICAL_WORDS, random))).toBeGreaterThan(0);
      expect(sum(sentence(GENERAL_WORDS, random))).toBeLessThan(0);
    }
  });

  it('leaves out sentences whose labels disagree, and refuses one class, bad options and a cancelled fit', async () => {
    const tokenizer = await tinyTokenizer();
    const tokens = tokenizer.encode(MEDICAL + GENERAL);
    const mixed = { tokens, labels: Uint8Array.from(tokens, (_, t) => (t % 2 ? 1 : 0)) };
    const unlabelled = { tokens, labels: new Uint8Array(tokens.length).fill(UNLABELLED) };
    const one = broadcastLabel(tokenizer.encode(MEDICAL), 1);
    const other = broadcastLabel(tokenizer.encode(GENERAL), 0);
    const fitted = await Lexicon.fit([mixed, unlabelled, one, other], tokenizer, { bits: 8, epochs: 1 });
    expect(fitted.fit).toMatchObject({ sentences: 2, positiveSentences: 1 });
    const codeOf = async (p: Promise<unknown>) => p.then(() => 'resolved', (e) => errorCode(e));
    expect(await codeOf(Lexicon.fit([one, mixed], tokenizer))).toBe('E_OPTION');
    await expect(Lexicon.fit([one, other], tokenizer, { bits: 40 })).rejects.toThrow(RangeError);
    expect(await codeOf(Lexicon.fit([one, other], tokenizer, { bits: 40 }))).toBe('E_OPTION');
    expect(await codeOf(Lexicon.fit([one, other], tokenizer, { epochs: 0 }))).toBe('E_OPTION');
    const controller = new AbortController();
    controller.abort();
    expect(await codeOf(Lexicon.fit([one, other], tokenizer, { signal: controller.signal }))).toBe('E_ABORTED');
    expect(() => new Lexicon(tokenizer, new Float32Array(1000))).toThrow(RangeError);
    // features: known ones, each once, at least one
    for (const features of [[], ['word', 'words'], ['word', 'word']] as never[][]) {
      expect(await codeOf(Lexicon.fit([one, other], tokenizer, { features }))).toBe('E_OPTION');
      expect(() => new Lexicon(tokenizer, new Float32Array(256), null, features)).toThrow(RangeError);
    }
    const wordsOnly = await Lexicon.fit([one, other], tokenizer, { bits: 8, epochs: 1, features: ['word'] });
    expect(wordsOnly.features).toEqual(['word']);
  });

  it('combines with the probe in logit space: share 0 is the lexicon alone', () => {
    const p = Float32Array.from([0.5, 0.9, 0.1, 1]);
    const e = Float32Array.from([0, -1, 2, 0.5]);
    const logit = (x: number) => Math.log(x / (1 - x));
    const out = combineWithLexicon(p, e, 0.5);
    out.forEach((v, t) => expect(v).toBeCloseTo(1 / (1 + Math.exp(-(e[t] + 0.5 * logit(Math.min(p[t], 1 - 1e-7))))), 6));
    expect(Array.from(combineWithLexicon(null, e, 0))).toEqual(Array.from(combineWithLexicon(p, e, 0)));
  });
});

describe('TokenClassifier with a lexicon', () => {
  it('tries the lexicon beside every probe, saves the choice, and scores the same after loading', async () => {
    const { dir, bilm, tokenizer, bilmPath } = await savedTinyBiLM('tf-lex-');
    const random = new Random(2);
    const doc = (words: readonly string[], label: 0 | 1) => broadcastLabel(tokenizer.encode(Array.from({ length: 3 }, () => sentence(words, random)).join(' ')), label);
    const seqs = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? doc(MEDICAL_WORDS, 1) : doc(GENERAL_WORDS, 0)));
    const lexicon = await Lexicon.fit(seqs(40), tokenizer, { bits: 12 });
    const { classifier, sweep } = await TokenClassifier.train({ bilm, bilmPath, train: seqs(6), val: seqs(6), layers: [0], lexicon, probeWeights: [0, 0.5] });
    // one probe alone, then the lexicon alone (share 0) and beside the probe (0.5)
    expect(sweep.map((r) => r.probeWeight)).toEqual([undefined, 0, 0.5]);
    // the lexicon alone separates the two vocabularies on validation
    expect(sweep[1].blendF1).toBeGreaterThan(0.9);
    // the choice is whichever wins the blend; save and load one with the lexicon beside its probe
    const chosen = classifier.lexicon ? classifier : new TokenClassifier(bilm, bilmPath, classifier.layers, classifier.probe, classifier.threshold, null, 'both', classifier.method, 'window', { lexicon, probeWeight: 0.5 });
    const path = join(dir, 'clf.safetensors');
    await chosen.save(path);
    const loaded = await TokenClassifier.load(path);
    expect(loaded.lexicon?.probeWeight).toBe(chosen.lexicon!.probeWeight);
    expect(Array.from(loaded.lexicon!.lexicon.weights)).toEqual(Array.from(lexicon.weights));
    const text = tokenizer.encode(`${sentence(GENERAL_WORDS, random)} ${sentence(MEDICAL_WORDS, random)}`);
    expect((await loaded.scoreDocuments([text]))[0]).toEqual((await chosen.scoreDocuments([text]))[0]);
    // the scoring stage scores with the lexicon and says so in its record
    const shard = join(dir, 'a.bin');
    await writeShard(shard, Uint32Array.from([tokenizer.eotId, ...text]), { tokenizer });
    const scored = await scoreShards({ shards: [shard], classifier: path, out: join(dir, 'scores') });
    expect(scored.processed[0].scoring.lexicon).toEqual({ probeWeight: chosen.lexicon!.probeWeight });
    const stored = readSideFile(sideFilePathFor(join(dir, 'scores', 'a.bin'), SideFileKind.ScoresUint8), { expectKind: SideFileKind.ScoresUint8 }).values;
    const expectedScores = (await chosen.scoreDocuments([text]))[0];
    expectedScores.forEach((p, t) => expect(stored[t + 1]).toBe(Math.round(255 * p)));
    // the lexicon alone: the sigmoid of its evidence, whatever the biLM says
    const alone = new TokenClassifier(bilm, bilmPath, 0, classifier.probe, 0.5, null, 'both', 0, 'window', { lexicon, probeWeight: 0 });
    const expected = lexicon.evidence(text).map((e) => 1 / (1 + Math.exp(-e)));
    (await alone.rawScores([text]))[0].forEach((v, t) => expect(v).toBeCloseTo(expected[t], 6));
    expect(loaded.lexicon!.lexicon.features).toEqual(LEXICON_FEATURES);
    // a file of the first lexicons (no list of features) holds words and pairs; a bad list is refused
    const file = await readSafetensors(path);
    const meta = JSON.parse(file.metadata.lexicon);
    await writeSafetensors(path, file.tensors, { ...file.metadata, lexicon: JSON.stringify({ ...meta, features: undefined }) });
    expect((await TokenClassifier.load(path)).lexicon!.lexicon.features).toEqual(FIRST_LEXICON_FEATURES);
    await writeSafetensors(path, file.tensors, { ...file.metadata, lexicon: JSON.stringify({ ...meta, features: ['word', 'colour'] }) });
    await expect(TokenClassifier.load(path)).rejects.toThrow(/lexicon features/);
    // a file with the lexicon's metadata but not its weights is refused
    file.tensors.delete('lexicon.weights');
    await writeSafetensors(path, file.tensors, file.metadata);
    await expect(TokenClassifier.load(path)).rejects.toThrow(/lexicon needs both/);
  });
});
