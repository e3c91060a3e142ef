/**
 * Splits a byte stream into lines without decoding it, so each line's UTF-8 can be checked
 * (a decoding stream would silently turn bad bytes into U+FFFD).
 * @module
 */

/** The UTF-8 byte order mark. */
const BOM = [0xef, 0xbb, 0xbf];

/** Whether `bytes` starts with a UTF-8 byte order mark. */
export function startsWithBom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2];
}

/** `text` without a leading U+FEFF (a byte order mark decoded as text). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Thrown by {@link byteLines} when a line grows past its limit (before it is held whole). */
export class LineTooLongError extends RangeError {
  constructor(readonly limit: number) {
    super(`a line is longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

/**
 * Yields the lines of a stream of byte chunks, split at `\n`, each without its `\n` or a `\r`
 * before it; a last line without `\n` is yielded too. A line is a view or a copy: use it before
 * asking for the next.
 * @throws LineTooLongError as soon as a line exceeds `maxLineBytes` (so a file without newlines
 *   cannot exhaust memory).
 */
export async function* byteLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes = Infinity): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = []; // pieces of a line that spans chunks (joined once, at its end)
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    let start = 0;
    let end = chunk.indexOf(10);
    while (end >= 0) {
      const piece = chunk.subarray(start, end);
      if (pendingBytes + piece.length > maxLineBytes) throw new LineTooLongError(maxLineBytes);
      yield trimCr(pending.length > 0 ? join([...pending, piece]) : piece);
      pending = [];
      pendingBytes = 0;
      start = end + 1;
      end = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      pending.push(chunk.slice(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) throw new LineTooLongError(maxLineBytes);
    }
  }
  if (pending.length > 0) yield trimCr(join(pending));
}

function trimCr(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
}

function join(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
