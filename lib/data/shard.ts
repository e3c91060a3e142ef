/**
 * Token shards: the llm.c / nanoGPT `.bin` format with a tokenizer contract in unused header words.
 *
 * Layout (all little endian):
 * - header, 256 × int32:
 *   - `[0]` magic 20240520
 *   - `[1]` version: 1 = uint16 tokens, 2 = uint32 tokens (our extension, for vocabularies
 *     over 65,536 ids)
 *   - `[2]` token count (int32, so at most 2^31 − 1 tokens per shard)
 *   - `[3..7]` zero
 *   - `[8]` vocabulary size, `[9]` end-of-text id, `[10]` hidden id, `[11..14]` first 16 bytes of
 *     the tokenizer hash (see {@link TokenizerContract}); zero in files written by llm.c, whose
 *     readers ignore these words
 *   - `[15..255]` zero
 * - then `count` tokens of 2 (version 1) or 4 (version 2) bytes.
 *
 * Documents follow llm.c's convention: every document is preceded by `<|endoftext|>`, so a shard
 * starts with it and the token before each document is the separator. A {@link ShardWriter} fills
 * each shard to exactly `shardTokens` and continues the current document in the next shard.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { native } from '../native.js';
import {
  assertLittleEndianHost,
  HEADER_BYTES,
  HEADER_WORDS,
  headerBytes,
  readExactly,
  readRawHeader,
  temporaryPath,
  withFile,
  writeFileAtomic,
} from './binary_header.js';
import {
  checkContract,
  readContract,
  validateContract,
  writeContract,
  type RecordedContract,
  type TokenizerContract,
} from './tokenizer_contract.js';

/** Magic number of a token shard (word 0). */
export const SHARD_MAGIC = 20240520;
/** Most tokens one shard can hold (the count is an int32). */
export const MAX_SHARD_TOKENS = 0x7fffffff;

/** What a shard's header says. */
export interface ShardHeader {
  /** 1 = uint16 tokens, 2 = uint32 tokens. */
  version: 1 | 2;
  /** Tokens in the shard. */
  tokenCount: number;
  /** Bytes per token (2 or 4). */
  tokenBytes: 2 | 4;
  /** The recorded tokenizer contract (vocabSize 0 when the file records none). */
  tokenizer: RecordedContract;
}

/** Options for reading a shard. */
export interface ReadShardOptions {
  /** Refuse the shard unless it was written with this tokenizer (compared field by field). */
  expectTokenizer?: TokenizerContract;
  /** Check every id against the recorded vocabulary size (default true). */
  validateIds?: boolean;
}

/** A shard read into memory. */
export interface Shard {
  /** The tokens, as stored: Uint16Array for version 1, Uint32Array for version 2. */
  tokens: Uint16Array | Uint32Array;
  header: ShardHeader;
  path: string;
}

/** Bytes per token for a version, or throws naming the file. */
function tokenBytesOf(version: number, file: string): 2 | 4 {
  if (version === 1) return 2;
  if (version === 2) return 4;
  throw new Error(`${file}: unsupported shard version ${version} (expected 1 = uint16 or 2 = uint32)`);
}

/**
 * Parses and validates a shard header against the file's size.
 * @throws Error naming `file` for a wrong magic, an unknown version, a negative count, a size that
 *   does not match the count (truncated or oversized), or an impossible tokenizer record.
 */
export function parseShardHeader(words: Int32Array, fileBytes: number, file: string): ShardHeader {
  if (words[0] !== SHARD_MAGIC)
    throw new Error(`${file}: not a token shard: magic ${words[0]}, expected ${SHARD_MAGIC}`);
  const tokenBytes = tokenBytesOf(words[1], file);
  const tokenCount = words[2];
  if (tokenCount < 0) throw new Error(`${file}: header records a negative token count (${tokenCount})`);
  const expectedBytes = HEADER_BYTES + tokenCount * tokenBytes;
  if (fileBytes < expectedBytes)
    throw new Error(
      `${file}: truncated shard: the header records ${tokenCount} tokens (${expectedBytes} bytes), the file has ${fileBytes} bytes`,
    );
  if (fileBytes > expectedBytes)
    throw new Error(
      `${file}: oversized shard: the header records ${tokenCount} tokens (${expectedBytes} bytes), the file has ${fileBytes} bytes`,
    );
  const tokenizer = readContract(words, file);
  if (tokenBytes === 2 && tokenizer.vocabSize > 65536)
    throw new Error(`${file}: version 1 (uint16) shard records a vocabulary of ${tokenizer.vocabSize} > 65536`);
  return { version: words[1] as 1 | 2, tokenCount, tokenBytes, tokenizer };
}

