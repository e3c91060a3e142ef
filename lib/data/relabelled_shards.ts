/**
 * Token labels or scores made under another tokenizer (a big model's, in PyTorch) → our token
 * shards with a labels or scores side file, through {@link transferLabels}. Each record carries
 * its text, the other tokenizer's offsets and one label or score per token of that tokenizer:
 *
 *   {"text": "...", "offsets": [[0, 4], [4, 9], ...], "labels": [0, 1, ...]}
 *   {"text": "...", "offsets": [0, 4, 4, 9, ...],     "scores": [0.02, 0.97, ...]}
 *
 * The shards hold exactly the tokens `tokenfilter tokenize` writes for the same texts with the
 * same tokenizer, prefix and shard size, so the side files pair with either.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import type { OffsetTokenizer } from './labelled_shards.js';
import { ShardWriter } from './shard_writer.js';
import { SideFileKind, quantizeScores } from './side_file.js';
import { transferLabels, type OffsetUnit, type TransferRule } from './transfer_labels.js';

/** One record of the other tokenizer's output. */
export interface ForeignLabelledDocument {
  id?: string;
  text: string;
  /** [start, end) per token, flat or as pairs, in `sourceUnit`. */
  offsets: readonly number[] | readonly (readonly [number, number])[];
  /** 0/1 per token (exactly one of labels and scores). */
  labels?: readonly number[];
  /** A probability in [0, 1] per token. */
  scores?: readonly number[];
}

/** Options of {@link writeRelabelledShards}. */
export interface RelabelledShardOptions {
  /** Our tokenizer: the shards' tokens. */
  tokenizer: OffsetTokenizer;
  /** Output folder. */
  dir: string;
  /** Unit of the records' offsets (default 'codepoint': Python string indices). */
  sourceUnit?: OffsetUnit;
  /** Default 'any'; see {@link TransferRule}. */
  rule?: TransferRule;
  /** Shard name prefix (default 'shard'). */
  prefix?: string;
  /** Tokens per shard (default 100,000,000). */
  shardTokens?: number;
}

/** What {@link writeRelabelledShards} wrote. */
export interface RelabelledShardSummary {
  paths: string[];
  /** 'labels' (a `.labels.side` per shard) or 'scores' (a `.scores8.side` per shard). */
  kind: 'labels' | 'scores';
  documents: number;
  /** Tokens written, separators included. */
  tokens: number;
  /** Our tokens flagged (labels) or the sum of their scores (scores). */
  flagged: number;
  /** Tokens of the other tokenizer read. */
  sourceTokens: number;
}

function recordError(index: number, id: string | undefined, message: string): TokenfilterError {
  return new TokenfilterError('E_FILE_FORMAT', `record ${index}${id ? ` (id ${id})` : ''}: ${message}`);
}

/** The record's offsets flattened, its values and their kind; checks what can be checked here. */
function parseRecord(doc: ForeignLabelledDocument, index: number): { offsets: number[]; values: Uint8Array | Float32Array; kind: 'labels' | 'scores' } {
  if (doc === null || typeof doc !== 'object' || typeof doc.text !== 'string') throw recordError(index, undefined, 'needs a string "text"');
  if (!Array.isArray(doc.offsets)) throw recordError(index, doc.id, 'needs an "offsets" array');
  const offsets = (doc.offsets as unknown[]).flat() as number[];
  const hasLabels = doc.labels !== undefined;
  if (hasLabels === (doc.scores !== undefined)) throw recordError(index, doc.id, 'needs exactly one of "labels" and "scores"');
  const raw = (hasLabels ? doc.labels : doc.scores) as unknown;
  if (!Array.isArray(raw)) throw recordError(index, doc.id, `"${hasLabels ? 'labels' : 'scores'}" must be an array`);
  if (hasLabels) {
    if (!raw.every((v) => v === 0 || v === 1 || v === true || v === false)) throw recordError(index, doc.id, 'labels must be 0 or 1');
    return { offsets, values: Uint8Array.from(raw, (v) => Number(v)), kind: 'labels' };
  }
  if (!raw.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) throw recordError(index, doc.id, 'scores must be numbers in [0, 1]');
  return { offsets, values: Float32Array.from(raw as number[]), kind: 'scores' };
}

/**
 * Tokenizes each record's text with `tokenizer`, moves its labels or scores onto those tokens
 * and writes shards with a side file beside each (separators 0). Every record must carry the
 * same kind (labels or scores) as the first.
 * @throws TokenfilterError E_FILE_FORMAT for a malformed record (named by index and id),
 *   E_OPTION for offsets outside the text; nothing partial is left for the shard in progress.
 */
export async function writeRelabelledShards(
  documents: Iterable<ForeignLabelledDocument> | AsyncIterable<ForeignLabelledDocument>,
  options: RelabelledShardOptions,
): Promise<RelabelledShardSummary> {
  const { tokenizer, dir, sourceUnit = 'codepoint', rule = 'any', prefix, shardTokens } = options;
  let writer: ShardWriter | null = null;
  let kind: 'labels' | 'scores' | null = null;
  let flagged = 0;
  let sourceTokens = 0;
  let index = 0;
  try {
    for await (const doc of documents) {
      const record = parseRecord(doc, index);
      if (kind !== null && record.kind !== kind) throw recordError(index, doc.id, `has ${record.kind}, but the first record had ${kind}`);
      kind = record.kind;
      writer ??= new ShardWriter({ dir, prefix, shardTokens, tokenizer, sideKind: kind === 'labels' ? SideFileKind.Labels : SideFileKind.ScoresUint8 });
      const { ids, offsets } = tokenizer.encodeWithOffsets(doc.text);
      let moved: Uint8Array | Float32Array;
      try {
        moved = transferLabels(doc.text, record.offsets, record.values, offsets, { sourceUnit, rule });
      } catch (error) {
        throw recordError(index, doc.id, (error as Error).message);
      }
      for (let i = 0; i < moved.length; i++) flagged += moved[i];
      sourceTokens += record.values.length;
      await writer.writeDocument(ids, moved instanceof Uint8Array ? moved : quantizeScores(moved));
      index++;
    }
  } catch (error) {
    await writer?.abort();
    throw error;
  }
  if (writer === null) throw new TokenfilterError('E_OPTION', 'no records to relabel');
  const paths = await writer.close();
  return { paths, kind: kind!, documents: writer.documents, tokens: writer.tokens, flagged, sourceTokens };
}
