/**
 * The one-command demo: the whole method on the built-in WordNet corpus, small enough for two
 * CPU cores in a few minutes. Every intermediate is a file under `out/` (tokenizer, token
 * shards, label / score / loss-mask side files, models), and `report.json` holds every number.
 *
 * Stages: tokenizer → token shards (with gold domain labels for grading) → per-token forget
 * scores → filterTokens in all three modes at a matched flagged fraction → a baseline and three
 * filtered models of one size → per-domain loss on held-out text → report. Token masking and
 * removal leave part of every batch unsupervised, so by default each run trains until it has
 * learned from the same number of supervised tokens as the baseline (`match: 'supervised'`);
 * `match: 'steps'` gives every run the same steps (the same compute) instead.
 *
 * Scores come from the whole weak-labelling chain by default (`labels: 'sae'`, see
 * {@link runSaeChain}): labeller LM → SAE labels → biLM + token probe trained on them → every
 * training token scored; token modes flag tokens at the probe's max-F1 threshold and document
 * filtering drops the documents with the highest mean score until it flags as many tokens.
 * `labels: 'gold'` scores 1 inside the corpus's medical sentences and 0 elsewhere instead, for
 * comparison (filtering as precise as the labels).
 *
 * The demo is a composition of stages (lib/stages/): each step below is one named function, and
 * every setting comes from the demo's configuration ({@link DEMO_DEFAULTS}, demo_config.ts).
 * @module
 */
import { join } from 'node:path';
import { loadDefaultCorpus, type DefaultCorpus } from '../data/default_corpus.js';
import { makeFolder } from '../data/output_path.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../data/side_file.js';
import { Tokenizer } from '../data/tokenizer.js';
import type { LabelledTokens } from '../eval/domain_loss.js';
import { filterTokens, type FilterMode } from '../filter/filter_tokens.js';
import { backendInfo, type BackendInfo } from '../native.js';
import { BINARY_SCORE_THRESHOLD, type FlagRule } from '../stages/filter.js';
import { runFilteredModel, type FilteredRunResult, type ScoredStream } from '../stages/filtered_run.js';
import { joinDocuments, spanTokenLabels, writeLabelledShard } from '../stages/tokenize.js';
import { resolveDemoOptions, type DemoConfig, type DemoLabels, type DemoOptions, type ResolvedDemoOptions } from './demo_config.js';
import { runSaeChain, type SaeChainReport } from './sae_chain.js';
import { stageTimer } from './stage_timer.js';
import { formatRemaining, remainingSeconds, stagePlan } from './eta.js';
import { CodedRangeError } from '../errors.js';
import { DOMAINS, FORGET_LABEL, UNLABELLED } from '../data/domains.js';

export { DEMO_DEFAULTS, resolveDemoOptions, validateDemoOptions } from './demo_config.js';
export type { DemoConfig, DemoLabels, DemoOptions, ResolvedDemoOptions } from './demo_config.js';

/** Label of tokens that belong to no domain (document separators): not scored. */
/** The compared runs, in report order. */
const MODES = ['baseline', 'document', 'mask', 'remove'] as const;

/** One trained model in the report. */
export interface DemoRun {
  mode: 'baseline' | FilterMode;
  /** Fraction of training tokens no longer learned from. */
  flaggedFraction: number;
  /** Mean held-out loss (nats per token) by domain. */
  loss: Record<(typeof DOMAINS)[number], number>;
  /** 95% bootstrap intervals of `loss`. */
  ci95: Record<(typeof DOMAINS)[number], [number, number]>;
  /** Training tokens left with loss mask 1, and per-domain flagged counts. */
  supervisedTokens: number;
  filteredByDomain?: Record<string, { tokens: number; filtered: number }>;
  /** The run's flags as a detector of gold medical tokens (filtered runs). */
  filterVsGold?: { precision: number; recall: number; f1: number };
  documentsDropped: number;
  /** Optimizer steps trained, and the target tokens actually learned from. */
  steps: number;
  trainSupervisedTokens: number;
  trainFlops: number;
  finalTrainLoss: number;
  seconds: number;
  modelPath: string;
}

