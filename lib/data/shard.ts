/**
 * Token shards: llm.c's `.bin` formats with a tokenizer contract in header words llm.c ignores.
 *
 * Layout (all little endian):
 * - header, 256 × int32:
 *   - `[0]` magic and `[1]` version, one of
 *     - 20240520, 1: uint16 tokens (llm.c's GPT-2 layout; written for vocabularies ≤ 65,536)
 *     - 20240801, 7: uint32 tokens (llm.c's Llama 3 layout; written for larger vocabularies)
 *     - 20240520, 2: uint32 tokens (what tokenfilter wrote before it used llm.c's uint32
 *       layout; still read, no longer written)
 *   - `[2]` token count (int32, so at most 2^31 − 1 tokens per shard)
 *   - `[3..7]` zero
 *   - `[8]` vocabulary size, `[9]` end-of-text id, `[10]` hidden id, `[11..14]` first 16 bytes of
 *     the tokenizer hash (see {@link TokenizerContract}); zero in files written by llm.c, whose
 *     readers ignore these words
 *   - `[15..255]` zero
 * - then, at byte 1024, `count` tokens of 2 (uint16) or 4 (uint32) bytes.
 *
 * Documents follow llm.c's convention: every document is preceded by `<|endoftext|>`, so a shard
 * starts with it and the token before each document is the separator. `ShardWriter`
 * (shard_writer.ts) streams documents into a series of shards.
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { native } from '../native.js';
import {
  HEADER_BYTES,
  HEADER_WORDS,
  headerBytes,
  namingFile,
  readExactly,
  readRawHeader,
  fileFormatError,
  withFile,
  assertLittleEndianHost,
} from './binary_header.js';
import { writeFileAtomic } from './atomic_file.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import {
  checkContract,
  readContract,
  validateContract,
  writeContract,
  type RecordedContract,
  type TokenizerContract,
} from './tokenizer_contract.js';

/** Magic number (word 0) of uint16 shards (version 1) and of our older uint32 shards (version 2). */
export const SHARD_MAGIC = 20240520;
/** Magic number (word 0) of llm.c's uint32 shards (version 7). */
export const SHARD_MAGIC_UINT32 = 20240801;
/** Version (word 1) of llm.c's uint32 shards. */
export const SHARD_VERSION_UINT32 = 7;

/**
 * A shard layout by its version word: 1 = uint16 (magic 20240520), 7 = uint32 (magic 20240801),
 * 2 = uint32 with magic 20240520 (read only: tokenfilter's older uint32 files).
 */
export type ShardVersion = 1 | 2 | 7;
/** The layouts a shard is written in: 1 = uint16, 7 = uint32. */
export type WritableShardVersion = 1 | 7;
/** Most tokens one shard can hold (the count is an int32). */
export const MAX_SHARD_TOKENS = 0x7fffffff;

/** What a shard's header says. */
export interface ShardHeader {
  /** Word 0: 20240520 (versions 1 and 2) or 20240801 (version 7). */
  magic: number;
  /** 1 = uint16 tokens; 7 (llm.c) or 2 (older tokenfilter files) = uint32 tokens. */
  version: ShardVersion;
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
  /** The tokens, as stored: Uint16Array for version 1, Uint32Array for versions 2 and 7. */
  tokens: Uint16Array | Uint32Array;
  header: ShardHeader;
  path: string;
}

/** Bytes per token for a magic and version, or throws naming the file. */
function tokenBytesOf(magic: number, version: number, file: string): 2 | 4 {
  if (magic === SHARD_MAGIC && version === 1) return 2;
  if (magic === SHARD_MAGIC && version === 2) return 4;
  if (magic === SHARD_MAGIC_UINT32 && version === SHARD_VERSION_UINT32) return 4;
  if (magic !== SHARD_MAGIC && magic !== SHARD_MAGIC_UINT32)
    throw fileFormatError(file, `not a token shard: magic ${magic}, expected ${SHARD_MAGIC} or ${SHARD_MAGIC_UINT32}`);
  throw fileFormatError(
    file,
    `unsupported shard version ${version} for magic ${magic} (expected magic ${SHARD_MAGIC} with version 1 = uint16 ` +
      `or 2 = uint32, or magic ${SHARD_MAGIC_UINT32} with version 7 = uint32)`,
  );
}

