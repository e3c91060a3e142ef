/**
 * Overlapping windows for reading a document longer than a model's context: windows of the
 * context length T every T/2 tokens, the last one ending at the document's end; each position
 * is kept from the window whose centre is nearest, so every kept position has at least T/4
 * tokens of context on each side inside the window (except near the document's ends).
 * @module
 */
import { CodedRangeError } from '../errors.js';

/** One window of a document and the positions it supplies. */
export interface WindowPiece {
  /** Index of the document (set by the caller). */
  document: number;
  /** First token of the window and its length (≤ T). */
  start: number;
  length: number;
  /** Positions [keepFrom, keepTo) (document coordinates) take their features from this window. */
  keepFrom: number;
  keepTo: number;
}

/**
 * Windows for a document of `n` tokens and context `T`; their kept ranges partition [0, n).
 * @throws RangeError for a negative n or T < 1.
 */
export function planWindows(n: number, T: number): WindowPiece[] {
  if (!Number.isInteger(n) || n < 0) throw new CodedRangeError(`document length must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(T) || T < 1) throw new CodedRangeError(`context must be a positive integer, got ${T}`);
  if (n === 0) return [];
  if (n <= T) return [{ document: 0, start: 0, length: n, keepFrom: 0, keepTo: n }];
  const stride = Math.max(1, Math.floor(T / 2));
  const starts: number[] = [];
  for (let s = 0; s + T < n; s += stride) starts.push(s);
  starts.push(n - T);
  const pieces: WindowPiece[] = [];
  for (let k = 0; k < starts.length; k++) {
    // boundaries halfway between consecutive window centres (centre = start + T/2); consecutive
    // starts differ by at most T, so each kept range lies inside its window
    const keepFrom = k === 0 ? 0 : Math.ceil((starts[k - 1] + starts[k] + T) / 2);
    const keepTo = k === starts.length - 1 ? n : Math.ceil((starts[k] + starts[k + 1] + T) / 2);
    if (keepTo > keepFrom) pieces.push({ document: 0, start: starts[k], length: T, keepFrom, keepTo });
  }
  return pieces;
}
