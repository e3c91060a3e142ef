/**
 * Neighbourhood smoothing of per-token probabilities: the score of token t becomes the sigmoid of
 * the mean logit over tokens t − r … t + r of the same line (the window is clipped at the
 * document's ends and never crosses a line break).
 *
 * Domain text comes in runs (a paragraph, a section), while a linear probe decides each token
 * alone, so function words and ambiguous terms inside a medical paragraph score low and stray
 * terms elsewhere score high. Averaging logits over a small window lets the neighbours vote. Line
 * breaks are where text most often changes subject (paragraphs, list items, headings), so a
 * window stops at them: a medical paragraph does not lend its score to the general one next to
 * it. The radius is chosen on validation data with the probe (radius 0 leaves scores unchanged);
 * on ../shared/data's spliced set it lifts token F1 by several points (docs/classifier.md).
 * @module
 */
import type { Tokenizer } from '../data/tokenizer.js';
import { CodedRangeError } from '../errors.js';

const EPS = 1e-7;

/** The logit of a probability clamped to [1e-7, 1 − 1e-7]. */
function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

const lineBreakTables = new WeakMap<object, Uint8Array>();

/**
 * For every id of `tokenizer`, 1 when its text holds a line break (`\n` or `\r`), else 0 (also
 * for ids the vocabulary leaves unused). Computed once per tokenizer object (it decodes every id)
 * and shared: do not modify the returned table.
 */
export function lineBreakIds(tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>): Uint8Array {
  const cached = lineBreakTables.get(tokenizer);
  if (cached) return cached;
  const table = new Uint8Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    let text: string;
    try {
      text = tokenizer.decode([id]);
    } catch {
      continue; // an id without a token
    }
    if (/[\n\r]/.test(text)) table[id] = 1;
  }
  lineBreakTables.set(tokenizer, table);
  return table;
}

/**
 * Smoothed probabilities of one document (a new array; `probabilities` is left unchanged).
 * `breaks`, when given, marks tokens that end a segment (e.g. from {@link lineBreakIds}): a
 * window never reaches past a marked token, nor back beyond the previous one.
 * @throws RangeError for a radius that is not a non-negative integer, or `breaks` of another length.
 */
export function smoothScores(probabilities: Float32Array, radius: number, breaks?: Uint8Array): Float32Array {
  if (!Number.isInteger(radius) || radius < 0) throw new CodedRangeError(`smoothing radius must be a non-negative integer, got ${radius}`);
  const n = probabilities.length;
  if (breaks && breaks.length !== n) throw new CodedRangeError(`breaks has ${breaks.length} entries for ${n} scores`);
  if (radius === 0) return Float32Array.from(probabilities);
  // prefix[i] = sum of the first i logits, in float64 so long documents lose nothing
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + logit(probabilities[i]);
  // segment bounds: [start[i], end[i]) is the segment holding token i
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  for (let i = 0, s = 0; i < n; i++) {
    start[i] = s;
    if (breaks?.[i]) s = i + 1;
  }
  for (let i = n - 1, e = n; i >= 0; i--) {
    if (breaks?.[i]) e = i + 1;
    end[i] = e;
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.max(start[i], i - radius);
    const b = Math.min(end[i], i + radius + 1);
    out[i] = 1 / (1 + Math.exp(-(prefix[b] - prefix[a]) / (b - a)));
  }
  return out;
}

/** `breaks` for {@link smoothScores}: 1 where `tokens[t]` is marked in `table` ({@link lineBreakIds}). */
export function breaksOf(tokens: Uint32Array, table: Uint8Array): Uint8Array {
  const out = new Uint8Array(tokens.length);
  for (let t = 0; t < tokens.length; t++) out[t] = table[tokens[t]] ?? 0;
  return out;
}
