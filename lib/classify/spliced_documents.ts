/**
 * Mixed-domain training documents with exact span labels, spliced from single-domain text.
 *
 * A probe trained on windows of single-domain documents never sees a topic change, yet the text
 * it must score (web pages, the `spliced` evaluation set) switches domain between paragraphs:
 * near a switch, the forward state still carries the previous paragraph and the backward state
 * the next one. Splicing paragraphs of different domains into one document, joined by a blank
 * line and labelled per paragraph, gives the probe those boundaries to learn from, with labels
 * as exact as the domains of the source documents.
 * @module
 */
import type { CharSpan } from '../data/span_labels.js';
import type { Random } from '../data/random.js';
import { CodedRangeError } from '../errors.js';
import { renderPieces, type TextPiece } from './mixed_text.js';

/** A document made of paragraphs of known domains: `spans` are `[start, end, domain]`, end exclusive. */
export interface SplicedDocument {
  text: string;
  spans: CharSpan[];
}

/** Options of {@link spliceDocuments}. */
export interface SpliceOptions {
  /** Documents to make. */
  count: number;
  /** Share of paragraphs drawn from each domain (need not sum to 1; normalised). */
  weights: Readonly<Record<string, number>>;
  /** Paragraphs per document, drawn uniformly in [min, max] (default 3 … 8). */
  minParagraphs?: number;
  maxParagraphs?: number;
  /** A longer paragraph is cut to a random piece of this many characters (default 1500). */
  maxParagraphChars?: number;
  random: Random;
}

/** The paragraphs of `text` (split at blank lines), trimmed, at least `minChars` long. */
export function paragraphsOf(text: string, minChars = 40): string[] {
  const out: string[] = [];
  for (const piece of text.split(/\n[ \t]*\n/)) {
    const p = piece.trim();
    if (p.length >= minChars) out.push(p);
  }
  return out;
}

/**
 * Splices documents from paragraphs grouped by domain. Each paragraph's domain is drawn by
 * `weights`; paragraphs of a domain are taken in order, cycling when exhausted (shuffle them
 * first for a random order).
 * @throws RangeError for bad counts or weights, or a weighted domain without paragraphs.
 */
export function spliceDocuments(paragraphs: Readonly<Record<string, readonly string[]>>, options: SpliceOptions): SplicedDocument[] {
  const { count, random } = options;
  const minParagraphs = options.minParagraphs ?? 3;
  const maxParagraphs = options.maxParagraphs ?? 8;
  const maxChars = options.maxParagraphChars ?? 1500;
  if (!Number.isInteger(count) || count < 0) throw new CodedRangeError(`count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(minParagraphs) || minParagraphs < 1 || !Number.isInteger(maxParagraphs) || maxParagraphs < minParagraphs)
    throw new CodedRangeError(`paragraphs per document must be integers with 1 ≤ min ≤ max, got ${minParagraphs} … ${maxParagraphs}`);
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new CodedRangeError(`maxParagraphChars must be a positive integer, got ${maxChars}`);
  const domains = Object.keys(options.weights).filter((d) => options.weights[d] > 0);
  for (const d of Object.keys(options.weights)) {
    const w = options.weights[d];
    if (!Number.isFinite(w) || w < 0) throw new CodedRangeError(`weight of ${d} must be a finite non-negative number, got ${w}`);
  }
  if (domains.length === 0) throw new CodedRangeError('at least one domain needs a positive weight');
  for (const d of domains) if (!paragraphs[d]?.length) throw new CodedRangeError(`no paragraphs for domain ${d}`);
  const total = domains.reduce((s, d) => s + options.weights[d], 0);
  const next = new Map(domains.map((d) => [d, 0]));

  const pickDomain = (): string => {
    let r = random.next() * total;
    for (const d of domains) {
      r -= options.weights[d];
      if (r < 0) return d;
    }
    return domains[domains.length - 1];
  };
  const documents: SplicedDocument[] = [];
  for (let i = 0; i < count; i++) {
    const n = minParagraphs + Math.floor(random.next() * (maxParagraphs - minParagraphs + 1));
    const paragraphsOut: TextPiece[][] = [];
    for (let j = 0; j < n; j++) {
      const domain = pickDomain();
      const pool = paragraphs[domain];
      const at = next.get(domain)!;
      next.set(domain, at + 1);
      let p = pool[at % pool.length];
      if (p.length > maxChars) {
        const start = Math.floor(random.next() * (p.length - maxChars + 1));
        p = p.slice(start, start + maxChars);
      }
      paragraphsOut.push([{ text: p, label: domain }]);
    }
    const { text, spans } = renderPieces(paragraphsOut);
    documents.push({ text, spans });
  }
  return documents;
}
