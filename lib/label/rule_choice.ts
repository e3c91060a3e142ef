/**
 * Choosing the labelling rule (z and minLatents, see {@link labelTokensWithEot}) on a labelled
 * sample: every candidate pair labels the sample's codes of the selected latents, and the pair
 * whose labels agree best with the sample's own labels (F1 on the forget class) wins. The SAE
 * labeller selects its latents on the same sample ({@link fitSaeLabeller}), so the rule is
 * fitted where the latents were: a weaker labeller LM, whose chosen latents fire less sharply,
 * gets a lower bar instead of a rule that labels (almost) nothing, which a fixed z and
 * minLatents give it without a word.
 * @module
 */
import { binaryMetrics } from '../classify/metrics.js';
import { CodedRangeError } from '../errors.js';
import { labelTokensWithEot } from './label_tokens.js';

/** The candidate rules: every z with every minLatents. */
export interface RuleCandidates {
  z: readonly number[];
  minLatents: readonly number[];
}

/** One candidate rule and how its labels agree with the sample's labels. */
export interface RuleScore {
  z: number;
  minLatents: number;
  precision: number;
  recall: number;
  f1: number;
  /** Share of the sample's labelled tokens the rule labels. */
  flaggedFraction: number;
}

/** What {@link chooseRule} returns: the best rule and every candidate's score, in candidate order. */
export interface RuleChoice {
  best: RuleScore;
  candidates: RuleScore[];
}

/** The sample the rule is chosen on: codes of the S selected latents [tokens × S], token ids, labels (1 forget, 0 retain, others ignored). */
export interface RuleSample {
  codes: Float32Array;
  tokens: Uint32Array;
  labels: Uint8Array;
  eotId: number;
  mean: Float32Array;
  std: Float32Array;
}

/**
 * Labels the sample with every candidate rule and keeps the best by F1 against its labels
 * (ties: the earlier candidate, z first). A minLatents above the number of selected latents is
 * skipped (the rule would cap it and repeat another candidate).
 * @throws RangeError for an empty candidate list, a non-finite z, a minLatents that is not a
 *   positive integer, or no candidate left; as {@link labelTokensWithEot}.
 */
export function chooseRule(sample: RuleSample, candidates: RuleCandidates): RuleChoice {
  const S = sample.mean.length;
  if (candidates.z.length === 0 || candidates.minLatents.length === 0) throw new CodedRangeError('rule candidates need at least one z and one minLatents');
  for (const z of candidates.z) if (!Number.isFinite(z)) throw new CodedRangeError(`rule candidate z must be finite, got ${z}`);
  for (const m of candidates.minLatents) if (!Number.isInteger(m) || m < 1) throw new CodedRangeError(`rule candidate minLatents must be a positive integer, got ${m}`);
  const scores: RuleScore[] = [];
  for (const z of candidates.z)
    for (const minLatents of candidates.minLatents) {
      if (minLatents > S) continue;
      const labels = labelTokensWithEot(sample.codes, sample.tokens, sample.eotId, { tokens: sample.tokens.length, latents: S, mean: sample.mean, std: sample.std, z, minLatents });
      const m = binaryMetrics(labels, sample.labels, 1);
      scores.push({ z, minLatents, precision: m.precision, recall: m.recall, f1: m.f1, flaggedFraction: m.flaggedFraction });
    }
  if (scores.length === 0) throw new CodedRangeError(`every rule candidate's minLatents exceeds the ${S} selected latents`);
  const best = scores.reduce((a, b) => (b.f1 > a.f1 ? b : a));
  return { best, candidates: scores };
}
