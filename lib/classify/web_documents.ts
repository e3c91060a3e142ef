/**
 * Web-like mixed documents: host documents (general, biology) with forget-domain (medical)
 * sentences set inside their paragraphs and whole forget-domain paragraphs set between them, at a
 * rate drawn per document from a spread (most documents none, some a sentence or two, some a
 * third or more), plus some wholly forget-domain documents; every piece's exact character span
 * and domain is recorded (gold, for grading only).
 *
 * This is the text the paper's claim is about: a page about cooking mentions a drug, a biology
 * chapter holds a clinical paragraph. Dropping whole documents then either keeps the medical
 * sentences or throws away good text around them; token filtering can remove just the sentences.
 *
 * Hosts are cut into chunks of whole lines (paragraphs) of at most `maxChars` characters, each
 * chunk one document. Forget-domain text is taken in order from the forget documents (each used
 * once before any is reused), as single sentences, runs of sentences set as a paragraph, or a
 * whole document's first chunk.
 * @module
 */
import type { CharSpan } from '../data/span_labels.js';
import { TokenfilterError } from '../errors.js';
import { renderPieces, type TextPiece } from './mixed_text.js';
import type { Random } from '../data/random.js';
import { insertableSentences, insertedCount, sentencesOf } from './sentence_mixes.js';
import { stripUndefined } from '../options.js';

/** A host document: its text and its domain. */
export interface HostDocument {
  text: string;
  domain: string;
}

/** One mixed document: `spans` cover every piece (host sentences and inserted ones) with its domain. */
export interface WebDocument {
  text: string;
  spans: CharSpan[];
  /** The host's domain (the forget label for a wholly forget-domain document). */
  host: string;
  /** The rate drawn for this document (1: wholly forget-domain). */
  rate: number;
  /** Characters inside forget-domain spans. */
  forgetChars: number;
}

/** Options of {@link webDocuments}; defaults in {@link WEB_DOCUMENT_DEFAULTS}. */
export interface WebDocumentOptions {
  /** Rates drawn uniformly per document: share of the document's sentences that are forget-domain; 1 = a wholly forget-domain document. */
  rates?: readonly number[];
  /** Host chunks hold whole lines up to this many characters (a longer line is cut between sentences). */
  maxChars?: number;
  /** From this rate up, part of the inserted sentences come as whole paragraphs. */
  paragraphRate?: number;
  /** Share of the inserted sentences set as whole paragraphs (at rates ≥ paragraphRate). */
  paragraphShare?: number;
  /** Span label of inserted text (default 'medical'). */
  label?: string;
  random: Random;
}

/**
 * Default rates: half the documents carry no forget-domain text, a quarter a sentence or two
 * (3–10%), a fifth 15–50%, one in twenty is wholly forget-domain. With the corpus of
 * `../shared/data` this gives about 15% forget-domain tokens, most of them in documents that are
 * mostly not forget-domain.
 */
export const DEFAULT_WEB_RATES: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.35, 0.5, 1];

/** Defaults of {@link WebDocumentOptions}. */
export const WEB_DOCUMENT_DEFAULTS = Object.freeze({ rates: DEFAULT_WEB_RATES, maxChars: 3000, paragraphRate: 0.2, paragraphShare: 0.5, label: 'medical' });