/** Everything the demo measured; written to `report.json`. */
export interface DemoReport {
  created: string;
  backend: BackendInfo;
  options: ResolvedDemoOptions;
  /** Where the scores came from, and in words. */
  labels: DemoLabels;
  labeller: string;
  /** Token threshold of the token modes (probability), or null when `fraction` set the flags. */
  threshold: number | null;
  /** The SAE → classifier chain's record (`labels: 'sae'`), else null. */
  chain: SaeChainReport | null;
  /** Wall seconds per stage, in order (each training run also records its own). */
  stages: Record<string, number>;
  /** CPU seconds (user + system, all threads) per stage: comparable across loads, unlike wall time. */
  stagesCpu: Record<string, number>;
  corpus: {
    documents: { train: number; val: number };
    trainTokens: number;
    valTokens: number;
    domainTokenFraction: Record<string, number>;
  };
  tokenizer: { name: string; vocabSize: number; hash: string };
  model: { params: number; nonEmbeddingParams: number; layers: number; dModel: number; heads: number; context: number };
  matchedFraction: number;
  runs: DemoRun[];
  seconds: number;
  cpuSeconds: number;
}

type Timer = ReturnType<typeof stageTimer>;
type Log = (line: string) => void;

/** The corpus, its tokenizer and its two labelled streams (written as shards). */
interface DemoStreams {
  corpus: DefaultCorpus;
  tokenizer: Tokenizer;
  train: LabelledTokens;
  val: LabelledTokens;
  trainShard: string;
}

/** Forget scores of every training token, where they came from, and the filters' token threshold. */
interface ForgetScores {
  scores: Uint8Array;
  threshold: number;
  chain: SaeChainReport | null;
}

/** Runs the demo and returns its report (also written to `out/report.json` by the CLI). */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const opts = resolveDemoOptions(options);
  const log = withRemainingTime(opts, opts.onLog ?? (() => {}));
  const started = Date.now();
  const cpuStarted = process.cpuUsage();
  const timer = stageTimer(log.stageDone);
  await makeFolder(join(opts.out, 'data'));
  await makeFolder(join(opts.out, 'models'));
  log(`backend: ${describeBackend(backendInfo())}`);

  const streams = await prepareStreams(opts, timer, log);
  const forget = await forgetScores(opts, streams, timer, log);
  // the token modes' flags decide the fraction every mode is matched on
  const rule: FlagRule = opts.fraction !== undefined ? { fraction: opts.fraction } : { threshold: forget.threshold };
  const matched = filterTokens(streams.train.tokens, forget.scores, { mode: 'mask', ...rule, eotId: streams.tokenizer.eotId }).stats.flaggedFraction;
  if (matched === 0) throw new CodedRangeError(`no training token scores at or above the threshold ${forget.threshold.toFixed(3)}: nothing to filter`);
  log(`filters: ${(100 * matched).toFixed(1)}% of training tokens flagged ${opts.fraction !== undefined ? `(fraction ${opts.fraction})` : `at threshold ${forget.threshold.toFixed(3)}`}`);

  const runs: DemoRun[] = [];
  let model: DemoReport['model'] | undefined;
  for (const mode of MODES) {
    const runStart = Date.now();
    const result = await trainRun(opts, streams, forget.scores, mode, mode === 'document' ? { fraction: matched } : rule, log);
    model ??= { params: result.params.total, nonEmbeddingParams: result.params.nonEmbedding, layers: opts.layers, dModel: opts.dModel, heads: opts.heads, context: opts.context };
    runs.push(demoRun(mode, result, streams.train.tokens.length, (Date.now() - runStart) / 1000, join(opts.out, 'models', `${mode}.safetensors`)));
    const l = result.loss;
    log(`${mode}: held-out loss medical ${l.medical.toFixed(3)}, biology ${l.biology.toFixed(3)}, general ${l.general.toFixed(3)} (${timer.lap(`train_${mode}`)})`);
  }
  const cpu = process.cpuUsage(cpuStarted);
  return demoReport(opts, streams, forget, {
    matched, runs, model: model!, stages: timer.stages, cpu: timer.cpu, seconds: (Date.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6,
  });
}

