/**
 * Thresholds for per-token scores: validation, and the threshold that flags a requested
 * fraction of tokens (exact, linear time, no sort).
 * @module
 */
import { native } from '../native.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** Per-token forget-domain scores: probabilities as float32, or quantised as round(255·p). */
export type TokenScores = Float32Array | Uint8Array;

/**
 * Checks that every score is a probability: finite and in [0, 1] (Uint8Array scores always are).
 * @throws TypeError for another array type, RangeError naming the first bad index.
 */
export function validateScores(scores: TokenScores, name = 'scores'): void {
  if (scores instanceof Uint8Array) return;
  if (!(scores instanceof Float32Array)) throw new CodedTypeError(`${name} must be a Float32Array or a Uint8Array`);
  const bad = native.filter.firstInvalidProbability(scores);
  if (bad >= 0) throw new CodedRangeError(`${name}[${bad}] = ${scores[bad]} is not a probability in [0, 1]`);
}

/** The integer level in [0, 256] that `round(255·p)` scores are compared with for threshold t. */
export function quantisedLevel(threshold: number): number {
  // 255·t can land a hair above an integer through rounding (0.2·255 = 51.00000000000001)
  return Math.min(256, Math.max(0, Math.ceil(threshold * 255 - 1e-9)));
}

/**
 * The threshold t that flags `fraction` of the tokens (score >= t), chosen as the score of
 * the k-th highest token with k = round(fraction · n). Ties at t are all flagged, so the
 * flagged fraction can exceed the request when many tokens share a score; fraction 0 returns a
 * threshold above every score (nothing flagged). Linear time: a radix select on float bits.
 * @throws RangeError unless 0 <= fraction <= 1.
 */
export function thresholdForFraction(scores: TokenScores, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new CodedRangeError(`fraction must be in [0, 1], got ${fraction}`);
  const n = scores.length;
  const k = Math.round(fraction * n);
  if (k === 0 || n === 0) return Number.POSITIVE_INFINITY;
  if (scores instanceof Uint8Array) {
    const counts = new Float64Array(256);
    for (let i = 0; i < n; i++) counts[scores[i]]++;
    let seen = 0;
    for (let level = 255; level >= 0; level--) {
      seen += counts[level];
      if (seen >= k) return level / 255;
    }
    return 0;
  }
  // Non-negative float32 values order like their bit patterns read as unsigned integers.
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
  return kthLargestBits(bits, k);
}

/** k-th largest (1-based) of the uint32 bit patterns, by two 16-bit radix passes. */
function kthLargestBits(bits: Uint32Array, k: number): number {
  const high = new Float64Array(65536);
  for (let i = 0; i < bits.length; i++) high[bits[i] >>> 16]++;
  let remaining = k;
  let top = 65535;
  for (; top >= 0; top--) {
    if (remaining <= high[top]) break;
    remaining -= high[top];
  }
  const low = new Float64Array(65536);
  for (let i = 0; i < bits.length; i++) if (bits[i] >>> 16 === top) low[bits[i] & 0xffff]++;
  let bottom = 65535;
  for (; bottom >= 0; bottom--) {
    if (remaining <= low[bottom]) break;
    remaining -= low[bottom];
  }
  const pattern = new Uint32Array([((top << 16) | bottom) >>> 0]);
  return new Float32Array(pattern.buffer)[0];
}
