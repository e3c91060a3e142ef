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
 * {@link runSaeChain}): labeler LM → SAE labels → biLM + token probe trained on them → every
 * training token scored; token modes flag tokens at the probe's max-F1 threshold and document
 * filtering drops the documents with the highest mean score until it flags as many tokens.
 * `labels: 'gold'` scores 1 inside the corpus's medical sentences and 0 elsewhere instead, for
 * comparison (filtering as precise as the labels).
 * @module
 */
import { makeFolder } from '../data/output_path.js';
import { join } from 'node:path';
import { loadDefaultCorpus } from '../data/default_corpus.js';
import { writeShard } from '../data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../data/side_file.js';
import { BatchSampler } from '../data/sampler.js';
import { spanLabelsToTokenLabels, type CharSpan } from '../data/span_labels.js';
import { Tokenizer } from '../data/tokenizer.js';
import { domainLosses, type DomainLoss, type LabelledTokens } from '../eval/domain_loss.js';
import { filterTokens, type FilterMode } from '../filter/filter_tokens.js';
import { runSaeChain, type SaeChainReport, type SaeChainSettings } from './sae_chain.js';
import { Transformer } from '../model/transformer.js';
import { trainMasked } from '../model/train.js';
import { backendInfo, type BackendInfo } from '../native.js';
import { stageTimer } from './stage_timer.js';
import { formatRemaining, remainingSeconds, stagePlan } from './eta.js';
import { stripUndefined } from '../options.js';

/** Domain label values used in label side files and reports. */
export const DOMAINS = ['general', 'medical', 'biology'] as const;
/** Label of tokens that belong to no domain (document separators): not scored. */
const NO_LABEL = 255;
const FORGET = 1;

/** Where the demo's forget scores come from. */
export type DemoLabels = 'sae' | 'gold';

/**
 * Options of {@link runDemo}; every default is in {@link DEMO_DEFAULTS}. The settings of the
 * SAE chain ({@link SaeChainSettings}: labeler LM, SAE, rule, biLM, probe) are options too.
 */
export interface DemoOptions extends Partial<SaeChainSettings> {
  /** `'sae'` (default): scores from the SAE → classifier chain; `'gold'`: the corpus's gold sentence labels. */
  labels?: DemoLabels;
  /**
   * Token threshold of the filters, in [0, 1] (default: the classifier's max-F1 threshold on
   * validation SAE labels; 0.5 with gold labels). Ignored when `fraction` is given.
   */
  threshold?: number;
  /** Flag this fraction of training tokens in every mode instead of using a threshold, in (0, 1). */
  fraction?: number;
  /** Use only the first this many training documents (default 0 = all), to scale the demo down. */
  trainDocuments?: number;
  /** Output folder. */
  out?: string;
  /** BPE vocabulary size. */
  vocabSize?: number;
  /** Model size (all four models share it). */
  layers?: number;
  dModel?: number;
  heads?: number;
  /** Context length T. */
  context?: number;
  /** Sequences per batch B. */
  batch?: number;
  /** Optimizer steps of the baseline (and of every run with `match: 'steps'`). */
  steps?: number;
  /**
   * What the filtered runs are matched on: `'supervised'` (default) trains each until it has
   * seen the baseline's number of supervised tokens, i.e. steps / (1 − masked fraction);
   * `'steps'` gives every run the same steps.
   */
  match?: 'supervised' | 'steps';
  /** Peak learning rate. */
  lr?: number;
  /** Seed of the corpus split, model init and batch order. */
  seed?: number;
  /** At most this many held-out windows per evaluation. */
  evalWindows?: number;
  /** Receives one line per stage and progress update. */
  onLog?: (line: string) => void;
  /** Stops the demo at the next training step. */
  signal?: AbortSignal;
}

/** Options after defaults: every field set except the optional `threshold` and `fraction`. */
export type ResolvedDemoOptions = Required<Omit<DemoOptions, 'onLog' | 'signal' | 'threshold' | 'fraction'>> & Pick<DemoOptions, 'threshold' | 'fraction'>;

