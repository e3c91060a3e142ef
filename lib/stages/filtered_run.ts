/**
 * The loop every filtering comparison runs once per model: filter the training stream (unless
 * the run is the baseline) → write the filtered shard and its loss mask → train a model on it →
 * held-out loss per domain → save. The demo's four runs and every run of the filtering
 * experiment are one call each; what differs between them (where files go, how many steps a
 * filtered run gets, checkpoints) is data in the job.
 * @module
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LabelledTokens } from '../eval/domain_loss.js';
import type { FilterMode, FilterResult } from '../filter/filter_tokens.js';
import type { TokenScores } from '../filter/threshold.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { runEvaluate, type DomainLossRows, type EvaluateStageOptions } from './evaluate.js';
import { filterToShard, type FilterJob, type FlagRule } from './filter.js';
import { runTrain, type TrainingStream, type TrainStageOptions, type TrainStageResult } from './train.js';

/** The unfiltered training stream of a comparison: its shard, tokens, scores and gold labels. */
export interface ScoredStream extends LabelledTokens {
  shard: string;
  scores: TokenScores;
  /** Names of the label values and the forget label, for per-label filter statistics. */
  labelNames: readonly string[];
  forgetLabel: number;
}

/** One model of a comparison. */
export interface FilteredRunJob {
  mode: 'baseline' | FilterMode;
  /** How the filter flags tokens (ignored for the baseline). */
  rule?: FlagRule;
  /** Scores to filter by instead of the stream's (e.g. flags with injected noise), and further filter options. */
  scores?: TokenScores;
  filterOptions?: FilterJob['options'];
  stream: ScoredStream;
  tokenizer: Tokenizer;
  /** Where the filtered shard goes, and whether it is deleted once the model is trained. */
  filteredShard: string;
  keepFiltered: boolean;
  /** Called once the filter has run, before training (e.g. to log its statistics). */
  onFiltered?: (filtered: FilterResult) => void;
  /** Training options except the stream, the tokenizer and the steps. */
  train: Omit<TrainStageOptions, 'stream' | 'tokenizer' | 'steps'>;
  /** The training stream made of the shard the run trains on (default: that shard alone). */
  trainStream?: (shard: string) => TrainingStream;
  /** Optimizer steps, from the filter's flagged fraction (0 for the baseline) and the shard trained on. */
  steps: (flaggedFraction: number, shard: string) => number;
  /** Held-out evaluations; the rows of several are merged (their label names must differ). */
  evaluate: EvaluateStageOptions | readonly EvaluateStageOptions[];
}

/** What one run produced. */
export interface FilteredRunResult extends TrainStageResult, DomainLossRows {
  /** The filter's result (null for the baseline). */
  filtered: FilterResult | null;
  steps: number;
}

/** Runs one model of a comparison; see the module comment. */
export async function runFilteredModel(job: FilteredRunJob): Promise<FilteredRunResult> {
  let shard = job.stream.shard;
  let filtered: FilterResult | null = null;
  if (job.mode !== 'baseline') {
    const { stream } = job;
    filtered = await filterToShard({
      mode: job.mode, rule: job.rule ?? {}, tokens: stream.tokens, scores: job.scores ?? stream.scores, tokenizer: job.tokenizer,
      labels: { values: stream.labels, names: stream.labelNames, forget: stream.forgetLabel }, shard: job.filteredShard, options: job.filterOptions,
    });
    shard = job.filteredShard;
    job.onFiltered?.(filtered);
  }
  const steps = job.steps(filtered ? filtered.stats.flaggedFraction : 0, shard);
  const stream = job.trainStream ? job.trainStream(shard) : { shards: [shard] };
  const trained = await runTrain({ ...job.train, stream, tokenizer: job.tokenizer, steps });
  const rows: DomainLossRows = { loss: {}, ci95: {} };
  for (const evaluation of Array.isArray(job.evaluate) ? job.evaluate : [job.evaluate]) {
    const r = await runEvaluate(trained.model, evaluation);
    Object.assign(rows.loss, r.loss);
    Object.assign(rows.ci95, r.ci95);
  }
  if (filtered && !job.keepFiltered) await rm(dirname(job.filteredShard), { recursive: true, force: true });
  return { ...trained, ...rows, filtered, steps };
}
