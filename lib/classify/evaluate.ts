/**
 * Evaluating classifiers against gold labels: a token classifier against character spans
 * (e.g. the spliced set's paragraphs), a document classifier against document domains.
 * @module
 */
import { readDocuments } from '../data/read_documents.js';
import type { CharSpan } from '../data/span_labels.js';
import type { DocumentClassifier } from './document_classifier.js';
import { labelsFromSpans } from './labels.js';
import { binaryMetrics, precisionRecallCurve, thinCurve, type BinaryMetrics, type PrPoint } from './metrics.js';
import type { TokenClassifier } from './token_classifier.js';
import { CodedTypeError } from '../errors.js';

/** Metrics of an evaluation. */
export interface Evaluation {
  /** Documents and labelled items (tokens or documents) scored. */
  documents: number;
  items: number;
  positives: number;
  /** At the given threshold (default: the classifier's own). */
  atThreshold: BinaryMetrics;
  /** At the threshold of maximum F1 on this data (an optimistic figure). */
  maxF1: BinaryMetrics;
  /** The precision-recall curve, thinned to about 50 points. */
  curve: PrPoint[];
}

function summarise(documents: number, scores: Float32Array, labels: Uint8Array, threshold: number): Evaluation {
  const { points, maxF1 } = precisionRecallCurve(scores, labels);
  let positives = 0;
  for (const l of labels) positives += l === 1 ? 1 : 0;
  return { documents, items: labels.length, positives, atThreshold: binaryMetrics(scores, labels, threshold), maxF1, curve: thinCurve(points) };
}

/** A text with character spans `[start, end, label]`. */
export interface SpannedText {
  text: string;
  spans: readonly CharSpan[];
}

/** Options shared by the evaluations. */
export interface EvaluateOptions {
  /** Decision threshold (default: the classifier's). */
  threshold?: number;
  /** Read at most this many documents (default all). */
  limit?: number;
  /** Called after each chunk of documents. */
  onProgress?: (documents: number) => void;
  signal?: AbortSignal;
}

/**
 * Token-level metrics of `classifier` on JSON Lines records `{text, spans: [[start, end, label], …]}`:
 * a token is positive when the majority of it lies in a span of `label`.
 */
export async function evaluateTokenClassifier(
  classifier: TokenClassifier, spansFile: string, label: string, options: EvaluateOptions = {},
): Promise<Evaluation> {
  async function* records() {
    for await (const doc of readDocuments(spansFile, { signal: options.signal })) {
      if (!Array.isArray(doc.spans)) throw new CodedTypeError(`${spansFile}: record ${doc.id} has no spans array`);
      yield { text: doc.text, spans: doc.spans as CharSpan[] };
    }
  }
  return evaluateTokenClassifierOn(classifier, records(), label, options);
}

/** {@link evaluateTokenClassifier} on documents in memory or from any (async) iterable, e.g. sentence_mixes.ts's. */
export async function evaluateTokenClassifierOn(
  classifier: TokenClassifier, documentsIn: Iterable<SpannedText> | AsyncIterable<SpannedText>, label: string, options: EvaluateOptions = {},
): Promise<Evaluation> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const tokenizer = classifier.bilm.tokenizer;
  const scores: Float32Array[] = [];
  const labels: Uint8Array[] = [];
  let pending: { tokens: Uint32Array; labels: Uint8Array }[] = [];
  let documents = 0;
  const flush = async () => {
    const s = await classifier.scoreDocuments(pending.map((p) => p.tokens), { signal: options.signal });
    scores.push(...s);
    labels.push(...pending.map((p) => p.labels));
    pending = [];
    options.onProgress?.(documents);
  };
  for await (const doc of documentsIn) {
    if (documents >= limit) break;
    pending.push(labelsFromSpans(tokenizer, doc.text, doc.spans, label));
    documents++;
    if (pending.length === 32) await flush();
  }
  if (pending.length > 0) await flush();
  return summarise(documents, concat(scores, Float32Array), concat(labels, Uint8Array), options.threshold ?? classifier.threshold);
}

/** Document-level metrics of `classifier` on JSON Lines records `{text, domain}` (positive: domain = `label`). */
export async function evaluateDocumentClassifier(
  classifier: DocumentClassifier, files: readonly string[], label: string, options: EvaluateOptions & { maxTokens?: number } = {},
): Promise<Evaluation> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const tokens: Uint32Array[] = [];
  const labels: number[] = [];
  for (const file of files) {
    let read = 0;
    for await (const doc of readDocuments(file, { signal: options.signal })) {
      if (read++ >= limit) break;
      const ids = classifier.bilm.tokenizer.encode(doc.text);
      tokens.push(options.maxTokens !== undefined ? ids.subarray(0, options.maxTokens) : ids);
      labels.push(doc.domain === label ? 1 : 0);
    }
  }
  const scores = new Float32Array(tokens.length);
  for (let first = 0; first < tokens.length; first += 32) {
    scores.set(await classifier.scoreDocuments(tokens.slice(first, first + 32), { signal: options.signal }), first);
    options.onProgress?.(Math.min(tokens.length, first + 32));
  }
  return summarise(tokens.length, scores, Uint8Array.from(labels), options.threshold ?? classifier.threshold);
}

function concat<A extends Float32Array | Uint8Array>(parts: A[], Ctor: { new (n: number): A }): A {
  const out = new Ctor(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}
