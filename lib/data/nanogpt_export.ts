/**
 * Token shards → the files karpathy/nanoGPT trains from: `train.bin` (and `val.bin`), no header,
 * every token a little-endian uint16 (what `np.memmap(path, dtype=np.uint16, mode='r')` reads),
 * the shards' tokens concatenated in the order given. Beside each, a loss mask with one uint8 per
 * token (`train.mask.bin`: 1 = learn to predict this token as a target, 0 = do not; from the
 * shard's `x.mask.side` when it has one, else 1) and `meta.json` (vocabulary size, token counts,
 * the tokenizer contract, the mask convention). Every file is written to a temporary file and
 * renamed into place only once all of them are complete, `meta.json` last; never over an input.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AtomicFile, writeFileAtomic } from './atomic_file.js';
import { HEADER_BYTES, fileFormatError, namingFile, readExactly } from './binary_header.js';
import { checkOutputPaths, makeFolder, type RolePath } from './output_path.js';
import { ShardFile, readShardHeader, type ShardHeader } from './shard.js';
import { SideFileKind, findSideFile, firstAbove, readSideFileHeader } from './side_file.js';
import { checkSameContract, type RecordedContract } from './tokenizer_contract.js';
import { TokenfilterError } from '../errors.js';

/** Largest vocabulary whose ids fit uint16 (ids 0 … 65,535). */
export const NANOGPT_MAX_VOCAB = 65536;

/** Options of {@link exportNanoGpt}. */
export interface NanoGptExportOptions {
  /** Shards for `train.bin`, concatenated in this order. */
  train: readonly string[];
  /** Shards for `val.bin` (none: no `val.bin`). */
  val?: readonly string[];
  /** Output folder (created when missing). */
  out: string;
}

/** What one split (`train` or `val`) holds. */
export interface NanoGptSplit {
  /** Path of the token file (`DIR/train.bin`). */
  file: string;
  /** Path of the loss mask (`DIR/train.mask.bin`). */
  mask: string;
  /** Tokens (= bytes of the mask, = half the bytes of the token file). */
  tokens: number;
  /** Mask values equal to 1. */
  learnedTargets: number;
  /** The shards read, in order. */
  shards: string[];
  /** How many of them had a loss-mask side file (the others count as all 1). */
  shardsWithMask: number;
}

/** What {@link exportNanoGpt} wrote. */
export interface NanoGptExport {
  train: NanoGptSplit;
  val: NanoGptSplit | null;
  /** Path of `meta.json`. */
  meta: string;
  /** The shards' recorded vocabulary size, or null when they record no tokenizer (plain llm.c files). */
  vocabSize: number | null;
  /** The shards' recorded tokenizer (vocabSize 0 when none is recorded). */
  tokenizer: RecordedContract;
}

/** The mask convention, as `meta.json` states it. */
export const NANOGPT_MASK_CONVENTION =
  'mask[t] applies to target t: 1 = learn to predict token t (from the tokens before it), 0 = no loss there; ' +
  "with nanoGPT's x = data[i:i+T], y = data[i+1:i+1+T], the mask of y is mask[i+1:i+1+T]";

const CHUNK = 1 << 20;
const SPLIT_NAMES = ['train', 'val'] as const;

interface CheckedShard {
  path: string;
  header: ShardHeader;
  mask: string | null;
}

function optionError(message: string): TokenfilterError {
  return new TokenfilterError('E_OPTION', message);
}

/** Reads and cross-checks every shard header and mask header; returns them with the shared contract. */
function checkShards(splits: (readonly string[])[]): { checked: CheckedShard[][]; tokenizer: RecordedContract; first: string } {
  let first: { path: string; tokenizer: RecordedContract } | null = null;
  const checked = splits.map((paths) =>
    paths.map((path) => {
      const header = readShardHeader(path);
      if (first) checkSameContract(first.tokenizer, first.path, header.tokenizer, path);
      else first = { path, tokenizer: header.tokenizer };
      const vocab = header.tokenizer.vocabSize;
      if (vocab > NANOGPT_MAX_VOCAB)
        throw optionError(
          `${path}: vocabulary of ${vocab} ids does not fit nanoGPT's uint16 tokens (at most ${NANOGPT_MAX_VOCAB} ids, 0 … 65,535)`,
        );
      const mask = findSideFile(path, SideFileKind.LossMask);
      if (mask) readSideFileHeader(mask, { expectKind: SideFileKind.LossMask, expectTokens: header.tokenCount, shard: { path, tokenizer: header.tokenizer } });
      return { path, header, mask };
    }),
  );
  const head = first as { path: string; tokenizer: RecordedContract } | null;
  if (!head) throw optionError('export needs at least one train shard');
  return { checked, tokenizer: head.tokenizer, first: head.path };
}

