/**
 * Stage **score**: every token of every shard scored by a token classifier, one task of the
 * per-shard stage ({@link scoreShards}: task I/N, a score side file and a record per shard, a
 * manifest, resume).
 * @module
 */
import { scoreShards, type ScoreShardsOptions, type ScoreShardsResult } from '../classify/score_shards.js';
import { withDefaults } from './option_keys.js';

/** Defaults of the score stage: the only place its numbers are written. */
export const SCORE_STAGE_DEFAULTS = Object.freeze({
  /** This task (0 of 1: every shard). */
  task: Object.freeze({ index: 0, count: 1 }) as { index: number; count: number },
});

/**
 * Applies defaults and checks the option names once.
 * @throws TokenfilterError E_OPTION for an unknown key (naming the nearest valid one).
 */
export function resolveScore(options: ScoreShardsOptions): ScoreShardsOptions & typeof SCORE_STAGE_DEFAULTS {
  return withDefaults('score', SCORE_STAGE_DEFAULTS, options, ['shards', 'classifier', 'out', 'documentsPerCall', 'device', 'onProgress', 'signal']);
}

/** Scores one task's shards. */
export async function runScore(options: ScoreShardsOptions): Promise<ScoreShardsResult> {
  return scoreShards(resolveScore(options));
}
