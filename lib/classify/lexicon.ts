/**
 * A lexicon: a logistic model of sentences over hashed word, word-pair and style features, read
 * back as per-token evidence for the probe's segmentation.
 *
 * Words come from the token ids alone (score files hold tokens, not text): a token's letters and
 * digits, lower-cased, continue the word of the token before unless the token starts with
 * anything else (a space, punctuation) or the token before ended with it; a token without a
 * letter or digit belongs to no word. Sentences end where segmentation.ts's boundaries are.
 * Features, each hashed (FNV-1a, 32 bits) into 2^bits buckets:
 * - `word`: the word;
 * - `pair`: the previous word of the same sentence and the word;
 * - `numberShape`: for a word holding a digit, its shape as written ("1991" → "0", "HbA1c" → "AaA0a");
 * - `punctuation`: a token's characters other than letters, digits and whitespace ("(", ").", "%").
 * The last two carry style more than topic: clinical abstracts write "(P < .05)" and "mg/dl",
 * consumer-health pages and encyclopedias punctuate otherwise. A sentence's logit is the sum of
 * the weights of its features (no intercept), fitted by AdaGrad on sentences whose labelled
 * tokens all agree (classes weighted to balance, L2 on the weights touched).
 *
 * Evidence of token t: the weights of its word's features divided by the number of tokens of the
 * word, plus the weight of its own punctuation, so a sentence's evidence sums to its logit
 * whatever the tokenizer cut. The token classifier adds it to a share of the probe's logit (see
 * {@link combineWithLexicon}) before scoring; the segmentation then weighs a sentence's total
 * against its switching costs. Lexicons saved before the list of features existed hold words and
 * pairs only ({@link FIRST_LEXICON_FEATURES}).
 * @module
 */
import type { Tokenizer } from '../data/tokenizer.js';
import { Random } from '../data/random.js';
import { abortError } from '../abort.js';
import { CodedRangeError, TokenfilterError } from '../errors.js';
import { stripUndefined } from '../options.js';
import { UNLABELLED, type LabelledSequence } from './labels.js';
import { boundaryIds } from './segmentation.js';

/** The features a lexicon hashes (see the module comment). */
export type LexiconFeature = 'word' | 'pair' | 'punctuation' | 'numberShape';

/** The features of a lexicon saved without a list (the first version): words and word pairs. */
export const FIRST_LEXICON_FEATURES: readonly LexiconFeature[] = Object.freeze(['word', 'pair']);

/** Every feature, in the order checked. */
export const LEXICON_FEATURES: readonly LexiconFeature[] = Object.freeze(['word', 'pair', 'punctuation', 'numberShape']);

/** Options of {@link Lexicon.fit}. */
export interface LexiconOptions {
  /** log2 of the number of hashed buckets (default 20: 4 MiB of float32 weights). */
  bits?: number;
  /** Passes over the sentences (default 4). */
  epochs?: number;
  /** AdaGrad's step size (default 0.1). */
  learningRate?: number;
  /** L2 penalty on the weights a sentence touches (default 1e-6). */
  l2?: number;
  /** Seed of the sentence order (default 0). */
  seed?: number;
  /** The features hashed (default {@link LEXICON_FEATURES}: all). */
  features?: readonly LexiconFeature[];
  /** Called after each pass with its mean weighted log-loss. */
  onEpoch?: (epoch: number, loss: number) => void;
  signal?: AbortSignal;
}

/** Defaults of {@link LexiconOptions}. */
export const LEXICON_DEFAULTS = Object.freeze({ bits: 20, epochs: 4, learningRate: 0.1, l2: 1e-6, seed: 0, features: LEXICON_FEATURES });

/** What {@link Lexicon.fit} saw and reached. */
export interface LexiconFit {
  sentences: number;
  positiveSentences: number;
  epochs: number;
  /** Mean weighted log-loss of the last pass. */
  loss: number;
}

/** Per token id: its word piece (letters and digits, lower-cased and as written; '' for none), its punctuation, whether it starts a new word, whether it leaves its word open. */
interface WordTable {
  piece: string[];
  written: string[];
  /** The token's characters other than letters, digits and whitespace ('' for none). */
  punctuation: string[];
  startsWord: Uint8Array;
  endsOpen: Uint8Array;
  /** Non-zero after a token that ends a sentence or line (segmentation.ts). */
  boundary: Uint8Array;
}

const wordTables = new WeakMap<object, WordTable>();

