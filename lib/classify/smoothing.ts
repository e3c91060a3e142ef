/**
 * Neighbourhood smoothing of per-token probabilities: the score of token t becomes the sigmoid of
 * the mean logit over tokens t − r … t + r of the same document (clipped at its ends).
 *
 * Domain text comes in runs (a paragraph, a section), while a linear probe decides each token
 * alone, so function words and ambiguous terms inside a medical paragraph score low and stray
 * terms elsewhere score high. Averaging logits over a small window lets the neighbours vote; the
 * radius is chosen on validation data with the probe (radius 0 leaves scores unchanged). On
 * ../shared/data's spliced set it lifts token F1 by several points (docs/classifier.md).
 * @module
 */

const EPS = 1e-7;

/** The logit of a probability clamped to [1e-7, 1 − 1e-7]. */
function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

/**
 * Smoothed probabilities of one document (a new array; `probabilities` is left unchanged).
 * @throws RangeError for a radius that is not a non-negative integer.
 */
export function smoothScores(probabilities: Float32Array, radius: number): Float32Array {
  if (!Number.isInteger(radius) || radius < 0) throw new RangeError(`smoothing radius must be a non-negative integer, got ${radius}`);
  const n = probabilities.length;
  if (radius === 0) return Float32Array.from(probabilities);
  // prefix[i] = sum of the first i logits, in float64 so long documents lose nothing
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + logit(probabilities[i]);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - radius);
    const b = Math.min(n, i + radius + 1);
    out[i] = 1 / (1 + Math.exp(-(prefix[b] - prefix[a]) / (b - a)));
  }
  return out;
}
