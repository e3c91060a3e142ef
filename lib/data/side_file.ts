/**
 * Per-token side files: one value per token of a matching shard (loss mask, labels, scores).
 *
 * Layout (little endian): a 256 × int32 header
 * - `[0]` magic 20261122, `[1]` version 1, `[2]` token count
 * - `[3]` kind: 1 loss mask (uint8, 0/1), 2 labels (uint8), 3 scores as uint8 = round(255·p),
 *   4 scores as float16
 * - `[8..14]` the tokenizer contract, at the same words as in token shards
 *   (see {@link TokenizerContract})
 * - all other words zero
 *
 * then `count` values of 1 byte (kinds 1–3) or 2 bytes (kind 4).
 *
 * Naming: the side file of kind K for shard `x.bin` is `x.<K name>.side`
 * ({@link sideFilePathFor}), so a glob for `*.bin` never picks it up as a shard.
 * @module
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from './atomic_file.js';
import {
  assertLittleEndianHost,
  HEADER_BYTES,
  HEADER_WORDS,
  fileFormatError,
  headerBytes,
  readExactly,
  readRawHeader,
  withFile,
} from './binary_header.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import {
  checkContract,
  checkSameContract,
  readContract,
  validateContract,
  writeContract,
  type RecordedContract,
  type TokenizerContract,
} from './tokenizer_contract.js';

/** Magic number of a side file (word 0). */
export const SIDE_FILE_MAGIC = 20261122;

/** Index of the first value above `max`, or -1 (a plain loop: fast on 100M-value masks). */
export function firstAbove(values: Uint8Array, max: number): number {
  for (let i = 0; i < values.length; i++) if (values[i] > max) return i;
  return -1;
}

/** Index of the first float16 NaN bit pattern (exponent all ones, mantissa not zero), or -1. */
export function firstFloat16NaN(bits: Uint16Array): number {
  for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7fff) > 0x7c00) return i;
  return -1;
}

/** What a side file holds. */
export enum SideFileKind {
  /** uint8 per token: 1 = learn from this target, 0 = ignore it. */
  LossMask = 1,
  /** uint8 class label per token (e.g. 1 = forget domain). */
  Labels = 2,
  /** uint8 per token: round(255 · p) for a probability p. */
  ScoresUint8 = 3,
  /** float16 per token: a probability or any score. */
  ScoresFloat16 = 4,
}

const KIND_NAMES: Record<SideFileKind, string> = {
  [SideFileKind.LossMask]: 'mask',
  [SideFileKind.Labels]: 'labels',
  [SideFileKind.ScoresUint8]: 'scores8',
  [SideFileKind.ScoresFloat16]: 'scores16',
};

/** The side file of `kind` for a shard path: `x.bin` → `x.mask.side` (or labels, scores8, scores16). */
export function sideFilePathFor(shardPath: string, kind: SideFileKind): string {
  const base = shardPath.endsWith('.bin') ? shardPath.slice(0, -4) : shardPath;
  return `${base}.${KIND_NAMES[kind]}.side`;
}

/** The side file of `kind` for a shard when it exists, else null. */
export function findSideFile(shardPath: string, kind: SideFileKind): string | null {
  const path = sideFilePathFor(shardPath, kind);
  return existsSync(path) ? path : null;
}

/** What a side file's header says. */
export interface SideFileHeader {
  version: 1;
  tokenCount: number;
  kind: SideFileKind;
  /** Bytes per value (1, or 2 for float16). */
  valueBytes: 1 | 2;
  tokenizer: RecordedContract;
}

/** A side file read into memory. */
export interface SideFile {
  /** Raw values: Uint8Array for kinds 1–3, Uint16Array of float16 bit patterns for kind 4. */
  values: Uint8Array | Uint16Array;
  header: SideFileHeader;
  path: string;
}

/** Options for reading a side file. */
export interface ReadSideFileOptions {
  /** Refuse a file of another kind. */
  expectKind?: SideFileKind;
  /** Refuse a file whose token count differs (the count of the matching shard). */
  expectTokens?: number;
  /** Refuse a file written with another tokenizer. */
  expectTokenizer?: TokenizerContract;
  /**
   * The shard this side file goes with (its path and recorded contract): refuse a side file
   * written with another tokenizer, naming both files (E_TOKENIZER_MISMATCH).
   */
  shard?: { path: string; tokenizer: RecordedContract };
}