/** Appends one shard's tokens (as uint16) and mask values to the split's files; returns the 1s counted. */
async function copyShard(shard: CheckedShard, tokensOut: AtomicFile, maskOut: AtomicFile): Promise<number> {
  const file = new ShardFile(shard.path);
  let maskFd = -1;
  try {
    if (shard.mask) {
      try {
        maskFd = openSync(shard.mask, 'r');
      } catch (error) {
        throw namingFile(error, shard.mask);
      }
    }
    const ids = new Uint32Array(Math.min(CHUNK, file.length));
    const narrow = new Uint16Array(ids.length);
    const mask = new Uint8Array(ids.length);
    let learned = 0;
    for (let start = 0; start < file.length; start += CHUNK) {
      const n = Math.min(CHUNK, file.length - start);
      const chunk = file.read(start, ids.subarray(0, n));
      for (let i = 0; i < n; i++) {
        if (chunk[i] > 0xffff)
          throw optionError(`${shard.path}: token ${start + i} has id ${chunk[i]}, which does not fit nanoGPT's uint16 tokens (ids 0 … 65,535)`);
        narrow[i] = chunk[i];
      }
      const values = mask.subarray(0, n);
      if (maskFd >= 0) {
        readExactly(maskFd, values, HEADER_BYTES + start, shard.mask as string);
        const bad = firstAbove(values, 1);
        if (bad >= 0) throw fileFormatError(shard.mask as string, `loss mask value ${values[bad]} at token ${start + bad} (expected 0 or 1)`);
      } else values.fill(1);
      for (let i = 0; i < n; i++) learned += values[i];
      await tokensOut.write(new Uint8Array(narrow.buffer, 0, 2 * n));
      await maskOut.write(values);
    }
    return learned;
  } finally {
    file.close();
    if (maskFd >= 0) closeSync(maskFd);
  }
}

/**
 * Writes one split's token file and mask into temporary files, pushed onto `pending` (the caller
 * commits or discards them).
 */
async function writeSplit(name: string, shards: CheckedShard[], out: string, pending: AtomicFile[]): Promise<NanoGptSplit> {
  const split: NanoGptSplit = {
    file: join(out, `${name}.bin`),
    mask: join(out, `${name}.mask.bin`),
    tokens: 0,
    learnedTargets: 0,
    shards: shards.map((s) => s.path),
    shardsWithMask: shards.filter((s) => s.mask).length,
  };
  const tokensOut = await AtomicFile.create(split.file);
  pending.push(tokensOut);
  const maskOut = await AtomicFile.create(split.mask);
  pending.push(maskOut);
  for (const shard of shards) {
    split.learnedTargets += await copyShard(shard, tokensOut, maskOut);
    split.tokens += shard.header.tokenCount;
  }
  return split;
}

/** The `meta.json` object (snake_case keys, as nanoGPT's own `meta.pkl` uses `vocab_size`). */
function metaOf(result: Omit<NanoGptExport, 'meta'>): Record<string, unknown> {
  const splitMeta = (s: NanoGptSplit) => ({
    file: basename(s.file),
    mask: basename(s.mask),
    tokens: s.tokens,
    learned_targets: s.learnedTargets,
    shards: s.shards,
    shards_with_mask: s.shardsWithMask,
  });
  const t = result.tokenizer;
  return {
    format: 'nanogpt',
    dtype: 'uint16',
    byte_order: 'little',
    header_bytes: 0,
    vocab_size: result.vocabSize,
    tokenizer: t.vocabSize === 0 ? null : { vocab_size: t.vocabSize, eot_id: t.eotId, hidden_id: t.hiddenId, hash_prefix: t.hashPrefix },
    mask: { dtype: 'uint8', values: '1 = learn, 0 = ignore', convention: NANOGPT_MASK_CONVENTION },
    train: splitMeta(result.train),
    val: result.val ? splitMeta(result.val) : null,
  };
}

/**
 * Writes `train.bin`, `train.mask.bin` (and `val.bin`, `val.mask.bin` when `val` is given) and
 * `meta.json` into `out`; see the module comment for the layout.
 * @throws TokenfilterError E_OPTION for no train shard, a recorded vocabulary over 65,536 ids
 *   (naming it) or, in a shard that records no tokenizer, an id over 65,535; E_OUTPUT_PATH when
 *   an output would replace an input; E_FILE_FORMAT / E_MISMATCH / E_TOKENIZER_MISMATCH for bad
 *   shards or masks, or shards written with different tokenizers. Nothing is left half written.
 */
export async function exportNanoGpt(options: NanoGptExportOptions): Promise<NanoGptExport> {
  const { train, val = [], out } = options;
  if (!Array.isArray(train) || !Array.isArray(val)) throw optionError('train and val must be arrays of shard paths');
  if (typeof out !== 'string' || out === '') throw optionError('out must be a non-empty folder path');
  if (train.length === 0) throw optionError('export needs at least one train shard');
  const { checked, tokenizer } = checkShards([train, val]);
  const names = new Set(['meta.json', ...SPLIT_NAMES.flatMap((s) => [`${s}.bin`, `${s}.mask.bin`])]);
  const inputs: RolePath[] = checked.flat().flatMap((s) => [
    { path: s.path, role: 'input shard' },
    ...(s.mask ? [{ path: s.mask, role: 'input loss mask' }] : []),
  ]);
  await checkOutputPaths([{ folder: out, role: '--out', writes: (name) => names.has(name) }], inputs);
  await makeFolder(out, '--out');
  const pending: AtomicFile[] = [];
  try {
    const trainSplit = await writeSplit('train', checked[0], out, pending);
    const valSplit = val.length > 0 ? await writeSplit('val', checked[1], out, pending) : null;
    const result = { train: trainSplit, val: valSplit, vocabSize: tokenizer.vocabSize || null, tokenizer };
    for (const file of pending) await file.commit(); // only once every file is complete
    const meta = join(out, 'meta.json');
    await writeFileAtomic(meta, `${JSON.stringify(metaOf(result), null, 2)}\n`);
    return { ...result, meta };
  } catch (error) {
    for (const file of pending) await file.discard();
    throw error;
  }
}
