/**
 * JSON Lines reader (`.jsonl`, and gzip-compressed `.jsonl.gz` / `.json.gz`), streaming line by
 * line: the file is never held in memory.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { MalformedRecordError, toDocument, type Document, type ResolvedReadOptions } from './document.js';
import { basename } from 'node:path';

/** Whether a path names a gzip file (by extension). */
export function isGzipPath(path: string): boolean {
  return path.endsWith('.gz');
}

/**
 * Yields one document per non-blank line. A line that is not JSON, not an object, or lacks a
 * string text field is malformed: it throws {@link MalformedRecordError} (`file:line: reason`), or
 * is skipped and reported through `onSkip` when `skipMalformed` is set.
 * @throws Error naming the file when it cannot be opened or decompressed.
 */
export async function* readJsonl(file: string, options: ResolvedReadOptions): AsyncGenerator<Document> {
  const raw = createReadStream(file);
  const stream = isGzipPath(file) ? raw.pipe(createGunzip()) : raw;
  let streamError: Error | null = null;
  const onError = (error: Error) => {
    streamError = error;
    stream.destroy();
  };
  raw.on('error', onError);
  if (stream !== raw) stream.on('error', onError);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const name = basename(file);
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      throwIfAborted(options.signal, 'reading documents');
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
    if (error instanceof MalformedRecordError || (error as Error).name === 'AbortError') throw error;
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    lines.close();
    stream.destroy();
    raw.destroy();
  }
  if (streamError) throw new Error(`${file}: ${(streamError as Error).message}`, { cause: streamError });
}