/** Lines of `text` (split at line breaks), trimmed, non-empty. */
function linesOf(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** Chunks of whole lines of `text`, each a list of paragraphs (lists of sentences) of at most `maxChars` characters. */
export function hostChunks(text: string, maxChars: number): string[][][] {
  const chunks: string[][][] = [];
  let chunk: string[][] = [];
  let length = 0;
  const flush = () => {
    if (chunk.length > 0) chunks.push(chunk);
    chunk = [];
    length = 0;
  };
  for (const line of linesOf(text)) {
    // a line longer than a chunk is cut into runs of sentences
    let run: string[] = [];
    let runLength = 0;
    const runs: string[][] = [];
    for (const s of sentencesOf(line)) {
      if (run.length > 0 && runLength + 1 + s.length > maxChars) {
        runs.push(run);
        run = [];
        runLength = 0;
      }
      run.push(s);
      runLength += (run.length > 1 ? 1 : 0) + s.length;
    }
    if (run.length > 0) runs.push(run);
    for (const r of runs) {
      const chars = r.reduce((n, s) => n + s.length + 1, 0);
      if (length > 0 && length + chars > maxChars) flush();
      chunk.push(r);
      length += chars;
    }
  }
  flush();
  return chunks;
}

/** Forget-domain text taken in order: documents, and a queue of their insertable sentences. */
class ForgetCursor {
  private next = 0;
  private readonly queue: string[] = [];
  constructor(private readonly documents: readonly string[], private readonly maxChars: number) {}

  /** The next forget document's first chunk, as paragraphs of sentences. */
  document(): string[][] {
    for (let tries = 0; tries < this.documents.length; tries++) {
      const chunks = hostChunks(this.documents[this.next++ % this.documents.length], this.maxChars);
      if (chunks.length > 0) return chunks[0];
    }
    throw new TokenfilterError('E_OPTION', 'the forget documents hold no text');
  }

  /** The next `n` insertable sentences, in document order. */
  sentences(n: number): string[] {
    for (let tries = 0; this.queue.length < n; tries++) {
      if (tries > this.documents.length) throw new TokenfilterError('E_OPTION', 'the forget documents hold no insertable sentence');
      this.queue.push(...insertableSentences(linesOf(this.documents[this.next++ % this.documents.length])));
    }
    return this.queue.splice(0, n);
  }
}

function resolve(options: WebDocumentOptions): Required<WebDocumentOptions> {
  const o = { ...WEB_DOCUMENT_DEFAULTS, ...stripUndefined(options) } as Required<WebDocumentOptions>;
  if (!Array.isArray(o.rates) || o.rates.length === 0) throw new TokenfilterError('E_OPTION', 'rates must list at least one rate');
  for (const r of o.rates) if (!(r >= 0 && r <= 1)) throw new TokenfilterError('E_OPTION', `rates must lie in [0, 1], got ${r}`);
  if (!Number.isInteger(o.maxChars) || o.maxChars < 100) throw new TokenfilterError('E_OPTION', `maxChars must be an integer ≥ 100, got ${o.maxChars}`);
  if (!(o.paragraphRate >= 0 && o.paragraphRate <= 1)) throw new TokenfilterError('E_OPTION', `paragraphRate must lie in [0, 1], got ${o.paragraphRate}`);
  if (!(o.paragraphShare >= 0 && o.paragraphShare <= 1)) throw new TokenfilterError('E_OPTION', `paragraphShare must lie in [0, 1], got ${o.paragraphShare}`);
  if (typeof o.random?.next !== 'function') throw new TokenfilterError('E_OPTION', 'random must be a Random');
  return o;
}

/**
 * Mixed documents from `hosts` (taken in order; shuffle first) and `forget` documents (taken in
 * order, cycling). Per host chunk a rate is drawn; a rate of 1 yields a wholly forget-domain
 * document first and draws again for the chunk. For a rate r in (0, 1), {@link insertedCount}
 * sentences go in: at r ≥ paragraphRate a share `paragraphShare` of them as paragraphs of 2–5
 * sentences between the host's paragraphs, the rest one by one at random sentence boundaries
 * inside host paragraphs (mid-paragraph, on the host's line). Lines are joined by `\n`.
 * @throws TokenfilterError (E_OPTION) for bad options or forget documents without text.
 */
export function* webDocuments(hosts: Iterable<HostDocument>, forget: readonly string[], options: WebDocumentOptions): Generator<WebDocument> {
  const o = resolve(options);
  const { random } = o;
  if (forget.length === 0 && o.rates.some((r) => r > 0)) throw new TokenfilterError('E_OPTION', 'no forget documents to insert');
  const cursor = new ForgetCursor(forget, o.maxChars);
  const drawRate = () => o.rates[Math.floor(random.next() * o.rates.length)];
  const finish = (paragraphs: TextPiece[][], host: string, rate: number): WebDocument => {
    const { text, spans } = renderPieces(paragraphs, '\n');
    const forgetChars = spans.reduce((n, [s, e, l]) => n + (l === o.label ? e - s : 0), 0);
    return { text, spans, host, rate, forgetChars };
  };
  for (const host of hosts) {
    for (const chunk of hostChunks(host.text, o.maxChars)) {
      let rate = drawRate();
      while (rate >= 1) {
        yield finish(cursor.document().map((p) => p.map((s) => ({ text: s, label: o.label }))), o.label, 1);
        rate = drawRate();
      }
      const paragraphs: TextPiece[][] = chunk.map((p) => p.map((s) => ({ text: s, label: host.domain })));
      const hostSentences = chunk.reduce((n, p) => n + p.length, 0);
      const k = insertedCount(hostSentences, rate);
      const asParagraphs = rate >= o.paragraphRate ? Math.round(k * o.paragraphShare) : 0;
      // single sentences first, into host paragraphs only
      const hostParagraphs = [...paragraphs];
      for (const s of cursor.sentences(k - asParagraphs)) {
        const p = hostParagraphs[Math.floor(random.next() * hostParagraphs.length)];
        p.splice(Math.floor(random.next() * (p.length + 1)), 0, { text: s, label: o.label });
      }
      for (let left = asParagraphs; left > 0;) {
        const n = Math.min(left, 2 + Math.floor(random.next() * 4));
        paragraphs.splice(Math.floor(random.next() * (paragraphs.length + 1)), 0, cursor.sentences(n).map((s) => ({ text: s, label: o.label })));
        left -= n;
      }
      yield finish(paragraphs, host.domain, rate);
    }
  }
}
