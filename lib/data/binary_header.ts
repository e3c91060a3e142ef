/**
 * The 256 × int32 little-endian header shared by token shards and side files (both are written
 * through lib/data/atomic_file.ts).
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { TokenfilterError } from '../errors.js';

/** The error for a malformed token shard or side file: code E_FILE_FORMAT, message `file: problem`. */
export function fileFormatError(file: string, problem: string): TokenfilterError {
  return new TokenfilterError('E_FILE_FORMAT', `${file}: ${problem}`, { path: file });
}

/**
 * Token and value bodies are read and written through typed-array views, which use the host's
 * byte order; the formats are little endian, so big-endian hosts are refused.
 * @throws Error on a big-endian host.
 */
export function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new TokenfilterError('E_NATIVE', 'tokenfilter file formats need a little-endian host (x86-64, arm64)');
}

/** Header words. */
export const HEADER_WORDS = 256;
/** Header bytes (256 × 4). */
export const HEADER_BYTES = HEADER_WORDS * 4;

/** A header read from an open file, with the file's size. */
export interface RawHeader {
  words: Int32Array;
  fileBytes: number;
}

/**
 * Reads the header of an open file descriptor.
 * @throws TokenfilterError E_FILE_FORMAT naming `file` when the file is shorter than a header.
 */
export function readRawHeader(fd: number, file: string): RawHeader {
  assertLittleEndianHost();
  const fileBytes = fstatSync(fd).size;
  if (fileBytes < HEADER_BYTES)
    throw fileFormatError(file, `truncated header: the file has ${fileBytes} bytes, a header needs ${HEADER_BYTES}`);
  const bytes = Buffer.alloc(HEADER_BYTES);
  const got = readSync(fd, bytes, 0, HEADER_BYTES, 0);
  if (got !== HEADER_BYTES) throw fileFormatError(file, `could read only ${got} of ${HEADER_BYTES} header bytes`);
  const words = new Int32Array(HEADER_WORDS);
  for (let i = 0; i < HEADER_WORDS; i++) words[i] = bytes.readInt32LE(4 * i);
  return { words, fileBytes };
}

/**
 * Adds the file name to a system error that does not record it as its `path` (EISDIR, EIO, …
 * raised on a descriptor); the system `code` is kept.
 */
export function namingFile(error: unknown, file: string): unknown {
  if (error instanceof Error && 'code' in error && (error as NodeJS.ErrnoException).path !== file)
    return Object.assign(new Error(`${file}: ${error.message}`, { cause: error }), { code: (error as NodeJS.ErrnoException).code });
  return error;
}

/** Opens `file` read-only, runs `fn` on the descriptor, closes it; system errors name the file. */
export function withFile<T>(file: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw namingFile(error, file);
  }
  try {
    return fn(fd);
  } catch (error) {
    throw namingFile(error, file);
  } finally {
    closeSync(fd);
  }
}

/** Serialises header words to bytes (little endian). */
export function headerBytes(words: Int32Array): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  for (let i = 0; i < HEADER_WORDS; i++) bytes.writeInt32LE(words[i], 4 * i);
  return bytes;
}

/** Reads exactly `length` bytes at `position` into `target`, or throws naming `file`. */
export function readExactly(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const got = readSync(fd, target, done, target.length - done, position + done);
    if (got === 0) throw fileFormatError(file, `unexpected end of file at byte ${position + done}`);
    done += got;
  }
}
