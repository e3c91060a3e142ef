/**
 * How the biLM reads a document to make a token's features: `window` (the whole document in
 * overlapping windows of the context, windows.ts), or `sentence`: each sentence is its own
 * sequence, so the contextual layers carry only the context inside the token's sentence and
 * nothing of the paragraph around it (an inserted sentence of another domain is read as if it
 * stood alone). A sentence ends after a token that ends a sentence (`.`, `!`, `?`) or holds a line
 * break: the boundaries of segmentation.ts ({@link boundaryIds}). A sentence longer than the
 * context is read in overlapping windows inside it. Layer 0 (the token embeddings; positions
 * enter through RoPE in the blocks) is the same under both readings.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import { Boundary } from './segmentation.js';
import { planWindows, type WindowPiece } from './windows.js';

/** The readings: `window` (whole documents, overlapping windows) or `sentence` (each sentence alone). */
export type Reading = 'window' | 'sentence';

/** Every reading, in the order they are documented. */
export const READINGS: readonly Reading[] = Object.freeze(['window', 'sentence']);

/**
 * `value` as a {@link Reading}.
 * @throws TokenfilterError (E_OPTION) naming `name` for anything else.
 */
export function parseReading(value: unknown, name = 'reading'): Reading {
  if (typeof value === 'string' && (READINGS as readonly string[]).includes(value)) return value as Reading;
  throw new TokenfilterError('E_OPTION', `${name} must be ${READINGS.join(' or ')}, got ${JSON.stringify(value)}`);
}

/**
 * The sentences of a token sequence as [start, end) ranges that partition [0, n): a range ends
 * after every token whose {@link Boundary} (from `table`, indexed by id) is not `None`.
 */
export function sentenceRanges(tokens: Uint32Array, table: Uint8Array): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  for (let t = 0; t < tokens.length; t++) {
    if ((table[tokens[t]] ?? Boundary.None) === Boundary.None) continue;
    ranges.push([start, t + 1]);
    start = t + 1;
  }
  if (start < tokens.length) ranges.push([start, tokens.length]);
  return ranges;
}

/**
 * The pieces the biLM reads for one document of `tokens` with context `T` (document index 0; the
 * caller sets it): `window` gives {@link planWindows}; `sentence` gives each sentence's windows,
 * in document coordinates, so the kept ranges still partition [0, n). `table` is the boundary
 * table of the tokenizer (needed for `sentence` only).
 */
export function planReading(tokens: Uint32Array, T: number, reading: Reading, table?: Uint8Array): WindowPiece[] {
  if (parseReading(reading) === 'window') return planWindows(tokens.length, T);
  if (!table) throw new TokenfilterError('E_OPTION', 'sentence reading needs the tokenizer\'s boundary table');
  const pieces: WindowPiece[] = [];
  for (const [from, to] of sentenceRanges(tokens, table))
    for (const p of planWindows(to - from, T)) pieces.push({ ...p, start: p.start + from, keepFrom: p.keepFrom + from, keepTo: p.keepTo + from });
  return pieces;
}
