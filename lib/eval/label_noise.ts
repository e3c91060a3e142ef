/**
 * Label noise for robustness experiments: flip a filter's per-token decisions at a given rate,
 * to measure how the filter's effect falls as its labels get worse (the paper flips labels at
 * rates 0..1 and finds the compute slowdown falls as a power law in the error rate).
 * @module
 */
import { UNLABELLED } from '../data/domains.js';
import { hashUnit } from '../data/random.js';
import { Random } from '../data/random.js';
import { CodedTypeError, CodedRangeError, TokenfilterError } from '../errors.js';

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

/**
 * Label noise at a fixed flagged fraction: thresholds `scores` into flags (score ≥ threshold),
 * then moves `k = round(rate × min(flagged, unflagged))` flags: k flagged positions lose their
 * flag and k unflagged positions gain one, each set chosen uniformly (seeded). The flagged count
 * is unchanged, so error rate and flagged share are no longer confounded; rate 1 moves every flag
 * it can (at a flagged share under one half: flags at random positions). Positions where
 * `eligible` is 0 (e.g. document separators) are neither flagged nor chosen. Returns 0/1 scores,
 * ready for `filterTokens` with threshold 0.5.
 * @throws TokenfilterError E_OPTION for a rate or threshold outside [0, 1], a bad seed, or an
 *   `eligible` mask of another length.
 */
export function flipFlagsAtFraction(scores: Float32Array, threshold: number, rate: number, seed: number, eligible?: Uint8Array): Float32Array {
  if (!(scores instanceof Float32Array)) throw new TokenfilterError('E_OPTION', 'scores must be a Float32Array');
  if (!(threshold >= 0 && threshold <= 1)) throw new TokenfilterError('E_OPTION', `threshold must lie in [0, 1], got ${threshold}`);
  if (!(rate >= 0 && rate <= 1)) throw new TokenfilterError('E_OPTION', `rate must lie in [0, 1], got ${rate}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new TokenfilterError('E_OPTION', `seed must be a non-negative safe integer, got ${seed}`);
  if (eligible !== undefined && (!(eligible instanceof Uint8Array) || eligible.length !== scores.length))
    throw new TokenfilterError('E_OPTION', `eligible must be a Uint8Array of one entry per score (${scores.length})`);
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (eligible && !eligible[i]) continue;
    (scores[i] >= threshold ? on : off).push(i);
  }
  const out = new Float32Array(scores.length);
  for (const i of on) out[i] = 1;
  const k = Math.round(rate * Math.min(on.length, off.length));
  const random = new Random(seed);
  const drop = random.choose(on.length, k);
  const add = random.choose(off.length, k);
  on.forEach((i, j) => { if (drop[j]) out[i] = 0; });
  off.forEach((i, j) => { if (add[j]) out[i] = 1; });
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
