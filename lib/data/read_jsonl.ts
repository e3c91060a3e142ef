/**
 * JSON Lines reader (`.jsonl`, and gzip-compressed `.jsonl.gz` / `.json.gz`), streaming line by
 * line: the file is never held in memory. A UTF-8 byte order mark before the first line is
 * skipped; lines that are not valid UTF-8 are counted (or refused, as the options say).
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { basename } from 'node:path';
import { TokenfilterError } from '../errors.js';
import { byteLines, LineTooLongError, startsWithBom } from './byte_lines.js';
import { MalformedRecordError, toDocument, type Document, type ResolvedReadOptions } from './document.js';

/** Whether a path names a gzip file (by extension). */
export function isGzipPath(path: string): boolean {
  return path.endsWith('.gz');
}

/** Longest line read (256 MiB): longer ones are refused before they are held whole. */
export const MAX_LINE_BYTES = 2 ** 28;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Passes chunks through, telling `onBytes` each one's size. */
async function* counted(chunks: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/**
 * The file's byte stream, gunzipped when its name ends in `.gz` (read errors reach `bytes`);
 * `onBytes` hears the on-disk (compressed) bytes as they are read.
 */
function openBytes(file: string, onBytes?: (n: number) => void): { bytes: AsyncIterable<Uint8Array>; close: () => void } {
  const raw = createReadStream(file);
  if (!isGzipPath(file)) return { bytes: onBytes ? counted(raw, onBytes) : raw, close: () => raw.destroy() };
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  // pipe() already reads `raw` in flowing mode, so one more 'data' listener only observes
  if (onBytes) raw.on('data', (chunk) => onBytes(chunk.length));
  return { bytes: raw.pipe(gunzip), close: () => (gunzip.destroy(), raw.destroy()) };
}

/** A stream failure as a coded error naming the file: E_FILE_FORMAT for bad gzip data, else E_IO. */
export function streamError(file: string, error: Error): TokenfilterError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('Z_'))
    return new TokenfilterError('E_FILE_FORMAT', `${file}: not a complete gzip stream (${error.message}): truncated or corrupt?`, { path: file, cause: error });
  return new TokenfilterError('E_IO', `${file}: ${error.message}`, { path: file, cause: error });
}

/** Decodes one line; invalid UTF-8 is refused or replaced and reported, as the options say. */
function decodeLine(bytes: Uint8Array, file: string, line: number, options: ResolvedReadOptions): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    if (options.invalidUtf8 === 'error')
      throw new TokenfilterError('E_FILE_FORMAT', `${file}:${line}: not valid UTF-8`, { path: file });
    options.onInvalidUtf8({ file, line });
    return lossyUtf8.decode(bytes);
  }
}

/**
 * Yields one document per non-blank line. A line that is not JSON, not an object, or lacks a
 * string text field is malformed: it throws {@link MalformedRecordError} (`file:line: reason`), or
 * is skipped and reported through `onSkip` when `skipMalformed` is set.
 * @throws TokenfilterError naming the file: E_IO when it cannot be read, E_FILE_FORMAT for a
 *   truncated or corrupt gzip stream (or invalid UTF-8 with `invalidUtf8: 'error'`),
 *   E_TOO_LARGE for a line over {@link MAX_LINE_BYTES}.
 */
export async function* readJsonl(file: string, options: ResolvedReadOptions): AsyncGenerator<Document> {
  const input = openBytes(file, options.onBytesRead);
  const name = basename(file);
  let lineNumber = 0;
  try {
    for await (let bytes of byteLines(input.bytes, MAX_LINE_BYTES)) {
      lineNumber++;
      throwIfAborted(options.signal, 'reading documents');
      if (lineNumber === 1 && startsWithBom(bytes)) bytes = bytes.subarray(3);
      const line = decodeLine(bytes, file, lineNumber, options);
      if (line.trim() === '') continue;
      let record: unknown;
      let problem: string | null = null;
      try {
        record = JSON.parse(line);
      } catch (error) {
        problem = `invalid JSON (${(error as Error).message})`;
      }
      const result = problem ?? toDocument(record, options, `${name}:${lineNumber}`);
      if (typeof result === 'string') {
        if (!options.skipMalformed) throw new MalformedRecordError(file, lineNumber, result);
        options.onSkip({ file, line: lineNumber, reason: result });
        continue;
      }
      yield result;
    }
  } catch (error) {
    if (error instanceof LineTooLongError)
      throw new TokenfilterError('E_TOO_LARGE', `${file}:${lineNumber + 1}: ${error.message}`, { path: file });
    // Reading or gunzipping failed; anything else (a coded refusal, an AbortError, an error
    // thrown by the caller's onSkip / onInvalidUtf8) passes through unchanged.
    if (typeof (error as NodeJS.ErrnoException)?.errno === 'number') throw streamError(file, error as Error);
    throw error;
  } finally {
    input.close();
  }
}
