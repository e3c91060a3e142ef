/**
 * Labels or scores under one tokenizer → the tokens of another, through the characters of the
 * text. The paper labels with one model's tokenizer (Gemma's) and trains with its own; a team
 * labels with a big model in PyTorch and filters shards of its own tokenizer. Both tokenizers'
 * offsets point into the same text, so a value moves from tokenizer A to tokenizer B by way of
 * the characters each A-token covers:
 *
 *   A-token values ──(A offsets)──▶ a value per character ──(B offsets)──▶ B-token values
 *
 * A character takes the largest value of the A-tokens that cover it (byte-level tokenizers give
 * every byte-token of a multi-byte character the same span, so several may). Characters no
 * A-token covers (spaces some tokenizers leave out of offsets) carry no value.
 * @module
 */
import { TokenfilterError } from '../errors.js';

/** The unit of a tokenizer's offsets. */
export type OffsetUnit =
  /** UTF-16 code units: JavaScript strings, tokenfilter's own `encodeWithOffsets`. */
  | 'utf16'
  /** Unicode code points: Python `str` indices, Hugging Face `offset_mapping`. */
  | 'codepoint'
  /** UTF-8 bytes: byte-level offsets (tiktoken, SentencePiece byte offsets). */
  | 'utf8';

/**
 * How a B-token's value is formed from the characters it covers.
 * - `'any'`: labels: 1 when any covered character is flagged; scores: the largest value.
 * - `'majority'`: labels: 1 when strictly more than half of its characters that carry a value are
 *   flagged; scores: the mean over those characters.
 * A B-token none of whose characters carries a value (zero-width, or over uncovered text) takes
 * the value of the character at its start, or 0 when that carries none either.
 */
export type TransferRule = 'any' | 'majority';

/** Options of {@link transferLabels}. */
export interface TransferLabelsOptions {
  /** Unit of `sourceOffsets` (default 'utf16'). */
  sourceUnit?: OffsetUnit;
  /** Unit of `targetOffsets` (default 'utf16'). */
  targetUnit?: OffsetUnit;
  /** Default 'any': a B-token is flagged when any of its characters was. */
  rule?: TransferRule;
}

function optionError(message: string): TokenfilterError {
  return new TokenfilterError('E_OPTION', message);
}

/**
 * UTF-16 index of every index in `unit` from 0 to the text's length in that unit (inclusive), so
 * `map[i]` converts offset i. An offset inside a character (a UTF-8 continuation byte, the second
 * half of a surrogate pair never arises for code points) maps to that character's start.
 */
export function offsetMap(text: string, unit: OffsetUnit): Uint32Array {
  if (unit === 'utf16') return Uint32Array.from({ length: text.length + 1 }, (_, i) => i);
  const map: number[] = [];
  let u16 = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const width = unit === 'codepoint' ? 1 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < width; k++) map.push(u16);
    u16 += ch.length;
  }
  map.push(u16);
  return Uint32Array.from(map);
}

/** Offsets (2 per token) in `unit` → UTF-16 offsets; an end inside a character moves to its end. */
export function toUtf16Offsets(text: string, offsets: ArrayLike<number>, unit: OffsetUnit, what = 'offsets'): Uint32Array {
  if (offsets.length % 2 !== 0) throw optionError(`${what} must hold 2 values per token, got length ${offsets.length}`);
  const map = offsetMap(text, unit);
  const limit = map.length - 1;
  const out = new Uint32Array(offsets.length);
  for (let i = 0; i < offsets.length; i += 2) {
    const a = offsets[i];
    const b = offsets[i + 1];
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a || b > limit)
      throw optionError(`${what}: token ${i / 2} has [${a}, ${b}), not within [0, ${limit}] (${unit}) with start <= end`);
    out[i] = map[a];
    // an end inside a character (continuation byte) belongs to that character: round up
    let e = map[b];
    if (b < limit && b > a && map[b] === map[b - 1]) e = map[b] + (text.codePointAt(map[b])! > 0xffff ? 2 : 1);
    out[i + 1] = e;
  }
  return out;
}