/** Step 1: the WordNet corpus, a BPE tokenizer trained on it, and the train / val shards with gold labels. */
async function prepareStreams(opts: DemoConfig, timer: Timer, log: Log): Promise<DemoStreams> {
  const corpus = loadDefaultCorpus({ seed: opts.seed });
  if (opts.trainDocuments > 0) corpus.train = corpus.train.slice(0, opts.trainDocuments);
  log(`corpus: WordNet glosses, ${corpus.train.length} train / ${corpus.val.length} val documents`);
  const tokenizer = await Tokenizer.train(corpus.train.map((d) => d.text), { vocabSize: opts.vocabSize, signal: opts.signal });
  await tokenizer.save(join(opts.out, 'tokenizer.json'));
  log(`tokenizer: byte-level BPE, ${tokenizer.vocabSize} tokens (${timer.lap('tokenizer')})`);

  const encode = (docs: DefaultCorpus['train']) =>
    joinDocuments(docs.map((d) => spanTokenLabels(tokenizer, d, DOMAINS)), { eotId: tokenizer.eotId, separator: 'after', separatorLabel: UNLABELLED });
  const train = encode(corpus.train);
  const val = encode(corpus.val);
  const trainShard = join(opts.out, 'data', 'train_000000.bin');
  await writeLabelledShard(trainShard, train, tokenizer);
  await writeLabelledShard(join(opts.out, 'data', 'val_000000.bin'), val, tokenizer);
  const medical = domainFractions(train.labels).medical;
  log(`shards: ${train.tokens.length} train / ${val.tokens.length} val tokens; medical ${(100 * medical).toFixed(1)}% of train tokens (${timer.lap('shards')})`);
  return { corpus, tokenizer, train, val, trainShard };
}

/** Step 2: forget scores from the SAE chain, or from the gold labels (see the module comment). */
async function forgetScores(opts: DemoConfig, s: DemoStreams, timer: Timer, log: Log): Promise<ForgetScores> {
  if (opts.labels === 'sae') {
    const result = await runSaeChain({ settings: opts, out: opts.out, tokenizer: s.tokenizer, trainShard: s.trainShard, train: s.train, val: s.val, onLog: log, onStage: timer.onLap, signal: opts.signal });
    Object.assign(timer.stages, result.stages);
    Object.assign(timer.cpu, result.cpu);
    timer.restart();
    return { scores: result.scores, threshold: opts.threshold ?? result.threshold, chain: result.report };
  }
  // 1 inside medical gold spans, 0 elsewhere
  const scores = Uint8Array.from(s.train.labels, (l) => (l === FORGET_LABEL ? 255 : 0));
  await writeSideFile(sideFilePathFor(s.trainShard, SideFileKind.ScoresUint8), scores, { kind: SideFileKind.ScoresUint8, tokenizer: s.tokenizer });
  return { scores, threshold: opts.threshold ?? BINARY_SCORE_THRESHOLD, chain: null };
}

/** Step 3, once per mode: filter → train → evaluate → save (lib/stages/filtered_run.ts). */
async function trainRun(opts: DemoConfig, s: DemoStreams, scores: Uint8Array, mode: (typeof MODES)[number], rule: FlagRule, log: Log): Promise<FilteredRunResult> {
  const stream: ScoredStream = { ...s.train, shard: s.trainShard, scores, labelNames: DOMAINS, forgetLabel: FORGET_LABEL };
  return runFilteredModel({
    mode, rule, stream, tokenizer: s.tokenizer,
    filteredShard: join(opts.out, 'filtered', mode, 'train_000000.bin'), keepFiltered: true,
    onFiltered: (f) => log(`${mode}: ${(100 * f.stats.flaggedFraction).toFixed(1)}% of tokens filtered, ${f.stats.documentsDropped} documents dropped; flags against gold medical F1 ${f.stats.forget!.f1.toFixed(3)}`),
    // token modes learn from (1 - masked fraction) of each batch: match supervised tokens
    steps: (flagged) => (opts.match === 'supervised' && (mode === 'mask' || mode === 'remove') ? Math.ceil(opts.steps / (1 - flagged)) : opts.steps),
    train: {
      name: mode, model: { layers: opts.layers, dModel: opts.dModel, heads: opts.heads }, context: opts.context, batch: opts.batch, lr: opts.lr, seed: opts.seed,
      save: { path: join(opts.out, 'models', `${mode}.safetensors`), metadata: { demo_mode: mode } }, logEvery: 50, onLog: log, signal: opts.signal,
    },
    evaluate: { heldOut: s.val, labelNames: DOMAINS, context: opts.context, maxWindows: opts.evalWindows, seed: opts.seed },
  });
}

