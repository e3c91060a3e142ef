/**
 * The filtering experiment of the paper at CPU scale: on a data folder's domain corpus, train
 * an unfiltered baseline and filtered models (document filtering, token masking, token removal)
 * at several sizes with compute-optimal tokens, measure held-out loss per domain, fit the
 * baseline's loss against compute, and read each filtered model's relative compute slowdown;
 * then sweep the flagged fraction at one size (the Pareto picture).
 *
 * Work is written as it goes and skipped when done: `results.json` in the output folder holds
 * every finished run, each training run checkpoints, so an interrupted experiment (or one
 * continued in a later session with more sizes) picks up where it stopped.
 *
 * Scores: a token classifier's probabilities (`labels: 'classifier'`, the method), or the
 * documents' own domains (`labels: 'domain'`: every token of a forget-domain document is
 * flagged; an oracle at document level, useful as a reference and for tests).
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenClassifier } from '../classify/token_classifier.js';
import { scoreShards } from '../classify/score_shards.js';
import { writeFileAtomic } from '../data/atomic_file.js';
import { makeFolder } from '../data/output_path.js';
import { readShard } from '../data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor, sideFileScores } from '../data/side_file.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { LabelledTokens } from '../eval/domain_loss.js';
import { flagErrorRate, flipFlagsAtFraction } from '../eval/label_noise.js';
import { fitPowerLaw, relativeComputeSlowdown, type PowerLawFit } from '../eval/scaling.js';
import type { FilterMode, FilterStats } from '../filter/filter_tokens.js';
import { backendInfo, type BackendInfo } from '../native.js';
import { stripUndefined } from '../options.js';
import { BINARY_SCORE_THRESHOLD } from '../stages/filter.js';
import { runFilteredModel, type ScoredStream } from '../stages/filtered_run.js';
import { openStream, type TrainingStream } from '../stages/train.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import type { Batch } from '../data/batch.js';
import { filterTokens } from '../filter/filter_tokens.js';
import { withDefaults } from '../stages/option_keys.js';
import { corpusTokenizer, domainTrainTexts } from '../stages/tokenize.js';
import { runAttacks, type AttackRecord } from './attack_stage.js';
import { buildDomainCorpus, type DomainCorpus } from './domain_corpus.js';
import { buildMixedCorpus, type MixedCorpus } from './mixed_corpus.js';
import { documentClassifierPathFor, documentClassifierScores, type DocumentScorer } from './document_scores.js';
import { delayedBatches, stepsForSupervisedTokens, type ComputeMatch } from './training_schedule.js';
import { mcqForRun, sampleMcq, type McqSummary } from './mcq_stage.js';
import { DOMAINS, FORGET_LABEL, UNLABELLED } from '../data/domains.js';

/** One model size of the ladder. */
export interface ModelSize {
  layers: number;
  dModel: number;
  heads: number;
}

/** Options of {@link runFilteringExperiment}; defaults in {@link EXPERIMENT_DEFAULTS}. */
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
  attackLrs: [3e-4, 1e-3, 3e-3],
  rmuSteps: 1000,
  mcqPerDomain: 300,
  valTokensPerDomain: 100_000,
  checkpointEvery: 200,
});

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

/** Everything the experiment measured (`results.json`). */
export interface FilteringExperimentResults {
  version: 1;
  updated: string;
  backend: BackendInfo;
  options: Omit<FilteringExperimentOptions, 'onLog' | 'signal'>;
  corpus: DomainCorpus | MixedCorpus | null;
  classifier: { path: string; threshold: number; layer: number } | null;
  threshold: number | null;
  runs: Record<string, ExperimentRun>;
  /** Baseline fits of held-out loss against training FLOPs, per domain (seed means). */
  fits: Record<string, PowerLawFit> | null;
  slowdowns: SlowdownRecord[];
  /** Extra stages (attacks, multiple choice, …) store their records here by name. */
  extra: Record<string, unknown>;
}

/** A size's short name, e.g. `2x128`. */
export function sizeName(size: ModelSize): string {
  return `${size.layers}x${size.dModel}`;
}

