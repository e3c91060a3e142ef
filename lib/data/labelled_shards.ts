/**
 * Documents with character spans (the default corpus, the spliced benchmark set) → token
 * shards plus a labels side file per shard, the gold token labels a classifier is scored on.
 * @module
 */
import { ShardWriter } from './shard_writer.js';
import { SideFileKind } from './side_file.js';
import { spanLabelsToTokenLabels, type CharSpan, type OverlapRule } from './span_labels.js';
import type { TokenizerContract } from './tokenizer_contract.js';
import { CodedTypeError } from '../errors.js';

/** A tokenizer that reports character offsets (a `Tokenizer` satisfies this). */
export interface OffsetTokenizer extends TokenizerContract {
  encodeWithOffsets(text: string): { ids: Uint32Array; offsets: Uint32Array };
}

/** A document with gold spans. */
export interface SpannedDocument {
  text: string;
  spans: readonly CharSpan[];
}

/** Options of {@link writeLabelledShards}. */
export interface LabelledShardOptions {
  tokenizer: OffsetTokenizer;
  /** Output folder. */
  dir: string;
  /** The span label that becomes token label 1 (e.g. 'medical'). */
  label: string | number;
  /** Overlap rule (default 'majority'); see {@link spanLabelsToTokenLabels}. */
  rule?: OverlapRule;
  /** Shard name prefix (default 'shard'). */
  prefix?: string;
  /** Tokens per shard (default 100,000,000). */
  shardTokens?: number;
}

/** What {@link writeLabelledShards} wrote. */
export interface LabelledShardSummary {
  paths: string[];
  documents: number;
  /** Tokens written, separators included. */
  tokens: number;
  /** Tokens labelled 1. */
  positiveTokens: number;
}

/**
 * Tokenizes each document, labels its tokens from its spans, and writes shards with a
 * `x.labels.side` file next to each (separators labelled 0).
 * @throws as {@link ShardWriter} and {@link spanLabelsToTokenLabels}; nothing partial is left
 *   for the shard in progress when it throws.
 */
export async function writeLabelledShards(
  documents: Iterable<SpannedDocument> | AsyncIterable<SpannedDocument>,
  options: LabelledShardOptions,
): Promise<LabelledShardSummary> {
  const { tokenizer, dir, label, rule, prefix, shardTokens } = options;
  if (typeof tokenizer?.encodeWithOffsets !== 'function') throw new CodedTypeError('tokenizer must have encodeWithOffsets');
  const writer = new ShardWriter({ dir, prefix, shardTokens, tokenizer, sideKind: SideFileKind.Labels });
  let positiveTokens = 0;
  try {
    for await (const doc of documents) {
      if (typeof doc?.text !== 'string' || !Array.isArray(doc.spans))
        throw new CodedTypeError(`document ${writer.documents} must have a string text and a spans array`);
      const { ids, offsets } = tokenizer.encodeWithOffsets(doc.text);
      const labels = spanLabelsToTokenLabels(offsets, doc.spans, { label, rule });
      for (let i = 0; i < labels.length; i++) positiveTokens += labels[i];
      await writer.writeDocument(ids, labels);
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const paths = await writer.close();
  return { paths, documents: writer.documents, tokens: writer.tokens, positiveTokens };
}
