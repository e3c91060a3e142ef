/**
 * Character spans → per-token labels, for gold labels such as the spliced set's
 * `[start, end, domain]` paragraphs or the default corpus's sentence spans.
 * @module
 */
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** A labelled character range `[start, end, label]`, UTF-16 code units, end exclusive. */
export type CharSpan = readonly [start: number, end: number, label: string | number];

/** How much of a token must lie inside the spans for the token to be labelled. */
export type OverlapRule = 'majority' | 'any';

/** Options of {@link spanLabelsToTokenLabels}. */
export interface SpanLabelOptions {
  /** The span label that counts as positive (compared with ===). */
  label: string | number;
  /**
   * - `'majority'` (default): a token is labelled 1 when strictly more than half of its code
   *   units lie inside spans of `label` (the union of those spans, so overlapping spans count
   *   once). A token exactly half inside is 0.
   * - `'any'`: labelled 1 when at least one of its code units lies inside such a span.
   *
   * Under both rules a zero-width token at position p (start = end = p, as a special token or a
   * byte inside a multi-unit character may have) is labelled 1 when some span of `label` has
   * start ≤ p < end.
   */
  rule?: OverlapRule;
}

/** Sorted, merged [start, end) intervals of the spans with `label`. */
function unionOf(spans: readonly CharSpan[], label: string | number): number[] {
  const picked: [number, number][] = [];
  spans.forEach((span, i) => {
    if (!Array.isArray(span) || span.length < 3) throw new CodedTypeError(`spans[${i}] must be [start, end, label]`);
    const [start, end] = span;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start)
      throw new CodedRangeError(`spans[${i}] = [${start}, ${end}] must satisfy 0 <= start <= end (integers)`);
    if (span[2] === label && end > start) picked.push([start, end]);
  });
  picked.sort((a, b) => a[0] - b[0]);
  const merged: number[] = [];
  for (const [s, e] of picked) {
    const n = merged.length;
    if (n > 0 && s <= merged[n - 1]) merged[n - 1] = Math.max(merged[n - 1], e);
    else merged.push(s, e);
  }
  return merged;
}

/**
 * Labels each token 1 or 0 from character spans.
 * @param offsets Token offsets as the tokenizer's `encodeWithOffsets` returns them: 2 per token,
 *   `[start, end)` in UTF-16 code units.
 * @param spans Character spans `[start, end, label]`, end exclusive; any order, may overlap.
 * @throws TypeError / RangeError for an odd offsets length, a token with end < start, or a
 *   malformed span.
 */
export function spanLabelsToTokenLabels(
  offsets: ArrayLike<number>,
  spans: readonly CharSpan[],
  options: SpanLabelOptions,
): Uint8Array {
  if (offsets.length % 2 !== 0) throw new CodedRangeError(`offsets must hold 2 values per token, got length ${offsets.length}`);
  const rule = options.rule ?? 'majority';
  if (rule !== 'majority' && rule !== 'any') throw new CodedRangeError(`rule must be 'majority' or 'any', got '${rule}'`);
  const merged = unionOf(spans, options.label);
  const intervals = merged.length / 2;
  const tokens = offsets.length / 2;
  const labels = new Uint8Array(tokens);
  for (let t = 0; t < tokens; t++) {
    const a = offsets[2 * t];
    const b = offsets[2 * t + 1];
    if (!(b >= a)) throw new CodedRangeError(`token ${t} has offsets [${a}, ${b}) with end < start`);
    // first interval whose end is past a
    let lo = 0;
    let hi = intervals;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (merged[2 * mid + 1] <= a) lo = mid + 1;
      else hi = mid;
    }
    if (a === b) {
      labels[t] = lo < intervals && merged[2 * lo] <= a ? 1 : 0;
      continue;
    }
    let covered = 0;
    for (let k = lo; k < intervals && merged[2 * k] < b; k++)
      covered += Math.min(b, merged[2 * k + 1]) - Math.max(a, merged[2 * k]);
    labels[t] = rule === 'any' ? (covered > 0 ? 1 : 0) : 2 * covered > b - a ? 1 : 0;
  }
  return labels;
}