/** Parses `2x128` or `2x128h4` (layers × width, optional heads; default heads = width / 32). */
export function parseModelSize(text: string): ModelSize {
  const m = /^(\d+)x(\d+)(?:h(\d+))?$/.exec(text.trim());
  if (!m) throw new CodedRangeError(`model size '${text}' is not LAYERSxWIDTH (e.g. 2x128) or LAYERSxWIDTHhHEADS`);
  const layers = Number(m[1]);
  const dModel = Number(m[2]);
  const heads = m[3] ? Number(m[3]) : Math.max(1, Math.round(dModel / 32));
  if (layers < 1 || dModel < 8 || heads < 1 || dModel % heads !== 0 || (dModel / heads) % 2 !== 0)
    throw new CodedRangeError(`model size '${text}': need layers ≥ 1, width ≥ 8 and an even head size (width / heads)`);
  return { layers, dModel, heads };
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

/** What every step of a running experiment shares. */
interface ExperimentContext {
  o: ResolvedOptions;
  results: FilteringExperimentResults;
  save: () => Promise<void>;
  log: (line: string) => void;
  tokenizer: Tokenizer;
  /** The ladder's flagging threshold. */
  threshold: number;
  /** The training stream every model of the experiment filters and trains on (a plain value). */
  train: ScoredStream;
  val: LabelledTokens;
  /** Held-out mixed documents, labelled 0 (retain) / 1 (medical) by gold span (mixed stream only). */
  valMixed: LabelledTokens | null;
  /** The document classifier's score of every training document (undefined: mean token scores). */
  documentScores: Float32Array | undefined;
  /** The share of training tokens every ladder mode flags (the token flags' share at the threshold). */
  ladderFraction: number;
  /** 1 where a token may carry a flag (not a document separator). */
  eligible: Uint8Array;
}

/** One model to train: its id, series, mode, size, seed and filter. */
interface RunSpec {
  id: string;
  series: ExperimentRun['series'];
  mode: 'baseline' | FilterMode;
  size: ModelSize;
  seed: number;
  filter: ExperimentRun['filter'];
}

/** Runs (or continues) the experiment; returns the results, also in `out/results.json`. */
export async function runFilteringExperiment(options: FilteringExperimentOptions): Promise<FilteringExperimentResults> {
  const o = resolveOptions(options);
  const log = options.onLog ?? (() => {});
  await makeFolder(o.out);
  const results = await openResults(o);
  const save = () => writeExperimentResults(o.out, results);
  const { tokenizer, classifier } = await experimentTokenizer(o, results);
  const threshold = o.threshold ?? classifier?.threshold ?? BINARY_SCORE_THRESHOLD;
  results.threshold = threshold;
  const streams = await experimentStreams(o, results, tokenizer, save, log);
  const scores = await forgetScores(o, classifier, streams.train.shard, streams.train.labels, log);
  const documentScores = classifier && o.documentScores === 'classifier'
    ? await documentClassifierScores({
      classifierPath: documentClassifierPathFor(o.classifier!), tokens: streams.train.tokens, eotId: tokenizer.eotId, tokenizerHash: tokenizer.hash,
      cachePath: join(o.out, 'scores', 'documents.json'), onLog: log, signal: o.signal,
    })
    : undefined;
  // every mode of the ladder flags the share the token classifier flags at the threshold
  const ladderFraction = filterTokens(streams.train.tokens, scores, { mode: 'mask', threshold, eotId: tokenizer.eotId }).stats.flaggedFraction;
  results.extra.ladder_fraction = ladderFraction;
  const eligible = Uint8Array.from(streams.train.labels, (l) => (l === UNLABELLED ? 0 : 1));
  const x: ExperimentContext = {
    o, results, save, log, tokenizer, threshold, train: { ...streams.train, scores }, val: streams.val, valMixed: streams.valMixed,
    documentScores, ladderFraction, eligible,
  };

  await runLadder(x);
  if (o.attack) await runAttackStage(x);
  if (o.sweepSize >= 0) await runSweepNoiseAndDelay(x);
  await runMcqStage(x);
  return results;
}

/** The results so far (`results.json`), or a new record, with the current options and backend. */
async function openResults(o: ResolvedOptions): Promise<FilteringExperimentResults> {
  const { onLog: _l, signal: _s, ...recorded } = o;
  const results: FilteringExperimentResults = (await readExperimentResults(o.out)) ?? {
    version: 1, updated: '', backend: backendInfo(), options: recorded, corpus: null, classifier: null,
    threshold: null, runs: {}, fits: null, slowdowns: [], extra: {},
  };
  results.options = recorded;
  results.backend = backendInfo();
  return results;
}

/** The classifier's tokenizer, or (domain labels) the given one, or one trained on the corpus (tokenize stage). */
async function experimentTokenizer(o: ResolvedOptions, results: FilteringExperimentResults): Promise<{ tokenizer: Tokenizer; classifier: TokenClassifier | null }> {
  if (o.labels === 'classifier') {
    const classifier = await TokenClassifier.load(o.classifier!);
    results.classifier = { path: o.classifier!, threshold: classifier.threshold, layer: classifier.layer };
    return { tokenizer: classifier.bilm.tokenizer, classifier };
  }
  const tokenizer = await corpusTokenizer({
    path: o.tokenizer ?? join(o.out, 'tokenizer.json'), texts: () => domainTrainTexts(o.data, DOMAINS, o.signal), vocabSize: o.vocabSize, signal: o.signal,
  });
  return { tokenizer, classifier: null };
}

/**
 * The training and held-out streams (`o.stream`: mixed or single-domain documents): enough
 * training tokens for the largest size, built once and reused; a folder keeps one stream kind.
 */
async function experimentStreams(o: ResolvedOptions, results: FilteringExperimentResults, tokenizer: Tokenizer, save: () => Promise<void>, log: (line: string) => void) {
  const maxTokens = Math.max(o.minTrainTokens, ...o.sizes.map((s) => trainTokensFor(s, o, tokenizer.vocabSize)));
  const dataDir = join(o.out, 'data');
  const built = results.corpus ? (results.corpus.stream ?? 'documents') : null;
  if (built !== null && built !== o.stream && Object.keys(results.runs).length > 0)
    throw new TokenfilterError('E_OPTION', `${o.out} holds runs on the ${built} stream; use another --out for --stream ${o.stream}`);
  if (!results.corpus || built !== o.stream || results.corpus.trainTokens < maxTokens || !existsSync(results.corpus.train)) {
    log(`corpus: building the ${o.stream} stream from ${o.data}/corpus into ${dataDir} (${(maxTokens / 1e6).toFixed(1)}M training tokens)`);
    await rm(join(dataDir, 'train.scores8.side'), { force: true });
    const corpusOptions = { data: o.data, out: dataDir, trainTokens: Math.ceil(maxTokens * 1.05), valTokensPerDomain: o.valTokensPerDomain, seed: o.seeds[0], signal: o.signal };
    results.corpus = o.stream === 'mixed'
      ? await buildMixedCorpus(tokenizer, { ...corpusOptions, valMixedTokens: o.valMixedTokens })
      : await buildDomainCorpus(tokenizer, corpusOptions);
    await save();
  }
  const corpus = results.corpus;
  const train = readLabelledShard(corpus.train);
  // held-out mixed documents: 0 = a retain-domain token, 1 = a medical token (by its gold span)
  const valMixed = 'valMixed' in corpus ? readLabelledShard(corpus.valMixed) : null;
  if (valMixed) valMixed.labels = Uint8Array.from(valMixed.labels, (l) => (l === UNLABELLED ? UNLABELLED : l === FORGET_LABEL ? 1 : 0));
  log(`corpus: ${corpus.trainTokens} training tokens (${fractionText(corpus.trainDomainFraction)}), ${corpus.valTokens} held-out${valMixed ? `, ${valMixed.tokens.length} held-out mixed` : ''}`);
  return {
    train: { ...train, shard: corpus.train, labelNames: DOMAINS, forgetLabel: FORGET_LABEL },
    val: readLabelledShard(corpus.val),
    valMixed,
  };
}

/** A shard's tokens and its label side file. */
function readLabelledShard(path: string): LabelledTokens {
  const shard = readShard(path);
  const tokens = Uint32Array.from(shard.tokens);
  const side = readSideFile(sideFilePathFor(path, SideFileKind.Labels), { expectKind: SideFileKind.Labels, expectTokens: tokens.length, shard: { path, tokenizer: shard.header.tokenizer } });
  return { tokens, labels: side.values as Uint8Array };
}

/**
 * The training stream of a run on `shard`: the shard alone, or (delayed filtering) the unfiltered
 * stream for the first `switchAt` batches and then the shard.
 */
function runStream(x: ExperimentContext, shard: string, switchAt: number): TrainingStream {
  if (switchAt === 0 || shard === x.train.shard) return { shards: [shard] };
  return {
    open: (settings) => {
      const before = openStream({ shards: [x.train.shard] }, settings);
      const after = openStream({ shards: [shard] }, settings);
      return { batches: delayedBatches(before.batches as Iterable<Batch>, after.batches as Iterable<Batch>, switchAt), close: () => { before.close(); after.close(); } };
    },
  };
}

/** The baseline's steps at a size: tokensPerParameter × parameters, in batches. */
function baselineSteps(x: ExperimentContext, size: ModelSize): number {
  return Math.max(1, Math.ceil(trainTokensFor(size, x.o, x.tokenizer.vocabSize) / (x.o.batch * x.o.context)));
}

/**
 * Steps of a run: the baseline's, or with `match: 'supervised'` for a filtered run, the fewest
 * steps of its own batches that hold the baseline's supervised tokens (within one batch).
 */
function runSteps(x: ExperimentContext, spec: RunSpec, stream: TrainingStream): number {
  const { o } = x;
  const baseSteps = baselineSteps(x, spec.size);
  if (spec.mode === 'baseline' || o.match === 'steps') return baseSteps;
  const scan = openStream(stream, { batch: o.batch, context: o.context, seed: spec.seed, expectTokenizer: x.tokenizer });
  try {
    return stepsForSupervisedTokens(scan.batches as Iterable<Batch>, baseSteps * o.batch * o.context, baseSteps * 100);
  } finally {
    scan.close();
  }
}

/** Trains one model (filter → train → evaluate → save, lib/stages/filtered_run.ts) unless it is done; records it. */
async function trainRun(x: ExperimentContext, spec: RunSpec): Promise<ExperimentRun> {
  const { o, results } = x;
  const { id, mode, size, seed, filter } = spec;
  if (results.runs[id]) return results.runs[id];
  const started = performance.now();
  const noisy = filter?.noise !== undefined ? flipFlagsAtFraction(x.train.scores as Float32Array, filter.threshold ?? x.threshold, filter.noise, seed, x.eligible) : null;
  const switchAt = Math.round((filter?.delay ?? 0) * baselineSteps(x, size));
  const modelDir = join(o.out, 'models');
  const r = await runFilteredModel({
    mode, rule: noisy ? { threshold: BINARY_SCORE_THRESHOLD } : stripUndefined({ threshold: filter?.threshold, fraction: filter?.fraction }), scores: noisy ?? undefined,
    filterOptions: mode === 'document' && !noisy && x.documentScores ? { documentScores: x.documentScores } : undefined,
    stream: x.train, tokenizer: x.tokenizer, filteredShard: join(o.out, 'filtered', id, 'train.bin'), keepFiltered: false,
    trainStream: (shard) => runStream(x, shard, switchAt),
    steps: (_flagged, shard) => runSteps(x, spec, runStream(x, shard, switchAt)),
    train: {
      name: `${id}:`, model: size, context: o.context, batch: o.batch, lr: o.lr, seed,
      checkpoint: join(modelDir, `${id}.checkpoint.safetensors`), checkpointEvery: o.checkpointEvery,
      save: { path: join(modelDir, `${id}.safetensors`), metadata: { experiment_run: id } }, logEvery: 100, onLog: x.log, signal: o.signal,
    },
    evaluate: [
      { heldOut: x.val, labelNames: DOMAINS, seed },
      ...(x.valMixed ? [{ heldOut: x.valMixed, labelNames: ['mixed_retain', 'mixed_medical'], seed }] : []),
    ],
  });
  const stats = r.filtered?.stats ?? null;
  const errorRate = r.filtered && mode !== 'document' ? flagErrorRate(Float32Array.from(r.filtered.lossMask, (m) => 1 - m), x.train.labels, FORGET_LABEL) : null;
  const { summary } = r;
  const run: ExperimentRun = {
    id, series: spec.series, mode, size, seed, params: r.params.total, nonEmbeddingParams: r.params.nonEmbedding, filter, match: o.match, flagErrorRate: errorRate,
    flaggedFraction: stats ? stats.flaggedFraction : 0,
    filterStats: stats, steps: summary.steps, trainTokens: summary.tokens, trainSupervisedTokens: summary.supervisedTokens,
    trainFlops: summary.flops, finalTrainLoss: summary.finalLoss, loss: r.loss, ci95: r.ci95,
    // a resumed run counts the training time of its earlier segments too (from the checkpoint)
    seconds: (performance.now() - started) / 1000 + summary.totalSeconds - summary.elapsedMs / 1000,
    trainSeconds: summary.totalSeconds, modelPath: join(modelDir, `${id}.safetensors`),
  };
  results.runs[id] = run;
  await x.save();
  x.log(`${id}: ${Object.entries(run.loss).map(([d, l]) => `${d} ${l.toFixed(4)}`).join(', ')} (${run.steps} steps, ${run.seconds.toFixed(0)} s)`);
  return run;
}

/** The ladder: every size, baseline then filtered modes, seed by seed, every mode at the token flags' share; fits after each size. */
async function runLadder(x: ExperimentContext): Promise<void> {
  for (const size of x.o.sizes) {
    for (const seed of x.o.seeds)
      for (const mode of ['baseline', ...x.o.modes] as const)
        await trainRun(x, {
          id: `${mode}-${sizeName(size)}-s${seed}`, series: 'ladder', mode, size, seed,
          filter: mode === 'baseline' ? null : mode === 'document' ? { fraction: x.ladderFraction } : { threshold: x.threshold },
        });
    updateFits(x.results);
    await x.save();
  }
}

/** Attacks at the largest size: RMU on the baseline, adversarial fine-tuning of the filtered models. */
async function runAttackStage(x: ExperimentContext): Promise<void> {
  const { o, results } = x;
  const largest = sizeName(o.sizes[o.sizes.length - 1]);
  const baseline = results.runs[`baseline-${largest}-s${o.seeds[0]}`];
  const targets = o.modes.map((m) => results.runs[`${m}-${largest}-s${o.seeds[0]}`]).filter(Boolean);
  const done = { attacks: (results.extra.attacks ?? {}) as Record<string, AttackRecord>, rmu: results.extra.rmu as Record<string, unknown> | undefined };
  await runAttacks(join(o.out, 'attack'), x.tokenizer, baseline, targets, { tokens: x.train.tokens, labels: x.train.labels }, x.val, {
    batch: 8, budgetFraction: o.attackBudget, sweepFraction: 0.25, lrs: o.attackLrs, evalEvery: 20, rmuSteps: o.rmuSteps,
    seed: o.seeds[0], signal: o.signal, log: x.log,
  }, done, async () => {
    results.extra.attacks = done.attacks;
    results.extra.rmu = done.rmu;
    await x.save();
  });
}

/** At the sweep size, for every seed: the Pareto sweep, label noise at the ladder's flagged share, delayed filtering. */
async function runSweepNoiseAndDelay(x: ExperimentContext): Promise<void> {
  const { o } = x;
  const size = o.sizes[o.sweepSize];
  const name = sizeName(size);
  for (const seed of o.seeds) {
    for (const fraction of o.sweepFractions)
      for (const mode of o.modes) await trainRun(x, { id: `sweep-${mode}-${fraction}-${name}-s${seed}`, series: 'sweep', mode, size, seed, filter: { fraction } });
    for (const noise of o.noiseRates)
      await trainRun(x, { id: `noise-${o.noiseMode}-${noise}-${name}-s${seed}`, series: 'noise', mode: o.noiseMode, size, seed, filter: { threshold: x.threshold, noise } });
    for (const delay of o.delayShares)
      await trainRun(x, {
        id: `delay-${o.noiseMode}-${delay}-${name}-s${seed}`, series: 'delay', mode: o.noiseMode, size, seed,
        filter: o.noiseMode === 'document' ? { fraction: x.ladderFraction, delay } : { threshold: x.threshold, delay },
      });
  }
  updateFits(x.results);
  await x.save();
}

/** Multiple choice for every ladder model of the largest size (when the data folder has questions). */
async function runMcqStage(x: ExperimentContext): Promise<void> {
  const { o, results } = x;
  const mcqPath = o.mcq ?? join(o.data, 'eval', 'mcq.jsonl.gz');
  if (o.mcqPerDomain === 0 || !existsSync(mcqPath)) return;
  const largest = sizeName(o.sizes[o.sizes.length - 1]);
  const mcq = (results.extra.mcq ??= {}) as Record<string, McqSummary>;
  const todo = Object.values(results.runs).filter((r) => r.series === 'ladder' && sizeName(r.size) === largest && !mcq[r.id]);
  if (todo.length === 0) return;
  const questions = await sampleMcq(mcqPath, o.mcqPerDomain, o.seeds[0], o.signal);
  for (const run of todo) {
    mcq[run.id] = await mcqForRun(run, x.tokenizer, questions, o.signal);
    await x.save();
    x.log(`mcq ${run.id}: cloze accuracy ${DOMAINS.map((d) => `${d} ${mcq[run.id].cloze?.scores.raw?.[d]?.accuracy.toFixed(3)}`).join(', ')}`);
  }
}

/** Training tokens of a size: tokensPerParameter × non-embedding parameters (12·L·C²), or × all parameters (plus the tied embedding V·C). */
function trainTokensFor(size: ModelSize, o: { tokensPerParameter: number; parameterBasis: 'non-embedding' | 'total' }, vocab: number): number {
  const nonEmbedding = size.layers * 12 * size.dModel * size.dModel;
  return Math.ceil(o.tokensPerParameter * (nonEmbedding + (o.parameterBasis === 'total' ? vocab * size.dModel : 0)));
}

/** Scores of the training stream: the classifier's (scored once, cached as a side file) or the domain oracle's. */
async function forgetScores(
  o: ResolvedOptions,
  classifier: TokenClassifier | null,
  train: string,
  labels: Uint8Array,
  log: (line: string) => void,
): Promise<Float32Array> {
  if (!classifier) return Float32Array.from(labels, (l) => (l === FORGET_LABEL ? 1 : 0));
  const scoresDir = join(o.out, 'scores');
  await scoreShards({
    shards: [train], classifier: o.classifier!, out: scoresDir, signal: o.signal,
    onProgress: (p) => {
      if (p.skipped) log('scores: already computed');
      else if (p.tokens === p.shardTokens || p.tokens % 1_000_000 < 20_000) log(`scores: ${p.tokens} of ${p.shardTokens} tokens`);
    },
  });
  const side = readSideFile(sideFilePathFor(join(scoresDir, 'train.bin'), SideFileKind.ScoresUint8), { expectTokens: labels.length });
  return sideFileScores(side);
}

/** Refits the baseline per held-out loss (seed means per size) and recomputes every filtered run's slowdown on each. */
export function updateFits(results: FilteringExperimentResults): void {
  const ladder = Object.values(results.runs).filter((r) => r.series === 'ladder');
  const bySize = new Map<string, ExperimentRun[]>();
  for (const r of ladder.filter((r) => r.mode === 'baseline')) bySize.set(sizeName(r.size), [...(bySize.get(sizeName(r.size)) ?? []), r]);
  if (bySize.size < 2) return;
  const baselines = [...bySize.values()].flat();
  const domains = Object.keys(baselines[0].loss).filter((d) => baselines.every((r) => Number.isFinite(r.loss[d])));
  const fits: Record<string, PowerLawFit> = {};
  for (const domain of domains)
    fits[domain] = fitPowerLaw([...bySize.values()].map((runs) => ({ compute: mean(runs.map((r) => r.trainFlops)), loss: mean(runs.map((r) => r.loss[domain])) })));
  results.fits = fits;
  results.slowdowns = Object.values(results.runs)
    .filter((r) => r.mode !== 'baseline' && r.series !== 'sweep')
    .flatMap((r) => domains.filter((d) => Number.isFinite(r.loss[d])).map((domain) => {
      const record: SlowdownRecord = {
        id: r.id, domain, mode: r.mode as FilterMode, nonEmbeddingParams: r.nonEmbeddingParams, compute: r.trainFlops,
        loss: r.loss[domain], slowdown: null, baselineCompute: null, extrapolation: null,
      };
      try {
        const s = relativeComputeSlowdown(fits[domain], { compute: r.trainFlops, loss: r.loss[domain] });
        record.slowdown = s.slowdown;
        record.baselineCompute = s.baselineCompute;
        record.extrapolation = s.extrapolation;
      } catch (error) {
        record.note = (error as Error).message;
      }
      return record;
    }));
}

type ResolvedOptions = Required<Omit<FilteringExperimentOptions, 'classifier' | 'tokenizer' | 'threshold' | 'mcq' | 'onLog' | 'signal'>> &
  Pick<FilteringExperimentOptions, 'classifier' | 'tokenizer' | 'threshold' | 'mcq' | 'onLog' | 'signal'>;

function resolveOptions(options: FilteringExperimentOptions): ResolvedOptions {
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


function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function fractionText(f: Record<string, number>): string {
  return Object.entries(f).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(', ');
}