function valueBytesOf(kind: number, file: string): 1 | 2 {
  if (kind === 1 || kind === 2 || kind === 3) return 1;
  if (kind === 4) return 2;
  throw fileFormatError(file, `unknown side-file kind ${kind} (expected 1 loss mask, 2 labels, 3 uint8 scores, 4 float16 scores)`);
}

/**
 * Parses and validates a side-file header against the file's size.
 * @throws Error naming `file` for a wrong magic, version or kind, a negative count, or a size
 *   that does not match the count.
 */
export function parseSideFileHeader(words: Int32Array, fileBytes: number, file: string): SideFileHeader {
  if (words[0] !== SIDE_FILE_MAGIC)
    throw fileFormatError(file, `not a side file: magic ${words[0]}, expected ${SIDE_FILE_MAGIC}`);
  if (words[1] !== 1) throw fileFormatError(file, `unsupported side-file version ${words[1]} (expected 1)`);
  const tokenCount = words[2];
  if (tokenCount < 0) throw fileFormatError(file, `header records a negative token count (${tokenCount})`);
  const valueBytes = valueBytesOf(words[3], file);
  const expectedBytes = HEADER_BYTES + tokenCount * valueBytes;
  if (fileBytes !== expectedBytes)
    throw fileFormatError(
      file,
      `${fileBytes < expectedBytes ? 'truncated' : 'oversized'} side file: the header records ${tokenCount} ` +
        `tokens (${expectedBytes} bytes), the file has ${fileBytes} bytes`,
    );
  return { version: 1, tokenCount, kind: words[3] as SideFileKind, valueBytes, tokenizer: readContract(words, file) };
}

function checkExpectations(header: SideFileHeader, options: ReadSideFileOptions, file: string): void {
  if (options.expectKind !== undefined && header.kind !== options.expectKind)
    throw new TokenfilterError(
      'E_MISMATCH',
      `${file}: side file holds ${KIND_NAMES[header.kind]} (kind ${header.kind}), expected ${KIND_NAMES[options.expectKind]} (kind ${options.expectKind})`,
      { path: file },
    );
  if (options.expectTokens !== undefined && header.tokenCount !== options.expectTokens)
    throw new TokenfilterError('E_MISMATCH', `${file}: side file covers ${header.tokenCount} tokens, its shard${options.shard ? ` ${options.shard.path}` : ''} has ${options.expectTokens}`, { path: file });
  if (options.expectTokenizer) checkContract(header.tokenizer, options.expectTokenizer, file);
  if (options.shard) checkSameContract(options.shard.tokenizer, options.shard.path, header.tokenizer, file);
}

/** Reads and validates a side file's header only. */
export function readSideFileHeader(path: string, options: ReadSideFileOptions = {}): SideFileHeader {
  return withFile(path, (fd) => {
    const { words, fileBytes } = readRawHeader(fd, path);
    const header = parseSideFileHeader(words, fileBytes, path);
    checkExpectations(header, options, path);
    return header;
  });
}

/**
 * Reads a side file.
 * @throws TokenfilterError naming the file: E_FILE_FORMAT for any header or size problem or a
 *   loss-mask value other than 0 and 1, E_MISMATCH for an unexpected kind or count, E_NOT_FINITE
 *   for a NaN float16 score; Error for a tokenizer mismatch.
 */
export function readSideFile(path: string, options: ReadSideFileOptions = {}): SideFile {
  return withFile(path, (fd) => {
    const { words, fileBytes } = readRawHeader(fd, path);
    const header = parseSideFileHeader(words, fileBytes, path);
    checkExpectations(header, options, path);
    const values = header.valueBytes === 1 ? new Uint8Array(header.tokenCount) : new Uint16Array(header.tokenCount);
    readExactly(fd, new Uint8Array(values.buffer), HEADER_BYTES, path);
    if (header.kind === SideFileKind.LossMask) {
      const bad = firstAbove(values as Uint8Array, 1);
      if (bad >= 0) throw fileFormatError(path, `loss mask value ${values[bad]} at token ${bad} (expected 0 or 1)`);
    }
    if (header.kind === SideFileKind.ScoresFloat16) {
      const nan = firstFloat16NaN(values as Uint16Array);
      if (nan >= 0) throw new TokenfilterError('E_NOT_FINITE', `${path}: float16 score at token ${nan} is NaN`, { path });
    }
    return { values, header, path };
  });
}