/** Reads and validates a shard's header only. */
export function readShardHeader(path: string, options: ReadShardOptions = {}): ShardHeader {
  return withFile(path, (fd) => {
    const { words, fileBytes } = readRawHeader(fd, path);
    const header = parseShardHeader(words, fileBytes, path);
    if (options.expectTokenizer) checkContract(header.tokenizer, options.expectTokenizer, path);
    return header;
  });
}

/** Typed arrays shorter than this are scanned in JS (a native call costs more). */
const NATIVE_SCAN_MIN = 256;

/**
 * Throws naming `file` and the position of the first id ≥ vocabSize. Long Uint16Array /
 * Uint32Array inputs take a native max scan first (memory speed); other array-likes are checked
 * element by element (integers ≥ 0 only).
 */
export function checkIdsBelow(ids: ArrayLike<number>, vocabSize: number, file: string, offset = 0): void {
  if (ids instanceof Uint16Array || ids instanceof Uint32Array) {
    if (ids instanceof Uint16Array && vocabSize > 0xffff) return;
    if (ids.length >= NATIVE_SCAN_MIN && (native.maxTokenId(ids) as number) < vocabSize) return;
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
      throw new RangeError(`${file}: token ${offset + i} has id ${id}, outside the vocabulary of ${vocabSize}`);
  }
}

/**
 * Reads a whole shard into one typed array (2 or 4 bytes per token; no other copy is kept).
 * @throws Error naming the file for any header or size problem, a tokenizer mismatch, or an id at
 *   or above the recorded vocabulary size.
 */
export function readShard(path: string, options: ReadShardOptions = {}): Shard {
  return withFile(path, (fd) => {
    const { words, fileBytes } = readRawHeader(fd, path);
    const header = parseShardHeader(words, fileBytes, path);
    if (options.expectTokenizer) checkContract(header.tokenizer, options.expectTokenizer, path);
    // allocUnsafeSlow: no zero fill, own ArrayBuffer at offset 0 (so the typed view is aligned)
    const bytes = Buffer.allocUnsafeSlow(header.tokenCount * header.tokenBytes);
    readExactly(fd, bytes, HEADER_BYTES, path);
    const tokens =
      header.version === 1 ? new Uint16Array(bytes.buffer, 0, header.tokenCount) : new Uint32Array(bytes.buffer, 0, header.tokenCount);
    if (header.tokenizer.vocabSize > 0 && options.validateIds !== false)
      checkIdsBelow(tokens, header.tokenizer.vocabSize, path);
    return { tokens, header, path };
  });
}

/**
 * A shard opened for random access: reads token ranges with positional reads, so a sampler over
 * many large shards holds only the windows it asks for. Close it when done.
 */
export class ShardFile {
  readonly path: string;
  readonly header: ShardHeader;
  private fd: number;
  private scratch = new ArrayBuffer(0);

