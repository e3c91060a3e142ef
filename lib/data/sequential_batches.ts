/**
 * Batches over shards in order, for evaluation: every target of every shard is scored exactly
 * once, nothing is cut silently.
 *
 * Per shard of n tokens (n − 1 targets): windows start at 0, T, 2T, … while a whole window of
 * T + 1 tokens fits; the remaining targets are covered by one last window ending at the shard's
 * end (it overlaps the previous one, and the targets already covered are masked out). A shard
 * with fewer than T + 1 tokens gives one window padded with the end-of-text id (or 0) whose
 * padding is masked. Windows never cross shards. The last batch may have fewer rows than B.
 * @module
 */
import type { Batch } from './batch.js';
import { ShardWindows, type LossMaskMode } from './shard_windows.js';
import type { TokenizerContract } from './tokenizer_contract.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** Options of {@link sequentialBatches}. */
export interface SequentialBatchOptions {
  /** Token shard paths, read in this order. */
  shards: readonly string[];
  /** B: rows per batch, integer ≥ 1. */
  batch: number;
  /** T: positions per row, integer ≥ 1. */
  context: number;
  /** Refuse shards written with another tokenizer. */
  expectTokenizer?: TokenizerContract;
  /** Loss masks from side files (default 'auto'); see {@link LossMaskMode}. */
  lossMask?: LossMaskMode;
}

/** A row's source: which shard, where the window starts, how many positions are real. */
export interface RowOrigin {
  shard: string;
  start: number;
  length: number;
}

/** A batch with where each row came from. */
export interface SequentialBatch extends Batch {
  rows: RowOrigin[];
}

/**
 * Yields batches covering every target of every shard once, in order.
 * @throws as `readShardHeader` and `readSideFileHeader` for a bad shard or mask file; RangeError for bad options.
 */
export function* sequentialBatches(options: SequentialBatchOptions): Generator<SequentialBatch> {
  const { shards, batch: B, context: T, expectTokenizer, lossMask = 'auto' } = options;
  if (!Number.isInteger(B) || B < 1) throw new CodedRangeError(`batch must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new CodedRangeError(`context must be a positive integer, got ${T}`);
  if (!Array.isArray(shards)) throw new CodedTypeError('shards must be an array of paths');
  let inputs = new Uint32Array(B * T);
  let targets = new Uint32Array(B * T);
  let mask = new Uint8Array(B * T);
  let rows: RowOrigin[] = [];
  const emit = (): SequentialBatch => {
    const n = rows.length;
    const out = { inputs: inputs.slice(0, n * T), targets: targets.slice(0, n * T), lossMask: mask.slice(0, n * T), batch: n, context: T, rows };
    inputs = new Uint32Array(B * T);
    targets = new Uint32Array(B * T);
    mask = new Uint8Array(B * T);
    rows = [];
    return out;
  };
  for (const path of shards) {
    const shard = new ShardWindows(path, { expectTokenizer, lossMask });
    try {
      const n = shard.length;
      const pad = shard.header.tokenizer.vocabSize > 0 ? shard.header.tokenizer.eotId : 0;
      if (n < 2) continue; // no target
      let covered = 0; // targets 1..covered are done
      while (covered < n - 1) {
        const row = rows.length * T;
        let start: number;
        let length: number;
        if (n >= T + 1) {
          start = Math.min(covered, n - 1 - T);
          length = T;
        } else {
          start = 0;
          length = n - 1;
          inputs.fill(pad, row, row + T);
          targets.fill(pad, row, row + T);
        }
        shard.fill(start, length, inputs, targets, mask, row);
        // position i predicts token start + 1 + i; mask the ones already covered
        const already = Math.max(0, covered - start);
        mask.fill(0, row, row + already);
        mask.fill(0, row + length, row + T);
        rows.push({ shard: path, start, length });
        covered = start + length;
        if (rows.length === B) yield emit();
      }
    } finally {
      shard.close();
    }
  }
  if (rows.length > 0) yield emit();
}
