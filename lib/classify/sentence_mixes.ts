/**
 * Sentence-level mixed documents with exact span labels: sentences of the forget domain set
 * inside paragraphs of other domains, on the same line.
 *
 * Paragraph mixes (spliced_documents.ts) only switch domain at line breaks, so a probe tuned on
 * them learns that a line is one domain and averages a lone medical sentence away into its
 * paragraph. The text a token filter must handle also holds a general page that mentions a drug
 * or a dose in one sentence. These documents are host paragraphs (general, biology) with whole
 * forget-domain sentences inserted between their sentences, at a rate drawn per document from a
 * list that includes 0 (documents with none), and the character span of every inserted sentence.
 * @module
 */
import type { CharSpan } from '../data/span_labels.js';
import type { Random } from '../data/random.js';
import { paragraphsOf } from './spliced_documents.js';
import { CodedRangeError } from '../errors.js';
import { renderPieces } from './mixed_text.js';

/** A host text with inserted sentences: `spans` are `[start, end, domain]` of every sentence inserted. */
export interface SentenceMixDocument {
  text: string;
  spans: CharSpan[];
  /** The rate asked for this document (share of its sentences that are inserted). */
  rate: number;
  /** Host sentences and inserted sentences. */
  hostSentences: number;
  insertedSentences: number;
}

/** Options of {@link mixSentences}. */
export interface SentenceMixOptions {
  /** Documents to make. */
  count: number;
  /** Rates to draw from, uniformly per document, each in [0, 1) (default {@link DEFAULT_SENTENCE_RATES}). */
  rates?: readonly number[];
  /** Host paragraphs per document, uniformly in [min, max] (default 1 … 3). */
  minParagraphs?: number;
  maxParagraphs?: number;
  /** A longer host paragraph is cut to a random run of its sentences of at most this many characters (default 1200). */
  maxParagraphChars?: number;
  /** The span label of inserted sentences (default 'medical'). */
  label?: string;
  random: Random;
}

/** Rates drawn by default: a fifth of the documents get no inserted sentence. */
export const DEFAULT_SENTENCE_RATES: readonly number[] = [0, 0.05, 0.1, 0.2, 0.35];

/**
 * The sentences of a paragraph: cut after `.`, `!` or `?` (optionally followed by a closing quote
 * or bracket) where whitespace and then a capital letter, digit or opening quote follow. Trimmed;
 * whitespace runs inside a sentence are kept as they are.
 */
