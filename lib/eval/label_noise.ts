/**
 * Label noise for robustness experiments: flip a filter's per-token decisions at a given rate,
 * to measure how the filter's effect falls as its labels get worse (the paper flips labels at
 * rates 0..1 and finds the compute slowdown falls as a power law in the error rate).
 * @module
 */
import { UNLABELLED } from '../data/domains.js';
import { hashUnit } from '../data/random.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/**
 * Thresholds `scores` into flags (score ≥ threshold) and flips each token's flag independently
 * with probability `rate` (symmetric noise: forget tokens become retain and retain tokens become
 * forget alike). Returns 0/1 scores, ready for `filterTokens` with threshold 0.5. The flips are
 * a pure function of (`seed`, position), so a run is reproducible.
 * @throws RangeError for a rate outside [0, 1], a threshold outside [0, 1] or a bad seed.
 */
export function flipFlags(scores: Float32Array, threshold: number, rate: number, seed: number): Float32Array {
  if (!(scores instanceof Float32Array)) throw new CodedTypeError('scores must be a Float32Array');
  if (!(threshold >= 0 && threshold <= 1)) throw new CodedRangeError(`threshold must lie in [0, 1], got ${threshold}`);
  if (!(rate >= 0 && rate <= 1)) throw new CodedRangeError(`rate must lie in [0, 1], got ${rate}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new CodedRangeError(`seed must be a non-negative safe integer, got ${seed}`);
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const flag = scores[i] >= threshold;
    out[i] = flag !== hashUnit(seed, i) < rate ? 1 : 0;
  }
  return out;
}

/** Share of positions where `flags ≥ 0.5` disagrees with `truth === positive`, over labelled positions (truth ≠ {@link UNLABELLED}). */
export function flagErrorRate(flags: Float32Array, truth: Uint8Array, positive: number): number {
  if (flags.length !== truth.length) throw new CodedRangeError(`flags (${flags.length}) and truth (${truth.length}) differ in length`);
  let wrong = 0;
  let counted = 0;
  for (let i = 0; i < flags.length; i++) {
    if (truth[i] === UNLABELLED) continue;
    counted++;
    if (flags[i] >= 0.5 !== (truth[i] === positive)) wrong++;
  }
  return counted === 0 ? 0 : wrong / counted;
}
