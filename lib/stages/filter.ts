/**
 * Stage **filter**: flag tokens by score and write what a model trains on, a token shard and
 * its loss-mask side file. Two ways in: {@link runFilter} runs one task of the per-shard stage
 * over score side files ({@link filterShards}: task I/N, records, manifest, resume);
 * {@link filterToShard} filters one in-memory stream (the demo's and the experiment's training
 * stream, whose scores are already in memory) and writes the pair.
 * @module
 */
import { dirname } from 'node:path';
import { makeFolder } from '../data/output_path.js';
import { writeShard } from '../data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../data/side_file.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { TokenfilterError } from '../errors.js';
import { filterShards, type FilterShardsOptions, type FilterShardsResult } from '../filter/filter_shards.js';
import { filterTokens, type FilterMode, type FilterOptions, type FilterResult } from '../filter/filter_tokens.js';
import type { TokenScores } from '../filter/threshold.js';
import { withDefaults } from './option_keys.js';

/** Defaults of the filter stage: the only place its numbers are written. */
export const FILTER_STAGE_DEFAULTS = Object.freeze({
  /** This task of the per-shard stage (0 of 1: every shard). */
  task: Object.freeze({ index: 0, count: 1 }) as { index: number; count: number },
});

/** The threshold for scores that are 0 or 1 (gold or domain labels, flipped flags): not a default of a classifier's scores. */
export const BINARY_SCORE_THRESHOLD = 0.5;

const MODES: readonly FilterMode[] = ['document', 'mask', 'remove'];

/** How tokens are flagged: exactly one of a score threshold and a target flagged fraction. */
export interface FlagRule {
  threshold?: number;
  fraction?: number;
}

function checkRule(mode: FilterMode, rule: FlagRule): void {
  if (!MODES.includes(mode)) throw new TokenfilterError('E_OPTION', `stage filter: unknown mode '${String(mode)}' (document, mask, remove)`);
  if ((rule.threshold === undefined) === (rule.fraction === undefined)) throw new TokenfilterError('E_OPTION', 'stage filter: give exactly one of threshold and fraction');
  if (rule.threshold !== undefined && !(rule.threshold >= 0 && rule.threshold <= 1)) throw new TokenfilterError('E_OPTION', `stage filter: threshold must lie in [0, 1], got ${rule.threshold}`);
  if (rule.fraction !== undefined && !(rule.fraction >= 0 && rule.fraction <= 1)) throw new TokenfilterError('E_OPTION', `stage filter: fraction must lie in [0, 1], got ${rule.fraction}`);
}

/**
 * Applies defaults and checks the per-shard options once.
 * @throws TokenfilterError E_OPTION for an unknown key (naming the nearest valid one), an unknown
 *   mode, or not exactly one of threshold and fraction.
 */
export function resolveFilter(options: FilterShardsOptions): FilterShardsOptions & typeof FILTER_STAGE_DEFAULTS {
  const o = withDefaults('filter', FILTER_STAGE_DEFAULTS, options, ['shards', 'out', 'mode', 'threshold', 'fraction', 'scoresDir', 'expectTokenizer', 'onProgress', 'signal']);
  checkRule(o.mode, o);
  return o;
}

/** Runs one task of the per-shard filter stage. */
export async function runFilter(options: FilterShardsOptions): Promise<FilterShardsResult> {
  return filterShards(resolveFilter(options));
}

/** One in-memory stream to filter into a shard; see {@link filterToShard}. */
export interface FilterJob {
  mode: FilterMode;
  rule: FlagRule;
  tokens: Uint32Array;
  scores: TokenScores;
  tokenizer: Tokenizer;
  /** Gold labels of the stream, for per-label statistics (label names by value, and the forget label). */
  labels?: { values: Uint8Array; names: readonly string[]; forget: number };
  /** Where the filtered shard goes; its loss-mask side file is written beside it. */
  shard: string;
  /** Further options of {@link filterTokens} (e.g. per-document scores for document filtering). */
  options?: Partial<FilterOptions>;
}

/** Filters the stream and writes the shard and its loss mask; returns the filter's result. */
export async function filterToShard(job: FilterJob): Promise<FilterResult> {
  checkRule(job.mode, job.rule);
  const filtered = filterTokens(job.tokens, job.scores, {
    ...job.options, mode: job.mode, ...job.rule, eotId: job.tokenizer.eotId, hiddenId: job.tokenizer.hiddenId,
    ...(job.labels ? { labels: job.labels.values, labelNames: [...job.labels.names], forgetLabel: job.labels.forget } : {}),
  });
  await makeFolder(dirname(job.shard));
  await writeShard(job.shard, filtered.tokens, { tokenizer: job.tokenizer });
  await writeSideFile(sideFilePathFor(job.shard, SideFileKind.LossMask), filtered.lossMask, { kind: SideFileKind.LossMask, tokenizer: job.tokenizer });
  return filtered;
}