export function sentencesOf(paragraph: string): string[] {
  return paragraph
    .split(/(?<=[.!?]["'”’)\]]?)\s+(?=["'“‘(\[]?[A-Z0-9])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Sentences fit to insert: from the paragraphs of a domain, sentences of at least `minWords`
 * words and at most `maxChars` characters that end in `.`, `!` or `?` and hold no line break.
 */
export function insertableSentences(paragraphs: readonly string[], minWords = 6, maxChars = 400): string[] {
  const out: string[] = [];
  for (const p of paragraphs)
    for (const s of sentencesOf(p)) if (s.length <= maxChars && !/[\n\r]/.test(s) && /[.!?]["'”’)\]]?$/.test(s) && s.split(/\s+/).length >= minWords) out.push(s);
  return out;
}

/** How many sentences to insert among `host` host sentences so they make a share `rate` of the result (at least 1 when rate > 0). */
export function insertedCount(host: number, rate: number): number {
  if (rate <= 0) return 0;
  return Math.max(1, Math.round((rate * host) / (1 - rate)));
}

/** A run of whole sentences of `sentences` of at most `maxChars` characters joined by spaces (at least one sentence), from a random start. */
export function sentenceRun(sentences: readonly string[], maxChars: number, random: Random): string[] {
  const first = Math.floor(random.next() * sentences.length);
  const out = [sentences[first]];
  let length = sentences[first].length;
  for (let i = first + 1; i < sentences.length && length + 1 + sentences[i].length <= maxChars; i++) {
    out.push(sentences[i]);
    length += 1 + sentences[i].length;
  }
  return out;
}

function checkOptions(options: SentenceMixOptions, rates: readonly number[]): void {
  const { count } = options;
  const minP = options.minParagraphs ?? 1;
  const maxP = options.maxParagraphs ?? 3;
  const maxChars = options.maxParagraphChars ?? 1200;
  if (!Number.isInteger(count) || count < 0) throw new CodedRangeError(`count must be a non-negative integer, got ${count}`);
  if (rates.length === 0) throw new CodedRangeError('rates must not be empty');
  for (const r of rates) if (!(r >= 0 && r < 1)) throw new CodedRangeError(`rates must lie in [0, 1), got ${r}`);
  if (!Number.isInteger(minP) || minP < 1 || !Number.isInteger(maxP) || maxP < minP)
    throw new CodedRangeError(`paragraphs per document must be integers with 1 ≤ min ≤ max, got ${minP} … ${maxP}`);
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new CodedRangeError(`maxParagraphChars must be a positive integer, got ${maxChars}`);
}

/**
 * Makes documents from host paragraphs (any domains other than the inserted one) and insertable
 * sentences ({@link insertableSentences}). Per document: a rate from `rates`, 1–3 host paragraphs
 * (taken in order from `hosts`, cycling; each cut to a run of whole sentences), then
 * {@link insertedCount} sentences (taken in order from `sentences`, cycling) each put at a random
 * sentence boundary of a random paragraph, joined by single spaces; paragraphs are joined by a
 * blank line. Shuffle the pools first for a random order.
 * @throws RangeError for bad options or empty pools.
 */
export function mixSentences(hosts: readonly string[], sentences: readonly string[], options: SentenceMixOptions): SentenceMixDocument[] {
  const rates = options.rates ?? DEFAULT_SENTENCE_RATES;
  checkOptions(options, rates);
  const { random } = options;
  const minP = options.minParagraphs ?? 1;
  const maxP = options.maxParagraphs ?? 3;
  const maxChars = options.maxParagraphChars ?? 1200;
  const label = options.label ?? 'medical';
  const hostSentences = hosts.map(sentencesOf).filter((s) => s.length > 0);
  if (hostSentences.length === 0) throw new CodedRangeError('no host paragraphs');
  if (sentences.length === 0 && rates.some((r) => r > 0)) throw new CodedRangeError('no sentences to insert');
  let nextHost = 0;
  let nextSentence = 0;
  const documents: SentenceMixDocument[] = [];
  for (let i = 0; i < options.count; i++) {
    const rate = rates[Math.floor(random.next() * rates.length)];
    const n = minP + Math.floor(random.next() * (maxP - minP + 1));
    // each paragraph: a list of [sentence, inserted?]
    const paragraphs: [string, boolean][][] = [];
    let host = 0;
    for (let j = 0; j < n; j++) {
      const run = sentenceRun(hostSentences[nextHost++ % hostSentences.length], maxChars, random);
      paragraphs.push(run.map((s) => [s, false]));
      host += run.length;
    }
    const k = insertedCount(host, rate);
    for (let j = 0; j < k; j++) {
      const p = paragraphs[Math.floor(random.next() * paragraphs.length)];
      const at = Math.floor(random.next() * (p.length + 1));
      p.splice(at, 0, [sentences[nextSentence++ % sentences.length], true]);
    }
    const { text, spans } = renderPieces(paragraphs.map((p) => p.map(([s, inserted]) => ({ text: s, label: inserted ? label : null }))));
    documents.push({ text, spans, rate, hostSentences: host, insertedSentences: k });
  }
  return documents;
}

/**
 * Sentence-level mixes from whole documents grouped by domain: the paragraphs of every domain
 * but `forget` are hosts, the insertable sentences of `forget`'s paragraphs are inserted (both
 * pools shuffled by `options.random` first). Documents of one split give mixes of that split only.
 * @throws RangeError as {@link mixSentences}, or when `forget` has no documents.
 */
export function sentenceMixesOf(
  texts: Readonly<Record<string, readonly string[]>>, forget: string, options: SentenceMixOptions,
): SentenceMixDocument[] {
  if (!texts[forget]?.length) throw new CodedRangeError(`no documents of the forget domain ${forget}`);
  const { random } = options;
  const hosts = Object.keys(texts).filter((d) => d !== forget).flatMap((d) => texts[d].flatMap((t) => paragraphsOf(t)));
  const sentences = insertableSentences(texts[forget].flatMap((t) => paragraphsOf(t)));
  return mixSentences(random.shuffle(hosts), random.shuffle(sentences), { label: forget, ...options });
}