/** The version word of a layout by token width: 1 (uint16) or 7 (llm.c's uint32). */
export function shardVersionFor(tokenBytes: 2 | 4): WritableShardVersion {
  return tokenBytes === 2 ? 1 : SHARD_VERSION_UINT32;
}

/**
 * The layout to write for a tokenizer: `requested` when given (1 or 7; 2 is read only), else 1
 * for vocabularies ≤ 65,536 and 7 above.
 * @throws RangeError for another version, or version 1 with a vocabulary over 65,536.
 */
export function writableShardVersion(vocabSize: number, requested?: number): WritableShardVersion {
  const version = requested ?? (vocabSize <= 65536 ? 1 : SHARD_VERSION_UINT32);
  if (version !== 1 && version !== SHARD_VERSION_UINT32)
    throw new CodedRangeError(`shard version must be 1 (uint16) or 7 (uint32, llm.c's layout), got ${version}`);
  if (version === 1 && vocabSize > 65536) throw new CodedRangeError(`version 1 (uint16) cannot hold a vocabulary of ${vocabSize}`);
  return version;
}

/**
 * Parses and validates a shard header against the file's size.
 * @throws TokenfilterError E_FILE_FORMAT naming `file` for a wrong magic, an unknown version, a
 *   negative count, a size that does not match the count (truncated or oversized), or an
 *   impossible tokenizer record.
 */