/** Scores of a side file of kind 3 or 4 as probabilities (uint8 / 255, or the float16 values). */
export function sideFileScores(file: SideFile): Float32Array {
  if (file.header.kind === SideFileKind.ScoresFloat16) return decodeFloat16(file.values);
  if (file.header.kind === SideFileKind.ScoresUint8) {
    const out = new Float32Array(file.values.length);
    for (let i = 0; i < out.length; i++) out[i] = file.values[i] / 255;
    return out;
  }
  throw new TokenfilterError('E_MISMATCH', `${file.path}: side file holds ${KIND_NAMES[file.header.kind]}, not scores`, { path: file.path });
}

/** round(255 · p) per value, for p in [0, 1]. @throws RangeError for a value outside [0, 1] or NaN. */
export function quantizeScores(scores: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const p = scores[i];
    if (!(p >= 0 && p <= 1)) throw new CodedRangeError(`scores[${i}] = ${p} is not a probability in [0, 1]`);
    out[i] = Math.round(255 * p);
  }
  return out;
}

/** Options of {@link writeSideFile}. */
export interface WriteSideFileOptions {
  kind: SideFileKind;
  /** The tokenizer of the matching shard, recorded in the header. */
  tokenizer: TokenizerContract;
}

/**
 * Writes a side file atomically. Values by kind:
 * - loss mask: Uint8Array of 0/1;
 * - labels: Uint8Array;
 * - uint8 scores: Uint8Array already quantised, or probabilities in [0, 1] (Float32Array,
 *   Float64Array or number[]) quantised as round(255·p);
 * - float16 scores: numbers (Float32Array, Float64Array, number[]; NaN refused), or a
 *   Uint16Array of float16 bit patterns.
 * @throws TypeError for the wrong value type, RangeError for a bad value (naming its index).
 */
export async function writeSideFile(
  path: string,
  values: ArrayLike<number>,
  options: WriteSideFileOptions,
): Promise<void> {
  const { kind, tokenizer } = options;
  valueBytesOf(kind, 'kind');
  validateContract(tokenizer);
  assertLittleEndianHost();
  if (values.length > 0x7fffffff) throw new CodedRangeError(`a side file holds at most 2^31 - 1 values, got ${values.length}`);
  let body: Uint8Array | Uint16Array;
  if (kind === SideFileKind.LossMask || kind === SideFileKind.Labels) {
    if (!(values instanceof Uint8Array)) throw new CodedTypeError(`${KIND_NAMES[kind]} values must be a Uint8Array`);
    if (kind === SideFileKind.LossMask) {
      const bad = firstAbove(values, 1);
      if (bad >= 0) throw new CodedRangeError(`loss mask values must be 0 or 1, got ${values[bad]} at index ${bad}`);
    }
    body = values;
  } else if (kind === SideFileKind.ScoresUint8) {
    body = values instanceof Uint8Array ? values : quantizeScores(values);
  } else {
    if (values instanceof Uint16Array) body = values;
    else {
      for (let i = 0; i < values.length; i++)
        if (Number.isNaN(values[i])) throw new CodedRangeError(`scores[${i}] is NaN`);
      body = encodeFloat16(values);
    }
  }
  await writeFileAtomic(path, [sideFileHeaderBytes(kind, values.length, tokenizer), new Uint8Array(body.buffer, body.byteOffset, body.byteLength)]);
}

/** The 256-word header of a side file. */
export function sideFileHeaderBytes(kind: SideFileKind, tokenCount: number, tokenizer: TokenizerContract): Buffer {
  const words = new Int32Array(HEADER_WORDS);
  words[0] = SIDE_FILE_MAGIC;
  words[1] = 1;
  words[2] = tokenCount;
  words[3] = kind;
  writeContract(words, tokenizer);
  return headerBytes(words);
}