function wordTable(tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>): WordTable {
  const cached = wordTables.get(tokenizer);
  if (cached) return cached;
  const V = tokenizer.vocabSize;
  const empty = () => new Array<string>(V).fill('');
  const table: WordTable = { piece: empty(), written: empty(), punctuation: empty(), startsWord: new Uint8Array(V), endsOpen: new Uint8Array(V), boundary: boundaryIds(tokenizer) };
  for (let id = 0; id < V; id++) {
    let text = '';
    try {
      text = tokenizer.decode([id]);
    } catch {
      continue;
    }
    table.written[id] = text.replace(/[^\p{L}\p{N}]/gu, '');
    table.piece[id] = table.written[id].toLowerCase();
    table.punctuation[id] = text.replace(/[\p{L}\p{N}\s]/gu, '');
    table.startsWord[id] = /^[\p{L}\p{N}]/u.test(text) ? 0 : 1;
    table.endsOpen[id] = /[\p{L}\p{N}]$/u.test(text) ? 1 : 0;
  }
  wordTables.set(tokenizer, table);
  return table;
}

/** FNV-1a over the UTF-16 code units of `text`, masked to `mask`. */
function bucketOf(text: string, mask: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) & mask;
}

/** The shape of a word as written: each run of capitals → A, of other letters → a, of digits → 0 ("HbA1c" → "AaA0a"). */
export function wordShape(written: string): string {
  return written.replace(/\p{Lu}+|(?:(?!\p{Lu})\p{L})+|\p{N}+/gu, (run) => (/\p{Lu}/u.test(run) ? 'A' : /\p{N}/u.test(run) ? '0' : 'a'));
}

/** The words of a token sequence and their hashed feature buckets (see {@link tokenWords}). */
export interface TokenWords {
  /** The words, lower-cased letters and digits. */
  words: string[];
  /** Per token: its word (−1 for none). */
  wordOf: Int32Array;
  /** Buckets of word w: `wordBuckets[wordStart[w] … wordStart[w + 1])`. */
  wordStart: Int32Array;
  wordBuckets: Int32Array;
  /** Per word: its sentence. */
  sentenceOf: Int32Array;
  /** Per word: its number of tokens. */
  tokenCount: Int32Array;
  /** Per token: the bucket of its punctuation (−1 for none, or without the punctuation feature). */
  tokenBucket: Int32Array;
  /** Per token: its sentence (a token that ends a sentence belongs to it). */
  tokenSentence: Int32Array;
}

/**
 * Words of `tokens` (see the module comment) with the buckets of `features`: per word its
 * `word`, its `pair` with the word before in the same sentence, and when it holds a digit its
 * `numberShape` ({@link wordShape}); per token its `punctuation`.
 */
export function tokenWords(
  tokens: Uint32Array, tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>, bits: number, features: readonly LexiconFeature[] = FIRST_LEXICON_FEATURES,
): TokenWords {
  const table = wordTable(tokenizer);
  const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
  const has = (f: LexiconFeature) => features.includes(f);
  const wordOf = new Int32Array(tokens.length).fill(-1);
  const tokenBucket = new Int32Array(tokens.length).fill(-1);
  const tokenSentence = new Int32Array(tokens.length);
  const words: string[] = [];
  const written: string[] = [];
  const sentences: number[] = [];
  let open = false;
  let sentence = 0;
  for (let t = 0; t < tokens.length; t++) {
    const id = tokens[t];
    const piece = table.piece[id] ?? '';
    if (piece) {
      if (!open || table.startsWord[id]) {
        words.push(piece);
        written.push(table.written[id]);
        sentences.push(sentence);
      } else {
        words[words.length - 1] += piece;
        written[written.length - 1] += table.written[id];
      }
      wordOf[t] = words.length - 1;
      open = table.endsOpen[id] === 1;
    } else open = false;
    if (has('punctuation') && table.punctuation[id]) tokenBucket[t] = bucketOf(`P:${table.punctuation[id]}`, mask);
    tokenSentence[t] = sentence;
    if (table.boundary[id]) {
      sentence++;
      open = false;
    }
  }
  const wordStart = new Int32Array(words.length + 1);
  const wordBuckets: number[] = [];
  for (let w = 0; w < words.length; w++) {
    if (has('word')) wordBuckets.push(bucketOf(words[w], mask));
    if (has('pair') && w > 0 && sentences[w - 1] === sentences[w]) wordBuckets.push(bucketOf(`${words[w - 1]} ${words[w]}`, mask));
    if (has('numberShape') && /\p{N}/u.test(words[w])) wordBuckets.push(bucketOf(`S:${wordShape(written[w])}`, mask));
    wordStart[w + 1] = wordBuckets.length;
  }
  const tokenCount = new Int32Array(words.length);
  for (const w of wordOf) if (w >= 0) tokenCount[w]++;
  return { words, wordOf, wordStart, wordBuckets: Int32Array.from(wordBuckets), sentenceOf: Int32Array.from(sentences), tokenCount, tokenBucket, tokenSentence };
}