export function parseShardHeader(words: Int32Array, fileBytes: number, file: string): ShardHeader {
  const tokenBytes = tokenBytesOf(words[0], words[1], file);
  const tokenCount = words[2];
  if (tokenCount < 0) throw fileFormatError(file, `header records a negative token count (${tokenCount})`);
  const expectedBytes = HEADER_BYTES + tokenCount * tokenBytes;
  if (fileBytes < expectedBytes)
    throw fileFormatError(file, `truncated shard: the header records ${tokenCount} tokens (${expectedBytes} bytes), the file has ${fileBytes} bytes`);
  if (fileBytes > expectedBytes)
    throw fileFormatError(file, `oversized shard: the header records ${tokenCount} tokens (${expectedBytes} bytes), the file has ${fileBytes} bytes`);
  const tokenizer = readContract(words, file);
  if (tokenBytes === 2 && tokenizer.vocabSize > 65536)
    throw fileFormatError(file, `version 1 (uint16) shard records a vocabulary of ${tokenizer.vocabSize} > 65536`);
  return { magic: words[0], version: words[1] as ShardVersion, tokenCount, tokenBytes, tokenizer };
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
 * Throws naming `file` and the position of the first id ≥ vocabSize: a RangeError for ids the
 * caller passed (`source` 'argument'), a TokenfilterError E_FILE_FORMAT for ids read from `file`
 * (`source` 'file'). Long Uint16Array / Uint32Array inputs take a native max scan first (memory
 * speed); other array-likes are checked element by element (integers ≥ 0 only).
 */
export function checkIdsBelow(
  ids: ArrayLike<number>,
  vocabSize: number,
  file: string,
  offset = 0,
  source: 'argument' | 'file' = 'argument',
): void {
  if (ids instanceof Uint16Array || ids instanceof Uint32Array) {
    if (ids instanceof Uint16Array && vocabSize > 0xffff) return;
    if (ids.length >= NATIVE_SCAN_MIN && native.maxTokenId(ids) < vocabSize) return;
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      const problem = `token ${offset + i} has id ${id}, outside the vocabulary of ${vocabSize}`;
      throw source === 'file' ? fileFormatError(file, problem) : new CodedRangeError(`${file}: ${problem}`);
    }
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
      header.tokenBytes === 2 ? new Uint16Array(bytes.buffer, 0, header.tokenCount) : new Uint32Array(bytes.buffer, 0, header.tokenCount);
    if (header.tokenizer.vocabSize > 0 && options.validateIds !== false)
      checkIdsBelow(tokens, header.tokenizer.vocabSize, path, 0, 'file');
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
    try {
      this.fd = openSync(path, 'r');
    } catch (error) {
      throw namingFile(error, path);
    }
    try {
      const { words, fileBytes } = readRawHeader(this.fd, path);
      this.header = parseShardHeader(words, fileBytes, path);
      if (options.expectTokenizer) checkContract(this.header.tokenizer, options.expectTokenizer, path);
    } catch (error) {
      closeSync(this.fd);
      throw namingFile(error, path);
    }
  }

  /** Tokens in the shard. */
  get length(): number {
    return this.header.tokenCount;
  }

  /**
   * Copies tokens [start, start + out.length) into `out`, checking ids against the vocabulary.
   * @throws TokenfilterError E_STATE after {@link ShardFile.close}; TypeError when `out` is not a
   *   Uint32Array; RangeError when the range leaves the shard; TokenfilterError E_FILE_FORMAT for
   *   an id at or above the recorded vocabulary size.
   */
  read(start: number, out: Uint32Array): Uint32Array {
    if (this.fd < 0) throw new TokenfilterError('E_STATE', `${this.path}: read after close`, { path: this.path });
    if (!(out instanceof Uint32Array)) throw new CodedTypeError(`${this.path}: out must be a Uint32Array`);
    const n = out.length;
    if (!Number.isInteger(start) || start < 0 || start + n > this.header.tokenCount)
      throw new CodedRangeError(`${this.path}: range [${start}, ${start + n}) outside the shard's ${this.header.tokenCount} tokens`);
    const width = this.header.tokenBytes;
    if (this.scratch.byteLength < n * width) this.scratch = new ArrayBuffer(n * width);
    readExactly(this.fd, new Uint8Array(this.scratch, 0, n * width), HEADER_BYTES + start * width, this.path);
    out.set(width === 2 ? new Uint16Array(this.scratch, 0, n) : new Uint32Array(this.scratch, 0, n));
    const vocab = this.header.tokenizer.vocabSize;
    if (vocab > 0) checkIdsBelow(out, vocab, this.path, start, 'file');
    return out;
  }

  /** Closes the file; later reads throw. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** The 256-word header of a shard in layout `version` (1 = uint16, 7 = uint32). */
export function shardHeaderBytes(version: WritableShardVersion, tokenCount: number, tokenizer: TokenizerContract): Buffer {
  const words = new Int32Array(HEADER_WORDS);
  words[0] = version === 1 ? SHARD_MAGIC : SHARD_MAGIC_UINT32;
  words[1] = version;
  words[2] = tokenCount;
  writeContract(words, tokenizer);
  return headerBytes(words);
}

/**
 * Writes `tokens` as one shard at `path`, atomically: uint16 (magic 20240520, version 1) for
 * vocabularies ≤ 65,536, else uint32 in llm.c's layout (magic 20240801, version 7), unless
 * `version` says which.
 * @throws RangeError for an id outside the tokenizer's vocabulary, too many tokens, or a version
 *   other than 1 and 7 (or 1 for a vocabulary over 65,536).
 */
export async function writeShard(
  path: string,
  tokens: Uint16Array | Uint32Array | ArrayLike<number>,
  options: { tokenizer: TokenizerContract; version?: WritableShardVersion },
): Promise<void> {
  const { tokenizer } = options;
  validateContract(tokenizer);
  assertLittleEndianHost();
  if (tokens.length > MAX_SHARD_TOKENS) throw new CodedRangeError(`a shard holds at most ${MAX_SHARD_TOKENS} tokens, got ${tokens.length}`);
  const version = writableShardVersion(tokenizer.vocabSize, options.version);
  checkIdsBelow(tokens, tokenizer.vocabSize, path);
  const Typed = version === 1 ? Uint16Array : Uint32Array;
  const body = tokens instanceof Typed ? tokens : Typed.from(tokens);
  await writeFileAtomic(path, [shardHeaderBytes(version, tokens.length, tokenizer), new Uint8Array(body.buffer, body.byteOffset, body.byteLength)]);
}
