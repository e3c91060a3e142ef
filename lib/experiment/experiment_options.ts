/**
 * The experiment's options: what can be set, the defaults of every one (one frozen object), and
 * the resolver that applies them and checks every value and combination at the boundary.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CodedTypeError, CodedRangeError } from '../errors.js';
import type { FilterMode } from '../filter/filter_tokens.js';
import { withDefaults } from '../stages/option_keys.js';
import type { DocumentScorer } from './document_scores.js';
import type { ModelSize } from './model_size.js';
import type { ComputeMatch } from './training_schedule.js';

/** Options of runFilteringExperiment (filtering_experiment.ts); defaults in {@link EXPERIMENT_DEFAULTS}. */
export interface FilteringExperimentOptions {
  /** Data folder holding `corpus/<domain>.{train,val}.jsonl.gz`. */
  data: string;
  /** Output folder (results, shards, models, report). */
  out: string;
  /** Where forget scores come from; see the module comment. */
  labels?: 'classifier' | 'domain';
  /** Token classifier file (needed for `labels: 'classifier'`); its biLM's tokenizer is used throughout. */
  classifier?: string;
  /**
   * Training stream: `mixed` (default; web-like documents with medical sentences and paragraphs
   * set inside general and biology documents, mixed_corpus.ts) or `documents` (the corpus's own
   * single-domain documents, domain_corpus.ts).
   */
  stream?: 'documents' | 'mixed';
  /** Document filter scores: the document classifier beside the token classifier (default), or the mean of the token scores. */
  documentScores?: DocumentScorer;
  /** Filtered runs train until they have learned from as many supervised tokens as the baseline (default), or for the same steps. */
  match?: ComputeMatch;
  /** Training tokens are `tokensPerParameter` × non-embedding parameters (default) or × all parameters. */
  parameterBasis?: 'non-embedding' | 'total';
  /** Delayed filtering at the sweep size: filtering starts after these shares of the baseline's steps (the noise mode). */
  delayShares?: number[];
  /** Tokens of held-out mixed documents (mixed stream). */
  valMixedTokens?: number;
  /** Build the training stream for at least this many tokens (default 0: what the largest size needs), so invocations with smaller ladders share one stream. */
  minTrainTokens?: number;
  /** Tokenizer file for `labels: 'domain'` (default: train a BPE of `vocabSize` on the corpus). */
  tokenizer?: string;
  vocabSize?: number;
  /** The ladder, smallest first. */
  sizes?: ModelSize[];
  /** Training tokens per non-embedding parameter (compute-optimal: 20). */
  tokensPerParameter?: number;
  context?: number;
  /** Sequences per optimizer step. */
  batch?: number;
  lr?: number;
  /** Seeds per (size, mode). */
  seeds?: number[];
  /** Filtering modes trained at every size (besides the baseline). */
  modes?: FilterMode[];
  /** Probability threshold for the ladder (default: the classifier's max-F1 threshold; 0.5 for domain labels). */
  threshold?: number;
  /** Index into `sizes` of the Pareto sweep (-1: no sweep). */
  sweepSize?: number;
  /** Flagged fractions of the sweep. */
  sweepFractions?: number[];
  /** Label-noise runs at the sweep size: rates at which each token's flag is flipped before filtering. */
  noiseRates?: number[];
  /** Filtering mode of the label-noise runs. */
  noiseMode?: FilterMode;
  /** Attacks at the largest size: RMU on the baseline, adversarial fine-tuning of every filtered model and the RMU model. */
  attack?: boolean;
  /** Attack token budget as a fraction of the model's pretraining tokens. */
  attackBudget?: number;
  /** Constant learning rates swept by each attack (the fastest is kept). */
  attackLrs?: number[];
  /** RMU steps. */
  rmuSteps?: number;
  /** Multiple-choice questions (`{data}/eval/mcq.jsonl.gz` by default; skipped when absent). */
  mcq?: string;
  /** Questions per domain asked of every ladder model of the largest size (0: none). */
  mcqPerDomain?: number;
  /** Held-out tokens per domain. */
  valTokensPerDomain?: number;
  /** Steps between checkpoints of a training run. */
  checkpointEvery?: number;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

/** Defaults of {@link FilteringExperimentOptions}. */
export const EXPERIMENT_DEFAULTS = Object.freeze({
  labels: 'classifier' as 'classifier' | 'domain',
  stream: 'mixed' as 'documents' | 'mixed',
  documentScores: 'classifier' as DocumentScorer,
  match: 'supervised' as ComputeMatch,
  parameterBasis: 'non-embedding' as 'non-embedding' | 'total',
  delayShares: [0.4, 0.8],
  valMixedTokens: 150_000,
  minTrainTokens: 0,
  vocabSize: 2048,
  sizes: [
    { layers: 2, dModel: 64, heads: 2 },
    { layers: 2, dModel: 96, heads: 3 },
    { layers: 2, dModel: 128, heads: 4 },
    { layers: 3, dModel: 160, heads: 5 },
  ] as ModelSize[],
  tokensPerParameter: 20,
  context: 256,
  batch: 16,
  lr: 3e-3,
  seeds: [1],
  modes: ['document', 'mask', 'remove'] as FilterMode[],
  sweepSize: 1,
  sweepFractions: [0.5, 0.25, 0.125, 0.0625, 0.031],
  noiseRates: [0.05, 0.1, 0.2, 0.4],
  noiseMode: 'remove' as FilterMode,
  attack: true,
  attackBudget: 0.15,
  // 3e-3 won every attack of the first full run (docs/results.md): the grid goes a step above it
  attackLrs: [3e-4, 1e-3, 3e-3, 1e-2],
  rmuSteps: 1000,
  mcqPerDomain: 300,
  valTokensPerDomain: 100_000,
  checkpointEvery: 200,
});

/** The options with every default applied (what the stages of the experiment read). */
export type ResolvedOptions = Required<Omit<FilteringExperimentOptions, 'classifier' | 'tokenizer' | 'threshold' | 'mcq' | 'onLog' | 'signal'>> &
  Pick<FilteringExperimentOptions, 'classifier' | 'tokenizer' | 'threshold' | 'mcq' | 'onLog' | 'signal'>;

/** Applies the defaults and checks every option; throws a coded TypeError or RangeError naming the option. */
export function resolveOptions(options: FilteringExperimentOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  const o = withDefaults('experiment', EXPERIMENT_DEFAULTS, options, ['data', 'out', 'classifier', 'tokenizer', 'threshold', 'mcq', 'onLog', 'signal']) as ResolvedOptions;
  if (typeof o.data !== 'string' || !existsSync(join(o.data, 'corpus')))
    throw new CodedRangeError(`data must be a folder holding corpus/<domain>.{train,val}.jsonl.gz, got '${o.data}'`);
  if (typeof o.out !== 'string' || o.out === '') throw new CodedTypeError('out must be a folder path');
  if (o.labels !== 'classifier' && o.labels !== 'domain') throw new CodedRangeError(`labels must be 'classifier' or 'domain', got '${o.labels}'`);
  if (o.labels === 'classifier' && typeof o.classifier !== 'string') throw new CodedTypeError("labels 'classifier' needs a classifier path");
  if (!Array.isArray(o.sizes) || o.sizes.length === 0) throw new CodedRangeError('sizes must list at least one model size');
  const positive = (name: string, v: number, integer = true) => {
    if (!(Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v)))) throw new CodedRangeError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  };
  positive('tokensPerParameter', o.tokensPerParameter, false);
  positive('context', o.context);
  positive('batch', o.batch);
  positive('lr', o.lr, false);
  positive('valTokensPerDomain', o.valTokensPerDomain);
  positive('checkpointEvery', o.checkpointEvery);
  if (!(o.attackBudget > 0 && o.attackBudget <= 10)) throw new CodedRangeError(`attackBudget must lie in (0, 10], got ${o.attackBudget}`);
  if (!Array.isArray(o.attackLrs) || o.attackLrs.length === 0 || o.attackLrs.some((x) => !(x > 0))) throw new CodedRangeError('attackLrs must list positive learning rates');
  positive('rmuSteps', o.rmuSteps);
  if (!Number.isInteger(o.mcqPerDomain) || o.mcqPerDomain < 0) throw new CodedRangeError(`mcqPerDomain must be a non-negative integer, got ${o.mcqPerDomain}`);
  if (!Array.isArray(o.seeds) || o.seeds.length === 0 || o.seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new CodedRangeError('seeds must list non-negative integers');
  for (const m of o.modes) if (m !== 'document' && m !== 'mask' && m !== 'remove') throw new CodedRangeError(`unknown filtering mode '${m}'`);
  if (!Number.isInteger(o.sweepSize) || o.sweepSize < -1 || o.sweepSize >= o.sizes.length)
    throw new CodedRangeError(`sweepSize must be -1 or an index into sizes (0..${o.sizes.length - 1}), got ${o.sweepSize}`);
  for (const f of o.sweepFractions) if (!(f > 0 && f < 1)) throw new CodedRangeError(`sweep fractions must lie in (0, 1), got ${f}`);
  for (const r of o.noiseRates) if (!(r >= 0 && r <= 1)) throw new CodedRangeError(`noise rates must lie in [0, 1], got ${r}`);
  for (const d of o.delayShares) if (!(d > 0 && d < 1)) throw new CodedRangeError(`delay shares must lie in (0, 1), got ${d}`);
  if (o.stream !== 'documents' && o.stream !== 'mixed') throw new CodedRangeError(`stream must be 'documents' or 'mixed', got '${o.stream}'`);
  if (o.match !== 'supervised' && o.match !== 'steps') throw new CodedRangeError(`match must be 'supervised' or 'steps', got '${o.match}'`);
  if (o.documentScores !== 'classifier' && o.documentScores !== 'mean') throw new CodedRangeError(`documentScores must be 'classifier' or 'mean', got '${o.documentScores}'`);
  if (o.parameterBasis !== 'non-embedding' && o.parameterBasis !== 'total') throw new CodedRangeError(`parameterBasis must be 'non-embedding' or 'total', got '${o.parameterBasis}'`);
  positive('valMixedTokens', o.valMixedTokens);
  if (!(Number.isInteger(o.minTrainTokens) && o.minTrainTokens >= 0)) throw new CodedRangeError(`minTrainTokens must be a non-negative integer, got ${o.minTrainTokens}`);
  if (!['document', 'mask', 'remove'].includes(o.noiseMode)) throw new CodedRangeError(`unknown noiseMode '${o.noiseMode}'`);
  if (o.threshold !== undefined && !(o.threshold >= 0 && o.threshold <= 1)) throw new CodedRangeError(`threshold must lie in [0, 1], got ${o.threshold}`);
  return o;
}
