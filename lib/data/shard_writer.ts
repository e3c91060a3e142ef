/**
 * Streams documents into a series of token shards (`prefix_000000.bin`, …), optionally with a
 * uint8 side file per shard (loss mask, labels or uint8 scores) kept in step token for token.
 * @module
 */
import { makeFolder } from './output_path.js';
import { join } from 'node:path';
import { AtomicFile } from './atomic_file.js';
import { assertLittleEndianHost, HEADER_BYTES } from './binary_header.js';
import { checkIdsBelow, MAX_SHARD_TOKENS, shardHeaderBytes, writableShardVersion, type WritableShardVersion } from './shard.js';
import { SideFileKind, firstAbove, sideFileHeaderBytes, sideFilePathFor } from './side_file.js';
import { validateContract, type TokenizerContract } from './tokenizer_contract.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';

/** Defaults of {@link ShardWriterOptions}: shard file prefix and tokens per shard (the tokenize stage and CLI read them here). */
export const SHARD_WRITER_DEFAULTS = Object.freeze({ prefix: 'shard', shardTokens: 100_000_000 });

/** Options of a {@link ShardWriter}. */
export interface ShardWriterOptions {
  /** Folder for the shards (created if missing). */
  dir: string;
  /** Shard names are `${prefix}_000000.bin`, `${prefix}_000001.bin`, ... (default 'shard'). */
  prefix?: string;
  /** Tokens per shard before rolling over, in [1, 2^31 − 1] (default 100,000,000). */
  shardTokens?: number;
  /** The tokenizer the ids come from; recorded in every header and used to check ids. */
  tokenizer: TokenizerContract;
  /** Force a layout: 1 = uint16, 7 = uint32 in llm.c's layout (default: 1 when vocabSize ≤ 65,536, else 7). */
  version?: WritableShardVersion;
  /**
   * Also write a side file of this kind next to every shard (`x.mask.side`, `x.labels.side` or
   * `x.scores8.side`); `writeDocument` then takes one value per id. Only the uint8 kinds.
   */
  sideKind?: SideFileKind.LossMask | SideFileKind.Labels | SideFileKind.ScoresUint8;
  /** Side value at each `<|endoftext|>` separator (default 1 for a loss mask: the boundary is learned; else 0). */
  separatorValue?: number;
}

/** Tokens buffered before each write. */
const CHUNK_TOKENS = 1 << 20;

/** A shard or side file in progress: an {@link AtomicFile} opened on the first bytes, header space first. */
class PendingFile {
  private file: AtomicFile | null = null;

  /** Writes `bytes` after what was written so far, opening the file (header space first) when needed. */
  async append(finalPath: string, bytes: Uint8Array): Promise<void> {
    if (!this.file) {
      this.file = await AtomicFile.create(finalPath);
      await this.file.write(new Uint8Array(HEADER_BYTES));
    }
    await this.file.write(bytes);
  }

  get open(): boolean {
    return this.file !== null;
  }

  /** Writes the header at offset 0 and commits the file to its final path. */
  async finish(header: Uint8Array): Promise<void> {
    if (!this.file) return;
    const file = this.file;
    this.file = null;
    await file.write(header, 0);
    await file.commit();
  }

  /** Deletes the temporary file. */
  async discard(): Promise<void> {
    const file = this.file;
    this.file = null;
    await file?.discard();
  }
}

/**
 * Streams documents into shards of at most `shardTokens` tokens, each document preceded by
 * `<|endoftext|>` and continued in the next shard when one fills up. Each shard (and its side
 * file) is written to a temporary file and renamed into place when full or at
 * {@link ShardWriter.close}, the side file first, so a reader never sees a partial shard or a
 * shard without its side file. Not safe for concurrent `writeDocument` calls: await each.
 */
export class ShardWriter {
  /** Paths of the shards completed so far. */
  readonly paths: string[] = [];
  /** Documents written. */
  documents = 0;
  /** Tokens written, separators included. */
  tokens = 0;
  private readonly dir: string;
  private readonly prefix: string;
  private readonly shardTokens: number;
  private readonly tokenizer: TokenizerContract;
  private readonly version: WritableShardVersion;
  private readonly sideKind: SideFileKind | null;
  private readonly separatorValue: number;
  private readonly chunk: Uint16Array | Uint32Array;
  private readonly sideChunk: Uint8Array | null;
  private chunkFill = 0;
  private shardFill = 0;
  private readonly shardFile = new PendingFile();
  private readonly sideFile = new PendingFile();
  private closed = false;