/** Training sentences: feature buckets of each, flattened, and labels. */
interface SentenceSet {
  offsets: Uint32Array;
  buckets: Uint32Array;
  labels: Uint8Array;
}

/**
 * Sentences of the labelled sequences whose labelled tokens all agree (tokens that carry a
 * feature; at least one labelled): each sentence's buckets, words' and tokens' in token order.
 */
function labelledSentences(sequences: readonly LabelledSequence[], tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>, bits: number, features: readonly LexiconFeature[]): SentenceSet {
  const offsets: number[] = [0];
  const buckets: number[] = [];
  const labels: number[] = [];
  for (const s of sequences) {
    const words = tokenWords(s.tokens, tokenizer, bits, features);
    let agree = -1; // −1 none yet, 0/1 that label, 2 mixed
    const close = () => {
      if ((agree === 0 || agree === 1) && buckets.length > offsets[offsets.length - 1]) {
        offsets.push(buckets.length);
        labels.push(agree);
      } else buckets.length = offsets[offsets.length - 1];
      agree = -1;
    };
    for (let t = 0; t < s.tokens.length; t++) {
      if (t > 0 && words.tokenSentence[t] !== words.tokenSentence[t - 1]) close();
      const w = words.wordOf[t];
      if (w >= 0 && (t === 0 || words.wordOf[t - 1] !== w)) for (let j = words.wordStart[w]; j < words.wordStart[w + 1]; j++) buckets.push(words.wordBuckets[j]);
      if (words.tokenBucket[t] >= 0) buckets.push(words.tokenBucket[t]);
      const l = s.labels[t];
      if ((w >= 0 || words.tokenBucket[t] >= 0) && l !== UNLABELLED) agree = agree === -1 || agree === l ? l : 2;
    }
    close();
  }
  return { offsets: Uint32Array.from(offsets), buckets: Uint32Array.from(buckets), labels: Uint8Array.from(labels) };
}

/** @throws RangeError (E_OPTION) unless `bits`, log2 of a lexicon's buckets, is an integer in 8 … 26; `name` names it in the message. */
export function checkLexiconBits(bits: unknown, name = 'lexicon bits'): void {
  if (!(Number.isInteger(bits) && (bits as number) >= 8 && (bits as number) <= 26)) throw new CodedRangeError(`${name} must be an integer in 8 … 26, got ${String(bits)}`);
}

/** @throws RangeError (E_OPTION) for a list that is empty, names an unknown feature or one twice. */
export function checkLexiconFeatures(features: unknown): asserts features is readonly LexiconFeature[] {
  if (!Array.isArray(features) || features.length === 0) throw new CodedRangeError('lexicon features must be a non-empty list');
  for (const f of features) if (!LEXICON_FEATURES.includes(f as LexiconFeature)) throw new CodedRangeError(`unknown lexicon feature ${JSON.stringify(f)} (known: ${LEXICON_FEATURES.join(', ')})`);
  if (new Set(features).size !== features.length) throw new CodedRangeError(`lexicon features named twice: ${features.join(', ')}`);
}

