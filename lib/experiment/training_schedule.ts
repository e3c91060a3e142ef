/**
 * How long a filtered model trains, and on what, in the filtering experiment.
 *
 * - Compute matching by supervised tokens (the paper's released code): a filtered model trains
 *   until it has learned from as many unmasked targets as the baseline, so masking and removal
 *   take more steps (and more FLOPs) than the baseline. {@link stepsForSupervisedTokens} counts
 *   them ahead of training on the very batches training will see (the sampler is seeded), so the
 *   cosine schedule knows its length and the count lands within one batch of the target.
 * - Delayed filtering (the paper's `begin_filter_step`): the first steps read the unfiltered
 *   stream, the rest the filtered one ({@link delayedBatches}).
 * @module
 */
import type { Batch } from '../data/batch.js';
import { TokenfilterError } from '../errors.js';

/** What a filtered run is matched on: the baseline's supervised tokens, or its steps (the same compute). */
export type ComputeMatch = 'supervised' | 'steps';

/** Supervised targets (loss mask 1) of a batch. */
export function supervisedIn(batch: Batch): number {
  let n = 0;
  for (const m of batch.lossMask) if (m !== 0) n++;
  return n;
}

/**
 * The fewest steps of `batches` (one batch per step, taken in order) whose loss masks together
 * hold at least `target` supervised targets; the count then exceeds `target` by less than one
 * batch. `batches` must yield what training will see (a fresh sampler with the same seed).
 * @throws TokenfilterError E_OPTION for a target that is not a positive number, or when
 *   `maxSteps` batches (or the whole iterable) hold fewer than `target` (e.g. everything masked).
 */
export function stepsForSupervisedTokens(batches: Iterable<Batch>, target: number, maxSteps: number): number {
  if (!(Number.isFinite(target) && target > 0)) throw new TokenfilterError('E_OPTION', `target must be a positive number of tokens, got ${target}`);
  if (!(Number.isInteger(maxSteps) && maxSteps > 0)) throw new TokenfilterError('E_OPTION', `maxSteps must be a positive integer, got ${maxSteps}`);
  let supervised = 0;
  let steps = 0;
  for (const batch of batches) {
    supervised += supervisedIn(batch);
    steps++;
    if (supervised >= target) return steps;
    if (steps >= maxSteps) break;
  }
  throw new TokenfilterError(
    'E_OPTION',
    `${steps} batches hold only ${supervised} supervised targets, short of the ${target} to match (is nearly everything filtered?)`,
  );
}

/**
 * The first `switchAt` batches of `before` (the unfiltered stream), then the batches of `after`
 * (the filtered stream) from its start. Deterministic when both are, so training resumes on the
 * same sequence.
 * @throws TokenfilterError E_OPTION for a negative or fractional `switchAt`.
 */
export function* delayedBatches(before: Iterable<Batch>, after: Iterable<Batch>, switchAt: number): Generator<Batch> {
  if (!(Number.isInteger(switchAt) && switchAt >= 0)) throw new TokenfilterError('E_OPTION', `switchAt must be a non-negative integer, got ${switchAt}`);
  let n = 0;
  if (switchAt > 0) {
    for (const batch of before) {
      yield batch;
      if (++n >= switchAt) break;
    }
  }
  yield* after;
}