  /**
   * Opens and validates a shard.
   * @throws as {@link readShardHeader}.
   */
  constructor(path: string, options: ReadShardOptions = {}) {
    this.path = path;
    this.fd = openSync(path, 'r');
    try {
      const { words, fileBytes } = readRawHeader(this.fd, path);
      this.header = parseShardHeader(words, fileBytes, path);
      if (options.expectTokenizer) checkContract(this.header.tokenizer, options.expectTokenizer, path);
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  /** Tokens in the shard. */
  get length(): number {
    return this.header.tokenCount;
  }

  /**
   * Copies tokens [start, start + out.length) into `out`, checking ids against the vocabulary.
   * @throws RangeError when the range leaves the shard or an id is out of range.
   */
  read(start: number, out: Uint32Array): Uint32Array {
    const n = out.length;
    if (!Number.isInteger(start) || start < 0 || start + n > this.header.tokenCount)
      throw new RangeError(`${this.path}: range [${start}, ${start + n}) outside the shard's ${this.header.tokenCount} tokens`);
    const width = this.header.tokenBytes;
    if (this.scratch.byteLength < n * width) this.scratch = new ArrayBuffer(n * width);
    readExactly(this.fd, new Uint8Array(this.scratch, 0, n * width), HEADER_BYTES + start * width, this.path);
    out.set(width === 2 ? new Uint16Array(this.scratch, 0, n) : new Uint32Array(this.scratch, 0, n));
    const vocab = this.header.tokenizer.vocabSize;
    if (vocab > 0) checkIdsBelow(out, vocab, this.path, start);
    return out;
  }

  /** Closes the file; later reads throw. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

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
  /** Force a version (default: 1 when vocabSize ≤ 65,536, else 2). */
  version?: 1 | 2;
}

/** Tokens buffered before each write. */
const CHUNK_TOKENS = 1 << 20;

/**
 * Streams documents into shards of at most `shardTokens` tokens. Each shard is written to a
 * temporary file and renamed into place when full or at {@link ShardWriter.close}, so a reader
 * never sees a partial shard. Not safe for concurrent `writeDocument` calls: await each.
 */
export class ShardWriter {
  /** Paths of the shards completed so far. */
  readonly paths: string[] = [];
  private readonly dir: string;
  private readonly prefix: string;
  private readonly shardTokens: number;
  private readonly tokenizer: TokenizerContract;
  private readonly version: 1 | 2;
  private readonly chunk: Uint16Array | Uint32Array;
  private chunkFill = 0;
  private shardFill = 0;
  private handle: import('node:fs/promises').FileHandle | null = null;
  private tempPath = '';
  private writePosition = 0;
  private closed = false;
  /** Documents written. */
  documents = 0;
  /** Tokens written, separators included. */
  tokens = 0;

  constructor(options: ShardWriterOptions) {
    const { dir, prefix = 'shard', shardTokens = 100_000_000, tokenizer } = options;
    if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
    if (!/^[\w.-]+$/.test(prefix)) throw new TypeError(`prefix must be letters, digits, '_', '.' or '-', got '${prefix}'`);
    if (!Number.isInteger(shardTokens) || shardTokens < 1 || shardTokens > MAX_SHARD_TOKENS)
      throw new RangeError(`shardTokens must be an integer in [1, ${MAX_SHARD_TOKENS}], got ${shardTokens}`);
    validateContract(tokenizer);
    assertLittleEndianHost();
    const version = options.version ?? (tokenizer.vocabSize <= 65536 ? 1 : 2);
    if (version !== 1 && version !== 2) throw new RangeError(`version must be 1 or 2, got ${version}`);
    if (version === 1 && tokenizer.vocabSize > 65536)
      throw new RangeError(`version 1 (uint16) cannot hold a vocabulary of ${tokenizer.vocabSize}`);
    this.dir = dir;
    this.prefix = prefix;
    this.shardTokens = shardTokens;
    this.tokenizer = tokenizer;
    this.version = version;
    this.chunk = version === 1 ? new Uint16Array(CHUNK_TOKENS) : new Uint32Array(CHUNK_TOKENS);
  }

  /** Path of shard number `index`. */
  shardPath(index: number): string {
    return join(this.dir, `${this.prefix}_${String(index).padStart(6, '0')}.bin`);
  }

  /**
   * Appends `<|endoftext|>` then the document's ids.
   * @throws RangeError naming the position of an id outside the vocabulary (nothing of the
   *   document is written then).
   */
  async writeDocument(ids: ArrayLike<number>): Promise<void> {
    if (this.closed) throw new Error('ShardWriter is closed');
    checkIdsBelow(ids, this.tokenizer.vocabSize, `document ${this.documents}`);
    await this.push(this.tokenizer.eotId);
    let i = 0;
    while (i < ids.length) {
      const room = Math.min(this.chunk.length - this.chunkFill, this.shardTokens - this.shardFill);
      const take = Math.min(room, ids.length - i);
      if (ArrayBuffer.isView(ids) && !(ids instanceof DataView)) {
        this.chunk.set((ids as unknown as Uint32Array).subarray(i, i + take), this.chunkFill);
      } else {
        for (let k = 0; k < take; k++) this.chunk[this.chunkFill + k] = ids[i + k];
      }
      this.chunkFill += take;
      this.shardFill += take;
      i += take;
      await this.flushIfFull();
    }
    this.documents++;
    this.tokens += ids.length + 1;
  }

  private async push(id: number): Promise<void> {
    this.chunk[this.chunkFill++] = id;
    this.shardFill++;
    await this.flushIfFull();
  }

  private async flushIfFull(): Promise<void> {
    if (this.chunkFill === this.chunk.length || this.shardFill === this.shardTokens) await this.flushChunk();
    if (this.shardFill === this.shardTokens) await this.finishShard();
  }

  private async flushChunk(): Promise<void> {
    if (this.chunkFill === 0) return;
    if (!this.handle) {
      await mkdir(this.dir, { recursive: true });
      this.tempPath = temporaryPath(this.shardPath(this.paths.length));
      this.handle = await open(this.tempPath, 'w');
      await this.handle.write(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
      this.writePosition = HEADER_BYTES;
    }
    const bytes = new Uint8Array(this.chunk.buffer, 0, this.chunkFill * this.chunk.BYTES_PER_ELEMENT);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.writePosition);
      done += bytesWritten;
      this.writePosition += bytesWritten;
    }
    this.chunkFill = 0;
  }

  private async finishShard(): Promise<void> {
    if (!this.handle) return;
    const words = new Int32Array(HEADER_WORDS);
    words[0] = SHARD_MAGIC;
    words[1] = this.version;
    words[2] = this.shardFill;
    writeContract(words, this.tokenizer);
    await this.handle.write(headerBytes(words), 0, HEADER_BYTES, 0);
    await this.handle.sync();
    await this.handle.close();
    this.handle = null;
    const path = this.shardPath(this.paths.length);
    await rename(this.tempPath, path);
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

  /** Drops the shard in progress (its temporary file); completed shards stay. */
  async abort(): Promise<void> {
    this.closed = true;
    if (this.handle) {
      await this.handle.close().catch(() => undefined);
      await unlink(this.tempPath).catch(() => undefined);
      this.handle = null;
    }
  }
}

/**
 * Writes `tokens` as one shard at `path`, atomically.
 * @throws RangeError for an id outside the tokenizer's vocabulary or too many tokens.
 */
export async function writeShard(
  path: string,
  tokens: Uint16Array | Uint32Array | ArrayLike<number>,
  options: { tokenizer: TokenizerContract; version?: 1 | 2 },
): Promise<void> {
  const { tokenizer } = options;
  validateContract(tokenizer);
  if (tokens.length > MAX_SHARD_TOKENS) throw new RangeError(`a shard holds at most ${MAX_SHARD_TOKENS} tokens, got ${tokens.length}`);
  const version = options.version ?? (tokenizer.vocabSize <= 65536 ? 1 : 2);
  if (version === 1 && tokenizer.vocabSize > 65536)
    throw new RangeError(`version 1 (uint16) cannot hold a vocabulary of ${tokenizer.vocabSize}`);
  checkIdsBelow(tokens, tokenizer.vocabSize, path);
  const words = new Int32Array(HEADER_WORDS);
  words[0] = SHARD_MAGIC;
  words[1] = version;
  words[2] = tokens.length;
  writeContract(words, tokenizer);
  const Typed = version === 1 ? Uint16Array : Uint32Array;
  const body = tokens instanceof Typed ? tokens : Typed.from(tokens);
  await writeFileAtomic(path, [headerBytes(words), new Uint8Array(body.buffer, body.byteOffset, body.byteLength)]);
}