/** A run's row of the report. */
function demoRun(mode: DemoRun['mode'], r: FilteredRunResult, trainTokens: number, seconds: number, modelPath: string): DemoRun {
  const stats = r.filtered?.stats;
  return {
    mode,
    flaggedFraction: stats ? stats.flaggedFraction : 0,
    loss: r.loss as DemoRun['loss'],
    ci95: r.ci95 as DemoRun['ci95'],
    supervisedTokens: stats ? stats.supervisedTokens : trainTokens,
    filteredByDomain: stats?.perLabel,
    filterVsGold: stats?.forget,
    documentsDropped: stats ? stats.documentsDropped : 0,
    steps: r.steps,
    trainSupervisedTokens: r.summary.supervisedTokens,
    trainFlops: r.summary.flops,
    finalTrainLoss: r.summary.finalLoss,
    seconds,
    modelPath: modelPath,
  };
}

/** Step 4: the report. */
function demoReport(
  opts: DemoConfig, s: DemoStreams, forget: ForgetScores,
  done: { matched: number; runs: DemoRun[]; model: DemoReport['model']; stages: Record<string, number>; cpu: Record<string, number>; seconds: number; cpuSeconds: number },
): DemoReport {
  const { onLog: _onLog, signal: _signal, ...recorded } = opts;
  return {
    created: new Date().toISOString(),
    backend: backendInfo(),
    options: recorded,
    labels: opts.labels,
    labeller:
      opts.labels === 'sae'
        ? `SAE weak labels (labeller LM → SAE → latents above mean + ${forget.chain!.saeLabels.rule.z}·std on ≥ ${forget.chain!.saeLabels.rule.minLatents} of ${forget.chain!.sae.selected.length} latents, spans grown) → biLM token probe → scores`
        : 'gold sentence spans of the WordNet corpus (score 1 inside medical spans, 0 elsewhere)',
    threshold: opts.fraction !== undefined ? null : forget.threshold,
    chain: forget.chain,
    stages: done.stages,
    stagesCpu: done.cpu,
    corpus: {
      documents: { train: s.corpus.train.length, val: s.corpus.val.length },
      trainTokens: s.train.tokens.length,
      valTokens: s.val.tokens.length,
      domainTokenFraction: domainFractions(s.train.labels),
    },
    tokenizer: { name: s.tokenizer.name, vocabSize: s.tokenizer.vocabSize, hash: s.tokenizer.hash },
    model: done.model,
    matchedFraction: done.matched,
    runs: done.runs,
    seconds: done.seconds,
    cpuSeconds: done.cpuSeconds,
  };
}

/**
 * The demo's log with the remaining-time estimate: `stageDone(name, seconds)` records a stage,
 * and the line after it (the stage's own log line) is followed by the estimate (see eta.ts).
 */
function withRemainingTime(opts: DemoConfig, onLog: Log): Log & { stageDone: (name: string, seconds: number) => void } {
  const plan = stagePlan(opts);
  const done: Record<string, number> = {};
  let pending: string | null = null;
  const log = (line: string) => {
    onLog(line);
    if (pending !== null) onLog(pending);
    pending = null;
  };
  log.stageDone = (name: string, seconds: number) => {
    done[name] = seconds;
    const left = remainingSeconds(plan, done);
    pending = left === null ? null : `  ${formatRemaining(left)} at this machine's pace so far`;
  };
  return log;
}

function domainFractions(labels: Uint8Array): Record<(typeof DOMAINS)[number], number> {
  const counts = [0, 0, 0];
  let total = 0;
  for (const l of labels)
    if (l < 3) {
      counts[l]++;
      total++;
    }
  return { general: counts[0] / total, medical: counts[1] / total, biology: counts[2] / total };
}

function describeBackend(b: BackendInfo): string {
  const warn = b.threads === 1 ? ' (one thread: set TOKENFILTER_THREADS to use more)' : b.simd === 'scalar' ? ' (scalar kernels: slow)' : '';
  return `${b.threads} threads, ${b.simd}${b.cuda.available ? ', CUDA' : ''}${warn}`;
}