/** A value per UTF-16 code unit: the largest value of the source tokens covering it, NaN if none. */
function characterValues(length: number, offsets: Uint32Array, values: ArrayLike<number>): Float64Array {
  const chars = new Float64Array(length).fill(Number.NaN);
  for (let t = 0; t < values.length; t++) {
    const v = values[t];
    if (!Number.isFinite(v)) throw optionError(`source value ${t} is ${v}, not a finite number`);
    for (let c = offsets[2 * t]; c < offsets[2 * t + 1]; c++) if (!(chars[c] >= v)) chars[c] = v;
  }
  return chars;
}

function tokenValue(chars: Float64Array, a: number, b: number, rule: TransferRule, binary: boolean): number {
  let n = 0;
  let sum = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let c = a; c < b; c++) {
    const v = chars[c];
    if (Number.isNaN(v)) continue;
    n++;
    sum += binary ? (v > 0 ? 1 : 0) : v;
    if (v > max) max = v;
  }
  if (n === 0) {
    const v = a < chars.length ? chars[a] : Number.NaN;
    return Number.isNaN(v) ? 0 : binary ? (v > 0 ? 1 : 0) : v;
  }
  if (rule === 'any') return binary ? (max > 0 ? 1 : 0) : max;
  return binary ? (2 * sum > n ? 1 : 0) : sum / n;
}

/**
 * Moves per-token labels (or scores) from tokenizer A's tokens to tokenizer B's over the same text.
 * @param text The text both tokenizations are of.
 * @param sourceOffsets A's offsets, 2 per token ([start, end) in `sourceUnit`).
 * @param sourceValues One value per A-token: a Uint8Array of 0/1 labels gives B labels (Uint8Array);
 *   any other array gives scores (Float32Array), formed by the rule.
 * @param targetOffsets B's offsets, 2 per token ([start, end) in `targetUnit`).
 * @throws TokenfilterError E_OPTION for offsets outside the text, start > end, a count mismatch,
 *   a non-finite value, or an unknown rule or unit.
 */
export function transferLabels(
  text: string,
  sourceOffsets: ArrayLike<number>,
  sourceValues: ArrayLike<number>,
  targetOffsets: ArrayLike<number>,
  options: TransferLabelsOptions = {},
): Uint8Array | Float32Array {
  const { sourceUnit = 'utf16', targetUnit = 'utf16', rule = 'any' } = options;
  for (const [name, unit] of [['sourceUnit', sourceUnit], ['targetUnit', targetUnit]] as const)
    if (unit !== 'utf16' && unit !== 'codepoint' && unit !== 'utf8')
      throw optionError(`${name} must be 'utf16', 'codepoint' or 'utf8', got '${String(unit)}'`);
  if (rule !== 'any' && rule !== 'majority') throw optionError(`rule must be 'any' or 'majority', got '${String(rule)}'`);
  if (typeof text !== 'string') throw optionError('text must be a string');
  if (sourceOffsets.length !== 2 * sourceValues.length)
    throw optionError(`sourceOffsets has ${sourceOffsets.length / 2} tokens but sourceValues has ${sourceValues.length}`);
  const binary = sourceValues instanceof Uint8Array;
  if (binary) for (let t = 0; t < sourceValues.length; t++) if (sourceValues[t] > 1) throw optionError(`source label ${t} is ${sourceValues[t]}, not 0 or 1`);
  const source = toUtf16Offsets(text, sourceOffsets, sourceUnit, 'sourceOffsets');
  const target = toUtf16Offsets(text, targetOffsets, targetUnit, 'targetOffsets');
  const chars = characterValues(text.length, source, sourceValues);
  const tokens = target.length / 2;
  const out = binary ? new Uint8Array(tokens) : new Float32Array(tokens);
  for (let t = 0; t < tokens; t++) out[t] = tokenValue(chars, target[2 * t], target[2 * t + 1], rule, binary);
  return out;
}
