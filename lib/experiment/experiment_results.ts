/**
 * The experiment's record, `results.json`: the shape of every trained run and slowdown, and its
 * reading (older snake_case records still resume), writing (atomic) and opening for a new sitting.
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../data/atomic_file.js';
import type { PowerLawFit } from '../eval/scaling.js';
import type { FilterMode, FilterStats } from '../filter/filter_tokens.js';
import { backendInfo, type BackendInfo } from '../native.js';
import type { DomainCorpus } from './domain_corpus.js';
import type { FilteringExperimentOptions, ResolvedOptions } from './experiment_options.js';
import type { MixedCorpus } from './mixed_corpus.js';
import type { ModelSize } from './model_size.js';
import type { StreamBuild } from './stream_builds.js';
import type { ComputeMatch } from './training_schedule.js';

/** One trained model in `results.json`. */
export interface ExperimentRun {
  id: string;
  /** 'ladder' (compute-optimal series), 'sweep' (flagged-fraction sweep at one size), 'noise' (moved flags) or 'delay' (filtering from a share of training on). */
  series: 'ladder' | 'sweep' | 'noise' | 'delay';
  mode: 'baseline' | FilterMode;
  size: ModelSize;
  seed: number;
  params: number;
  nonEmbeddingParams: number;
  /** Threshold or target fraction the filter was run with, the flip rate of noise runs, the share of training before filtering starts. */
  filter: { threshold?: number; fraction?: number; noise?: number; delay?: number } | null;
  /** What the run was matched to the baseline on (absent in results from before matching existed: steps). */
  match?: ComputeMatch;
  /** Share of labelled training tokens whose flag disagrees with their document's domain. */
  flagErrorRate: number | null;
  /** Share of training tokens no longer learned from, and the filter's statistics. */
  flaggedFraction: number;
  filterStats: FilterStats | null;
  steps: number;
  trainTokens: number;
  trainSupervisedTokens: number;
  trainFlops: number;
  finalTrainLoss: number;
  /** Held-out loss per domain (nats per token) and its 95% bootstrap interval. */
  loss: Record<string, number>;
  ci95: Record<string, [number, number]>;
  /** Wall-clock seconds of the run (filtering, training over every resumed segment, evaluation) and of its training alone. */
  seconds: number;
  trainSeconds: number;
  modelPath: string;
}

/** A filtered run's slowdown on one domain (the forget domain, a retain domain, or a part of the held-out mixed documents). */
export interface SlowdownRecord {
  id: string;
  /** Held-out loss the slowdown is read on (absent in older results: medical). */
  domain?: string;
  mode: FilterMode;
  nonEmbeddingParams: number;
  compute: number;
  loss: number;
  slowdown: number | null;
  baselineCompute: number | null;
  extrapolation: number | null;
  /** Why no slowdown was read (e.g. too far outside the fitted range). */
  note?: string;
}

/** A token classifier's precision, recall and F1 on one kind of validation text (paragraph or sentence mixes), at its threshold. */
export interface ValidationF1 {
  name: string;
  precision: number;
  recall: number;
  f1: number;
}

/** Everything the experiment measured (`results.json`). */
export interface FilteringExperimentResults {
  version: 1;
  updated: string;
  backend: BackendInfo;
  options: Omit<FilteringExperimentOptions, 'onLog' | 'signal'>;
  corpus: DomainCorpus | MixedCorpus | null;
  /** The token classifier behind the scores, with its metrics on each kind of validation text at its own threshold (absent in older results); null for domain labels. */
  classifier: { path: string; threshold: number; layer: number; validation?: ValidationF1[] } | null;
  threshold: number | null;
  runs: Record<string, ExperimentRun>;
  /** Baseline fits of held-out loss against training FLOPs, per domain (seed means). */
  fits: Record<string, PowerLawFit> | null;
  slowdowns: SlowdownRecord[];
  /** Every build of the training stream, oldest first, with why it was built and what it set aside (absent in results from before it was recorded). */
  streamBuilds?: StreamBuild[];
  /** Extra stages (attacks, multiple choice, …) store their records here by name. */
  extra: Record<string, unknown>;
}

/** Reads `results.json` of an experiment folder, or null when there is none. */
export async function readExperimentResults(out: string): Promise<FilteringExperimentResults | null> {
  const path = join(out, 'results.json');
  if (!existsSync(path)) return null;
  return camelRecords(JSON.parse(await readFile(path, 'utf8')) as FilteringExperimentResults);
}

/**
 * results.json files written while run and slowdown records had snake_case keys
 * (`flagged_fraction`, `model_path`, …) still resume: those records' keys are read as camelCase.
 */
function camelRecords(results: FilteringExperimentResults): FilteringExperimentResults {
  const camel = <T>(record: T): T =>
    record !== null && typeof record === 'object' && !Array.isArray(record)
      ? (Object.fromEntries(Object.entries(record).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), v])) as T)
      : record;
  results.runs = Object.fromEntries(Object.entries(results.runs ?? {}).map(([id, run]) => [id, camel(run)]));
  results.slowdowns = (results.slowdowns ?? []).map(camel);
  if (results.extra?.rmu) results.extra.rmu = camel(results.extra.rmu);
  return results;
}

/** Writes `results.json` atomically. */
export async function writeExperimentResults(out: string, results: FilteringExperimentResults): Promise<void> {
  results.updated = new Date().toISOString();
  const path = join(out, 'results.json');
  await writeFileAtomic(path, JSON.stringify(results, null, 2) + '\n');
}

/** The results so far (`results.json`), or a new record, with the current options and backend. */
export async function openResults(o: ResolvedOptions): Promise<FilteringExperimentResults> {
  const { onLog: _l, signal: _s, ...recorded } = o;
  const results: FilteringExperimentResults = (await readExperimentResults(o.out)) ?? {
    version: 1, updated: '', backend: backendInfo(), options: recorded, corpus: null, classifier: null,
    threshold: null, runs: {}, fits: null, slowdowns: [], extra: {},
  };
  results.options = recorded;
  results.backend = backendInfo();
  return results;
}