/** Defaults of {@link DemoOptions}. */
export const DEMO_DEFAULTS: Readonly<Omit<ResolvedDemoOptions, 'threshold' | 'fraction'>> = Object.freeze({
  out: './tokenfilter-demo',
  vocabSize: 2048,
  layers: 2,
  dModel: 128,
  heads: 2,
  context: 128,
  batch: 16,
  steps: 400,
  match: 'supervised',
  lr: 3e-3,
  seed: 1,
  evalWindows: 400,
  trainDocuments: 0,
  labels: 'sae',
  labelerLayers: 4,
  labelerDim: 256,
  labelerContext: 128,
  labelerSteps: 800,
  labelerBatch: 16,
  saeLatents: 2048,
  saeK: 32,
  saeSteps: 800,
  saeSampleTokens: 150_000,
  saeTop: 128,
  z: 1,
  minLatents: 8,
  separateBilm: true,
  bilmLayers: 2,
  bilmDim: 128,
  bilmContext: 64,
  bilmSteps: 800,
  bilmBatch: 16,
  labelDocuments: 1000,
  probeValDocuments: 300,
  probeTokens: 128,
  probeMaxTokens: 80_000,
});

/** One trained model in the report. */
export interface DemoRun {
  mode: 'baseline' | FilterMode;
  /** Fraction of training tokens no longer learned from. */
  flagged_fraction: number;
  /** Mean held-out loss (nats per token) by domain. */
  loss: Record<(typeof DOMAINS)[number], number>;
  /** 95% bootstrap intervals of `loss`. */
  ci95: Record<(typeof DOMAINS)[number], [number, number]>;
  /** Training tokens left with loss mask 1, and per-domain flagged counts. */
  supervised_tokens: number;
  filtered_by_domain?: Record<string, { tokens: number; filtered: number }>;
  /** The run's flags as a detector of gold medical tokens (filtered runs). */
  filter_vs_gold?: { precision: number; recall: number; f1: number };
  documents_dropped: number;
  /** Optimizer steps trained, and the target tokens actually learned from. */
  steps: number;
  train_supervised_tokens: number;
  train_flops: number;
  final_train_loss: number;
  seconds: number;
  model_path: string;
}

/** Everything the demo measured; written to `report.json`. */
export interface DemoReport {
  created: string;
  backend: BackendInfo;
  options: ResolvedDemoOptions;
  /** Where the scores came from, and in words. */
  labels: DemoLabels;
  labeler: string;
  /** Token threshold of the token modes (probability), or null when `fraction` set the flags. */
  threshold: number | null;
  /** The SAE → classifier chain's record (`labels: 'sae'`), else null. */
  chain: SaeChainReport | null;
  /** Wall seconds per stage, in order (each training run also records its own). */
  stages: Record<string, number>;
  /** CPU seconds (user + system, all threads) per stage: comparable across loads, unlike wall time. */
  stages_cpu: Record<string, number>;
  corpus: {
    documents: { train: number; val: number };
    train_tokens: number;
    val_tokens: number;
    domain_token_fraction: Record<string, number>;
  };
  tokenizer: { name: string; vocab_size: number; hash: string };
  model: { params: number; non_embedding_params: number; layers: number; d_model: number; heads: number; context: number };
  matched_fraction: number;
  runs: DemoRun[];
  seconds: number;
  cpu_seconds: number;
}

