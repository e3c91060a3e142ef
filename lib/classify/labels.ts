/**
 * Token labels for training probes, from any source: token-label side files, character spans
 * (gold paragraphs or sentences), document-level labels broadcast to every token, or another
 * classifier's thresholded scores (weak-to-strong). Every source yields the same shape: token
 * sequences (one per document) with a 0/1 label per token, or {@link UNLABELLED} where a token
 * carries no label and must not be trained or scored on.
 * @module
 */
import { readShard } from '../data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../data/side_file.js';
import { spanLabelsToTokenLabels, type CharSpan, type OverlapRule } from '../data/span_labels.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { TokenfilterError, CodedRangeError } from '../errors.js';
import { UNLABELLED } from '../data/domains.js';

/** Label value of a token that takes part in neither training nor metrics. */
export { UNLABELLED };

/** One document's tokens with a label per token (0, 1 or {@link UNLABELLED}). */
export interface LabelledSequence {
  tokens: Uint32Array;
  labels: Uint8Array;
  /** Optional document id for reports. */
  id?: string;
}

/** Every token of `tokens` labelled `label` (0 or 1): a document-level label broadcast. */
export function broadcastLabel(tokens: Uint32Array, label: 0 | 1, id?: string): LabelledSequence {
  if (label !== 0 && label !== 1) throw new CodedRangeError(`label must be 0 or 1, got ${String(label)}`);
  return { tokens, labels: new Uint8Array(tokens.length).fill(label), id };
}

/**
 * Encodes `text` and labels its tokens from character spans `[start, end, label]` (e.g. the
 * spliced set's paragraphs or sentence spans): 1 where the token lies in a span of `positive`
 * (by `rule`, default majority), else 0.
 */
export function labelsFromSpans(
  tokenizer: Tokenizer,
  text: string,
  spans: readonly CharSpan[],
  positive: string | number,
  options: { rule?: OverlapRule; id?: string } = {},
): LabelledSequence {
  const { ids, offsets } = tokenizer.encodeWithOffsets(text);
  return { tokens: ids, labels: spanLabelsToTokenLabels(offsets, spans, { label: positive, rule: options.rule }), id: options.id };
}

/**
 * Reads a token shard and its label side file (`x.labels.side`, or `labelsPath`) and splits it
 * into documents at the end-of-text token (which is dropped). A token is 1 when its label is in
 * `positive` (default [1]), {@link UNLABELLED} when its label is 255, else 0.
 * @throws TokenfilterError naming the file for a missing or mismatched side file (E_TOKENIZER_MISMATCH when
 *   written with another tokenizer) or a shard without a tokenizer contract.
 */
export function labelsFromSideFile(shardPath: string, options: { positive?: readonly number[]; labelsPath?: string } = {}): LabelledSequence[] {
  const shard = readShard(shardPath);
  const eot = shard.header.tokenizer.eotId;
  if (shard.header.tokenizer.vocabSize === 0) throw new TokenfilterError('E_FILE_FORMAT', `${shardPath}: the shard records no tokenizer, so documents cannot be found`, { path: shardPath });
  const side = readSideFile(options.labelsPath ?? sideFilePathFor(shardPath, SideFileKind.Labels), {
    expectKind: SideFileKind.Labels,
    expectTokens: shard.tokens.length,
    shard: { path: shardPath, tokenizer: shard.header.tokenizer },
  });
  const positive = new Set(options.positive ?? [1]);
  return shardDocuments(Uint32Array.from(shard.tokens), eot).map((doc, k) => {
    const labels = new Uint8Array(doc.tokens.length);
    for (let t = 0; t < labels.length; t++) {
      const v = side.values[doc.start + t];
      labels[t] = v === UNLABELLED ? UNLABELLED : positive.has(v) ? 1 : 0;
    }
    return { tokens: doc.tokens, labels, id: `${shardPath}#${k}` };
  });
}

/** Documents of a shard (split at end-of-text, which is dropped) with their token offsets. */
export function shardDocuments(tokens: Uint32Array, eotId: number): { start: number; tokens: Uint32Array }[] {
  const out: { start: number; tokens: Uint32Array }[] = [];
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i < tokens.length && tokens[i] !== eotId) continue;
    if (i > start) out.push({ start, tokens: tokens.subarray(start, i) });
    start = i + 1;
  }
  return out;
}

/**
 * Weak-to-strong labels: each sequence relabelled 1 where `scores` (one Float32Array per
 * sequence, e.g. a smaller classifier's) is ≥ `threshold`, else 0; unlabelled tokens stay so.
 */
export function labelsFromScores(sequences: readonly LabelledSequence[], scores: readonly Float32Array[], threshold: number): LabelledSequence[] {
  if (scores.length !== sequences.length) throw new CodedRangeError(`got ${scores.length} score arrays for ${sequences.length} sequences`);
  return sequences.map((s, k) => {
    if (scores[k].length !== s.tokens.length) throw new CodedRangeError(`scores[${k}] has length ${scores[k].length}, its sequence ${s.tokens.length}`);
    const labels = new Uint8Array(s.tokens.length);
    for (let t = 0; t < labels.length; t++) labels[t] = s.labels[t] === UNLABELLED ? UNLABELLED : scores[k][t] >= threshold ? 1 : 0;
    return { tokens: s.tokens, labels, id: s.id };
  });
}