  /** @throws TypeError / RangeError for bad options. */
  constructor(options: ShardWriterOptions) {
    const { dir, prefix = SHARD_WRITER_DEFAULTS.prefix, shardTokens = SHARD_WRITER_DEFAULTS.shardTokens, tokenizer, sideKind } = options;
    if (typeof dir !== 'string' || dir === '') throw new CodedTypeError('dir must be a non-empty string');
    if (!/^[\w.-]+$/.test(prefix)) throw new CodedTypeError(`prefix must be letters, digits, '_', '.' or '-', got '${prefix}'`);
    if (!Number.isInteger(shardTokens) || shardTokens < 1 || shardTokens > MAX_SHARD_TOKENS)
      throw new CodedRangeError(`shardTokens must be an integer in [1, ${MAX_SHARD_TOKENS}], got ${shardTokens}`);
    validateContract(tokenizer);
    assertLittleEndianHost();
    const version = writableShardVersion(tokenizer.vocabSize, options.version);
    if (sideKind !== undefined && ![SideFileKind.LossMask, SideFileKind.Labels, SideFileKind.ScoresUint8].includes(sideKind))
      throw new CodedRangeError(`sideKind must be a uint8 kind (1 loss mask, 2 labels, 3 uint8 scores), got ${sideKind}`);
    const separatorValue = options.separatorValue ?? (sideKind === SideFileKind.LossMask ? 1 : 0);
    const maxValue = sideKind === SideFileKind.LossMask ? 1 : 255;
    if (!Number.isInteger(separatorValue) || separatorValue < 0 || separatorValue > maxValue)
      throw new CodedRangeError(`separatorValue must be an integer in [0, ${maxValue}], got ${separatorValue}`);
    this.dir = dir;
    this.prefix = prefix;
    this.shardTokens = shardTokens;
    this.tokenizer = tokenizer;
    this.version = version;
    this.sideKind = sideKind ?? null;
    this.separatorValue = separatorValue;
    this.chunk = version === 1 ? new Uint16Array(CHUNK_TOKENS) : new Uint32Array(CHUNK_TOKENS);
    this.sideChunk = sideKind !== undefined ? new Uint8Array(CHUNK_TOKENS) : null;
  }

  /** Path of shard number `index`. */
  shardPath(index: number): string {
    return join(this.dir, `${this.prefix}_${String(index).padStart(6, '0')}.bin`);
  }

  /**
   * Appends `<|endoftext|>` then the document's ids (and, with `sideKind`, the separator value
   * then `values`, one per id).
   * @throws RangeError naming the position of an id outside the vocabulary, or for missing,
   *   mis-sized or out-of-range side values (nothing of the document is written then).
   */
  async writeDocument(ids: ArrayLike<number>, values?: Uint8Array): Promise<void> {
    if (this.closed) throw new TokenfilterError('E_STATE', 'ShardWriter is closed');
    checkIdsBelow(ids, this.tokenizer.vocabSize, `document ${this.documents}`);
    if (this.sideChunk) {
      if (!(values instanceof Uint8Array) || values.length !== ids.length)
        throw new CodedRangeError(`document ${this.documents}: side values must be a Uint8Array of ${ids.length} values (one per id)`);
      if (this.sideKind === SideFileKind.LossMask) {
        const bad = firstAbove(values, 1);
        if (bad >= 0) throw new CodedRangeError(`document ${this.documents}: loss mask value ${values[bad]} at ${bad} (expected 0 or 1)`);
      }
    } else if (values !== undefined) {
      throw new CodedTypeError('side values given, but the writer has no sideKind');
    }
    await this.append(Uint32Array.of(this.tokenizer.eotId), this.sideChunk ? Uint8Array.of(this.separatorValue) : null);
    await this.append(ids, values ?? null);
    this.documents++;
    this.tokens += ids.length + 1;
  }

  private async append(ids: ArrayLike<number>, values: Uint8Array | null): Promise<void> {
    const typed = ArrayBuffer.isView(ids) && !(ids instanceof DataView);
    let i = 0;
    while (i < ids.length) {
      const room = Math.min(this.chunk.length - this.chunkFill, this.shardTokens - this.shardFill);
      const take = Math.min(room, ids.length - i);
      if (typed) this.chunk.set((ids as unknown as Uint32Array).subarray(i, i + take), this.chunkFill);
      else for (let k = 0; k < take; k++) this.chunk[this.chunkFill + k] = ids[i + k];
      if (this.sideChunk && values) this.sideChunk.set(values.subarray(i, i + take), this.chunkFill);
      this.chunkFill += take;
      this.shardFill += take;
      i += take;
      if (this.chunkFill === this.chunk.length || this.shardFill === this.shardTokens) await this.flushChunk();
      if (this.shardFill === this.shardTokens) await this.finishShard();
    }
  }

  private async flushChunk(): Promise<void> {
    if (this.chunkFill === 0) return;
    if (!this.shardFile.open) await makeFolder(this.dir);
    const path = this.shardPath(this.paths.length);
    await this.shardFile.append(path, new Uint8Array(this.chunk.buffer, 0, this.chunkFill * this.chunk.BYTES_PER_ELEMENT));
    if (this.sideChunk && this.sideKind !== null)
      await this.sideFile.append(sideFilePathFor(path, this.sideKind), this.sideChunk.subarray(0, this.chunkFill));
    this.chunkFill = 0;
  }

  private async finishShard(): Promise<void> {
    if (!this.shardFile.open) return;
    const path = this.shardPath(this.paths.length);
    if (this.sideKind !== null)
      await this.sideFile.finish(sideFileHeaderBytes(this.sideKind, this.shardFill, this.tokenizer));
    await this.shardFile.finish(shardHeaderBytes(this.version, this.shardFill, this.tokenizer));
    this.paths.push(path);
    this.shardFill = 0;
  }

  /** Writes the last (partial) shard and returns all shard paths. Idempotent. */
  async close(): Promise<string[]> {
    if (this.closed) return this.paths;
    this.closed = true;
    await this.flushChunk();
    await this.finishShard();
    return this.paths;
  }

  /** Drops the shard in progress (its temporary files); completed shards stay. */
  async abort(): Promise<void> {
    this.closed = true;
    await this.shardFile.discard();
    await this.sideFile.discard();
  }
}