/** Runs the demo and returns its report (also written to `out/report.json` by the CLI). */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const opts: ResolvedDemoOptions & Pick<DemoOptions, 'onLog' | 'signal'> = { ...DEMO_DEFAULTS, ...stripUndefined(options) };
  validateDemoOptions(opts);
  const log = withRemainingTime(opts, options.onLog ?? (() => {}));
  const started = Date.now();
  const cpuStarted = process.cpuUsage();
  const { stages, cpu, lap, restart } = stageTimer(log.stageDone);
  const out = opts.out;
  const dataDir = join(out, 'data');
  await makeFolder(dataDir);
  await makeFolder(join(out, 'models'));

  log(`backend: ${describeBackend(backendInfo())}`);
  const corpus = loadDefaultCorpus({ seed: opts.seed });
  if (opts.trainDocuments > 0) corpus.train = corpus.train.slice(0, opts.trainDocuments);
  log(`corpus: WordNet glosses, ${corpus.train.length} train / ${corpus.val.length} val documents`);

  const tokenizer = await Tokenizer.train(corpus.train.map((d) => d.text), { vocabSize: opts.vocabSize, signal: options.signal });
  await tokenizer.save(join(out, 'tokenizer.json'));
  log(`tokenizer: byte-level BPE, ${tokenizer.vocabSize} tokens (${lap('tokenizer')})`);

  const train = encodeSplit(tokenizer, corpus.train);
  const val = encodeSplit(tokenizer, corpus.val);
  const trainShard = join(dataDir, 'train_000000.bin');
  await writeShard(trainShard, train.tokens, { tokenizer });
  await writeSideFile(sideFilePathFor(trainShard, SideFileKind.Labels), train.labels, { kind: SideFileKind.Labels, tokenizer });
  const valShard = join(dataDir, 'val_000000.bin');
  await writeShard(valShard, val.tokens, { tokenizer });
  await writeSideFile(sideFilePathFor(valShard, SideFileKind.Labels), val.labels, { kind: SideFileKind.Labels, tokenizer });
  const fractions = domainFractions(train.labels);
  log(`shards: ${train.tokens.length} train / ${val.tokens.length} val tokens; medical ${(100 * fractions.medical).toFixed(1)}% of train tokens (${lap('shards')})`);

  let scores: Uint8Array;
  let chain: SaeChainReport | null = null;
  let threshold: number;
  if (opts.labels === 'sae') {
    const result = await runSaeChain({ settings: opts, out, tokenizer, trainShard, train, val, onLog: log, onStage: log.stageDone, signal: options.signal });
    scores = result.scores;
    chain = result.report;
    threshold = opts.threshold ?? result.threshold;
    Object.assign(stages, result.stages);
    Object.assign(cpu, result.cpu);
    restart();
  } else {
    // 1 inside medical gold spans, 0 elsewhere (see the module comment)
    scores = Uint8Array.from(train.labels, (l) => (l === FORGET ? 255 : 0));
    await writeSideFile(sideFilePathFor(trainShard, SideFileKind.ScoresUint8), scores, { kind: SideFileKind.ScoresUint8, tokenizer });
    threshold = opts.threshold ?? 0.5;
  }
  // the token modes' flags decide the fraction every mode is matched on
  const tokenFlags = opts.fraction !== undefined ? { fraction: opts.fraction } : { threshold };
  const matched = filterTokens(train.tokens, scores, { mode: 'mask', ...tokenFlags, eotId: tokenizer.eotId }).stats.flaggedFraction;
  if (matched === 0) throw new RangeError(`no training token scores at or above the threshold ${threshold.toFixed(3)}: nothing to filter`);
  log(`filters: ${(100 * matched).toFixed(1)}% of training tokens flagged ${opts.fraction !== undefined ? `(fraction ${opts.fraction})` : `at threshold ${threshold.toFixed(3)}`}`);

  const config = { vocabSize: tokenizer.vocabSize, dModel: opts.dModel, layers: opts.layers, heads: opts.heads, context: opts.context, seed: opts.seed };
  const runs: DemoRun[] = [];
  let modelInfo: DemoReport['model'] | undefined;
  for (const mode of ['baseline', 'document', 'mask', 'remove'] as const) {
    const runStart = Date.now();
    let shard = trainShard;
    let flagged = 0;
    let supervised = train.tokens.length;
    let documentsDropped = 0;
    let filteredByDomain: DemoRun['filtered_by_domain'];
    let filterVsGold: DemoRun['filter_vs_gold'];
    if (mode !== 'baseline') {
      const filtered = filterTokens(train.tokens, scores, {
        mode,
        ...(mode === 'document' ? { fraction: matched } : tokenFlags),
        eotId: tokenizer.eotId,
        hiddenId: tokenizer.hiddenId,
        labels: train.labels,
        labelNames: [...DOMAINS],
        forgetLabel: FORGET,
      });
      const dir = join(out, 'filtered', mode);
      await makeFolder(dir);
      shard = join(dir, 'train_000000.bin');
      await writeShard(shard, filtered.tokens, { tokenizer });
      await writeSideFile(sideFilePathFor(shard, SideFileKind.LossMask), filtered.lossMask, { kind: SideFileKind.LossMask, tokenizer });
      flagged = filtered.stats.flaggedFraction;
      supervised = filtered.stats.supervisedTokens;
      documentsDropped = filtered.stats.documentsDropped;
      filteredByDomain = filtered.stats.perLabel;
      filterVsGold = filtered.stats.forget;
      log(`${mode}: ${(100 * flagged).toFixed(1)}% of tokens filtered, ${documentsDropped} documents dropped; flags against gold medical F1 ${filterVsGold!.f1.toFixed(3)}`);
    }

    // token modes learn from (1 - masked fraction) of each batch: match supervised tokens
    const steps = opts.match === 'supervised' && mode !== 'baseline' && mode !== 'document' ? Math.ceil(opts.steps / (1 - flagged)) : opts.steps;
    const model = await Transformer.create(config);
    const counts = model.parameterCount();
    modelInfo ??= { params: counts.total, non_embedding_params: counts.nonEmbedding, layers: opts.layers, d_model: opts.dModel, heads: opts.heads, context: opts.context };
    const sampler = new BatchSampler({ shards: [shard], batch: opts.batch, context: opts.context, seed: opts.seed, expectTokenizer: tokenizer });
    let summary;
    try {
      summary = await trainMasked(model, sampler, {
        steps,
        lr: opts.lr,
        signal: options.signal,
        onProgress: (p) => {
          if (p.step % 50 === 0 || p.step === steps)
            log(`  ${mode} step ${p.step}/${steps} loss ${p.loss.toFixed(3)} (${Math.round(p.tokensPerSecond)} tokens/s)`);
        },
      });
    } finally {
      sampler.close();
    }
    const losses = await domainLosses(model, val, { labelNames: [...DOMAINS], context: opts.context, maxWindows: opts.evalWindows, bootstrap: 500, seed: opts.seed });
    const modelPath = join(out, 'models', `${mode}.safetensors`);
    await model.save(modelPath, { demo_mode: mode });
    runs.push({
      mode,
      flagged_fraction: flagged,
      loss: pick(losses, (l) => l.loss),
      ci95: pick(losses, (l) => l.ci95),
      supervised_tokens: supervised,
      filtered_by_domain: filteredByDomain,
      filter_vs_gold: filterVsGold,
      documents_dropped: documentsDropped,
      steps,
      train_supervised_tokens: summary.supervisedTokens,
      train_flops: summary.flops,
      final_train_loss: summary.finalLoss,
      seconds: (Date.now() - runStart) / 1000,
      model_path: modelPath,
    });
    log(`${mode}: held-out loss medical ${losses.medical.loss.toFixed(3)}, biology ${losses.biology.loss.toFixed(3)}, general ${losses.general.loss.toFixed(3)} (${lap(`train_${mode}`)})`);
  }

  const { onLog: _onLog, signal: _signal, ...recorded } = opts;
  return {
    created: new Date().toISOString(),
    backend: backendInfo(),
    options: recorded,
    labels: opts.labels,
    labeler:
      opts.labels === 'sae'
        ? `SAE weak labels (labeler LM → SAE → latents above mean + ${opts.z}·std on ≥ ${opts.minLatents} of ${chain!.sae.selected.length} latents, spans grown) → biLM token probe → scores`
        : 'gold sentence spans of the WordNet corpus (score 1 inside medical spans, 0 elsewhere)',
    threshold: opts.fraction !== undefined ? null : threshold,
    chain,
    stages,
    stages_cpu: cpu,
    corpus: {
      documents: { train: corpus.train.length, val: corpus.val.length },
      train_tokens: train.tokens.length,
      val_tokens: val.tokens.length,
      domain_token_fraction: fractions,
    },
    tokenizer: { name: tokenizer.name, vocab_size: tokenizer.vocabSize, hash: tokenizer.hash },
    model: modelInfo!,
    matched_fraction: matched,
    runs,
    seconds: (Date.now() - started) / 1000,
    cpu_seconds: cpuSeconds(process.cpuUsage(cpuStarted)),
  };
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