/** One AdaGrad pass over the sentences in `order`; returns the mean weighted log-loss. */
function adagradPass(set: SentenceSet, order: Uint32Array, weights: Float32Array, squares: Float32Array, classWeight: [number, number], o: { learningRate: number; l2: number }): number {
  let loss = 0;
  for (const i of order) {
    const from = set.offsets[i];
    const to = set.offsets[i + 1];
    let z = 0;
    for (let j = from; j < to; j++) z += weights[set.buckets[j]];
    const y = set.labels[i];
    const p = 1 / (1 + Math.exp(-z));
    const c = classWeight[y];
    loss += c * (y ? Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
    const g = c * (p - y);
    for (let j = from; j < to; j++) {
      const b = set.buckets[j];
      const gb = g + o.l2 * weights[b];
      squares[b] += gb * gb;
      weights[b] -= (o.learningRate / Math.sqrt(squares[b])) * gb;
    }
  }
  return loss / Math.max(1, order.length);
}

/**
 * Weights of hashed word, word-pair and style features; {@link Lexicon.evidence} gives each token
 * its share of its word's weights and its own punctuation's weight. Fit with {@link Lexicon.fit}; saved inside the token classifier file.
 */
export class Lexicon {
  readonly bits: number;
  readonly weights: Float32Array;
  readonly fit: LexiconFit | null;
  /** The features hashed; a file without the list holds {@link FIRST_LEXICON_FEATURES}. */
  readonly features: readonly LexiconFeature[];
  private readonly tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>;

  /** @throws RangeError unless `weights` has 2^bits entries, bits in 8 … 26, and `features` are known, each once. */
  constructor(tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>, weights: Float32Array, fit: LexiconFit | null = null, features: readonly LexiconFeature[] = FIRST_LEXICON_FEATURES) {
    const bits = Math.log2(weights.length);
    if (!Number.isInteger(bits) || bits < 8 || bits > 26) throw new CodedRangeError(`a lexicon has 2^bits weights, bits 8 … 26; got ${weights.length} weights`);
    checkLexiconFeatures(features);
    this.features = Object.freeze([...features]);
    this.bits = bits;
    this.weights = weights;
    this.fit = fit;
    this.tokenizer = tokenizer;
  }

  /**
   * Fits a lexicon on the sentences of labelled token sequences (a sentence whose labelled tokens
   * disagree is left out). Runs on the JS thread in slices, yielding between them; cancellable.
   * @throws RangeError for bad options or a class without sentences; AbortError.
   */
  static async fit(sequences: readonly LabelledSequence[], tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>, options: LexiconOptions = {}): Promise<Lexicon> {
    const o = { ...LEXICON_DEFAULTS, ...stripUndefined(options) };
    checkLexiconBits(o.bits);
    if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new CodedRangeError(`lexicon epochs must be a positive integer, got ${o.epochs}`);
    if (!(o.learningRate > 0) || !(o.l2 >= 0)) throw new CodedRangeError(`lexicon learningRate must be > 0 and l2 >= 0, got ${o.learningRate}, ${o.l2}`);
    checkLexiconFeatures(o.features);
    const set = labelledSentences(sequences, tokenizer, o.bits, o.features);
    const n = set.labels.length;
    const positive = set.labels.reduce((a, l) => a + l, 0);
    if (positive === 0 || positive === n) throw new TokenfilterError('E_OPTION', `a lexicon needs sentences of both classes; got ${positive} positive of ${n}`);
    const classWeight: [number, number] = [n / (2 * (n - positive)), n / (2 * positive)];
    const weights = new Float32Array(2 ** o.bits);
    const squares = new Float32Array(2 ** o.bits).fill(1e-8);
    const random = new Random(o.seed);
    let loss = NaN;
    const slice = 50_000;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = Uint32Array.from(random.shuffle(Array.from({ length: n }, (_, i) => i)));
      let sum = 0;
      for (let first = 0; first < n; first += slice) {
        if (options.signal?.aborted) throw abortError('lexicon fit');
        const part = order.subarray(first, Math.min(n, first + slice));
        sum += adagradPass(set, part, weights, squares, classWeight, o) * part.length;
        await new Promise<void>((done) => setImmediate(done));
      }
      loss = sum / n;
      options.onEpoch?.(epoch, loss);
    }
    return new Lexicon(tokenizer, weights, { sentences: n, positiveSentences: positive, epochs: o.epochs, loss }, o.features);
  }

  /**
   * Per-token evidence of `tokens` (logit units): each word's feature weights spread evenly over
   * its tokens, plus the weight of the token's own punctuation; 0 for tokens of neither.
   */
  evidence(tokens: Uint32Array): Float32Array {
    const words = tokenWords(tokens, this.tokenizer, this.bits, this.features);
    const out = new Float32Array(tokens.length);
    for (let t = 0; t < tokens.length; t++) {
      const w = words.wordOf[t];
      let z = 0;
      if (w >= 0) {
        for (let j = words.wordStart[w]; j < words.wordStart[w + 1]; j++) z += this.weights[words.wordBuckets[j]];
        z /= words.tokenCount[w];
      }
      if (words.tokenBucket[t] >= 0) z += this.weights[words.tokenBucket[t]];
      out[t] = z;
    }
    return out;
  }
}

/**
 * The probabilities a token classifier scores with a lexicon: sigmoid(probeWeight · logit(p) + evidence),
 * p the raw probe probability (clamped to [1e-7, 1 − 1e-7]); probeWeight 0 ignores the probe.
 * Training and scoring both go through here, so they agree bit for bit.
 */
export function combineWithLexicon(probabilities: Float32Array | null, evidence: Float32Array, probeWeight: number): Float32Array {
  const out = new Float32Array(evidence.length);
  for (let t = 0; t < evidence.length; t++) {
    let z = evidence[t];
    if (probeWeight !== 0 && probabilities) {
      const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[t]));
      z += probeWeight * Math.log(p / (1 - p));
    }
    out[t] = 1 / (1 + Math.exp(-z));
  }
  return out;
}