/**
 * The demo's log with the remaining-time estimate: `stageDone(name, seconds)` records a stage,
 * and the line after it (the stage's own log line) is followed by the estimate (see eta.ts).
 */
function withRemainingTime(opts: ResolvedDemoOptions, onLog: (line: string) => void): ((line: string) => void) & { stageDone: (name: string, seconds: number) => void } {
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

/** Token ids of a split's documents, each followed by `<|endoftext|>`, with gold domain labels. */
function encodeSplit(tokenizer: Tokenizer, docs: readonly { text: string; spans: readonly CharSpan[] }[]): LabelledTokens {
  const parts: Uint32Array[] = [];
  const labelParts: Uint8Array[] = [];
  let total = 0;
  for (const doc of docs) {
    const { ids, offsets } = tokenizer.encodeWithOffsets(doc.text);
    const spans = doc.spans;
    const medical = spanLabelsToTokenLabels(offsets, spans, { label: 'medical' });
    const biology = spanLabelsToTokenLabels(offsets, spans, { label: 'biology' });
    const labels = new Uint8Array(ids.length + 1);
    for (let i = 0; i < ids.length; i++) labels[i] = medical[i] ? 1 : biology[i] ? 2 : 0;
    labels[ids.length] = NO_LABEL;
    const withEot = new Uint32Array(ids.length + 1);
    withEot.set(ids);
    withEot[ids.length] = tokenizer.eotId;
    parts.push(withEot);
    labelParts.push(labels);
    total += withEot.length;
  }
  const tokens = new Uint32Array(total);
  const labels = new Uint8Array(total);
  let at = 0;
  parts.forEach((p, i) => {
    tokens.set(p, at);
    labels.set(labelParts[i], at);
    at += p.length;
  });
  return { tokens, labels };
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

/**
 * Checks options after defaults, naming the bad one.
 * @throws RangeError for an unknown label source, a threshold or fraction out of range, or
 *   chain settings that contradict each other.
 */
export function validateDemoOptions(o: ResolvedDemoOptions): void {
  if (o.labels !== 'sae' && o.labels !== 'gold') throw new RangeError(`labels must be 'sae' or 'gold', got '${String(o.labels)}'`);
  if (o.threshold !== undefined && !(o.threshold >= 0 && o.threshold <= 1)) throw new RangeError(`threshold must be in [0, 1], got ${o.threshold}`);
  if (o.fraction !== undefined && !(o.fraction > 0 && o.fraction < 1)) throw new RangeError(`fraction must be in (0, 1), got ${o.fraction}`);
  if (!Number.isInteger(o.trainDocuments) || o.trainDocuments < 0) throw new RangeError(`trainDocuments must be a non-negative integer, got ${o.trainDocuments}`);
  if (o.labels === 'sae' && o.saeK > o.saeLatents) throw new RangeError(`saeK (${o.saeK}) must be at most saeLatents (${o.saeLatents})`);
  if (o.labels === 'sae' && o.minLatents > o.saeTop) throw new RangeError(`minLatents (${o.minLatents}) must be at most saeTop (${o.saeTop})`);
}

function pick<T>(losses: Record<string, DomainLoss>, f: (l: DomainLoss) => T): Record<(typeof DOMAINS)[number], T> {
  return { general: f(losses.general), medical: f(losses.medical), biology: f(losses.biology) };
}

function describeBackend(b: BackendInfo): string {
  const warn = b.threads === 1 ? ' (one thread: set TOKENFILTER_THREADS to use more)' : b.simd === 'scalar' ? ' (scalar kernels: slow)' : '';
  return `${b.threads} threads, ${b.simd}${b.cuda.available ? ', CUDA' : ''}${warn}`;
}
