/**
 * The mixture study (Li et al. 2025, "When Bad Data Leads to Good Models", on our domains): models
 * of one size pretrained with medicine at several shares of their tokens (same total tokens, same
 * general / biology proportions), then for each: held-out loss per domain, linear separability of
 * medicine per layer and per head, steering (ITI and residual) swept against its cost, alignability
 * at a fixed general-loss cost, and samples from medical prompts with and without steering.
 *
 * Work is written as it goes and skipped when done: `results.json` in the output folder holds each
 * finished (share, seed), and a training run resumes from its checkpoint.
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted } from '../../abort.js';
import { writeFileAtomic } from '../../data/atomic_file.js';
import { checkOutputPaths, makeFolder } from '../../data/output_path.js';
import { missingCorpusFiles } from '../../data/corpus_layout.js';
import { readDocuments } from '../../data/read_documents.js';
import type { Tokenizer } from '../../data/tokenizer.js';
import { TokenfilterError } from '../../errors.js';
import type { Transformer } from '../../model/transformer.js';
import { withDefaults } from '../../stages/option_keys.js';
import { corpusTokenizer, domainTrainTexts } from '../../stages/tokenize.js';
import { runTrain } from '../../stages/train.js';
import { backendInfo } from '../../native.js';
import { buildMixtureCorpus, shareWeights, type Domain, type MixtureCorpus } from './mixture_corpus.js';
import { measureSeparability, type Separability } from './separability.js';
import { alignability, itiSteering, steeringSweep, type Alignability, type DomainLossTable, type SteeringPoint } from './steering_sweep.js';
import { checkComparisonResumable, checkComparisonSettings, runFilteringComparison, type ComparisonSettings, type FilteringComparison } from './filtering_comparison.js';
import { DOMAINS } from '../../data/domains.js';
import { relocateResults } from './relocate_results.js';

/** Options of {@link runMixtureExperiment}; defaults in {@link MIXTURE_DEFAULTS}. */
export interface MixtureExperimentOptions {
  /** Data folder holding `corpus/` (and `eval/healthsearchqa.jsonl.gz` for sample prompts). */
  data: string;
  /** Output folder. */
  out: string;
  /** Medical shares of the training tokens, each in [0, 1). */
  shares?: number[];
  seeds?: number[];
  /** Model size. */
  layers?: number;
  dModel?: number;
  heads?: number;
  context?: number;
  vocabSize?: number;
  /** Training: steps × batch × context tokens for every share. */
  steps?: number;
  batch?: number;
  lr?: number;
  /** Held-out tokens per domain for the losses; held-out mixed documents for the probes. */
  valTokensPerDomain?: number;
  probeDocuments?: number;
  /** ITI sweep: heads steered (top-K) and strengths. */
  ks?: number[];
  alphas?: number[];
  /** General-loss cost at which alignability is read (nats). */
  alignCost?: number;
  /** Medical prompts sampled with and without steering per model (0: none). */
  samples?: number;
  sampleTokens?: number;
  /**
   * After the ladder, compare keep-then-steer with filtering (token removal, ITI, RMU, with
   * adversarial fine-tuning): true for the defaults, or the settings; see filtering_comparison.ts.
   */
  compare?: boolean | ComparisonSettings;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

/** Defaults of {@link MixtureExperimentOptions}: the only place their numbers are written. */
export const MIXTURE_DEFAULTS = Object.freeze({
  shares: [0, 0.01, 0.05, 0.1, 0.2, 0.4],
  seeds: [1, 2],
  layers: 4,
  dModel: 128,
  heads: 4,
  context: 128,
  vocabSize: 2048,
  steps: 1500,
  batch: 16,
  lr: 3e-3,
  valTokensPerDomain: 40_000,
  probeDocuments: 600,
  ks: [1, 2, 4, 8],
  alphas: [0, 1, 2, 4, 8, 16],
  alignCost: 0.05,
  samples: 3,
  sampleTokens: 24,
  compare: false as boolean | ComparisonSettings,
});

/** {@link MixtureExperimentOptions} with every default applied. */
export type ResolvedMixtureOptions = Required<Omit<MixtureExperimentOptions, 'onLog' | 'signal'>> & Pick<MixtureExperimentOptions, 'onLog' | 'signal'>;

/** Applies defaults; refuses unknown keys and values out of range (E_OPTION naming them). */
export function resolveMixtureOptions(options: MixtureExperimentOptions): ResolvedMixtureOptions {
  const o = withDefaults('mixture', MIXTURE_DEFAULTS, options, ['data', 'out', 'onLog', 'signal']) as ResolvedMixtureOptions;
  if (typeof o.data !== 'string' || typeof o.out !== 'string') throw new TokenfilterError('E_OPTION', 'data and out must be paths');
  if (!Array.isArray(o.shares) || o.shares.length === 0) throw new TokenfilterError('E_OPTION', 'shares must be a non-empty array');
  for (const s of o.shares) if (!(s >= 0 && s < 1)) throw new TokenfilterError('E_OPTION', `share ${s} is outside [0, 1)`);
  for (const [name, v] of Object.entries({ layers: o.layers, dModel: o.dModel, heads: o.heads, context: o.context, steps: o.steps, batch: o.batch, probeDocuments: o.probeDocuments }))
    if (!Number.isInteger(v) || v < 1) throw new TokenfilterError('E_OPTION', `${name} must be a positive integer, got ${v}`);
  if (o.dModel % o.heads !== 0) throw new TokenfilterError('E_OPTION', `dModel ${o.dModel} is not divisible by heads ${o.heads}`);
  for (const a of o.alphas) if (!Number.isFinite(a)) throw new TokenfilterError('E_OPTION', `alpha ${a} is not finite`);
  if (!(o.alignCost > 0)) throw new TokenfilterError('E_OPTION', `alignCost must be > 0, got ${o.alignCost}`);
  checkComparisonSettings(o.compare);
  return o;
}

/** One trained model of the study and what was measured on it. */
export interface MixtureRun {
  id: string;
  share: number;
  seed: number;
  steps: number;
  trainTokens: number;
  /** Sampler weight of each domain (the share of training windows drawn from it). */
  weights: Record<string, number>;
  loss: DomainLossTable;
  separability: Omit<Separability, 'layers' | 'heads'> & {
    layers: { auroc: number; accuracy: number }[];
    heads: { layer: number; head: number; auroc: number; accuracy: number }[];
  };
  steering: SteeringPoint[];
  alignability: Alignability;
  samples: { prompt: string; plain: string; steered: string }[];
  seconds: number;
  modelPath: string;
}

/** Everything the study wrote (results.json). */
export interface MixtureResults {
  version: 1;
  updated: string;
  options: Omit<ResolvedMixtureOptions, 'onLog' | 'signal'>;
  backend: ReturnType<typeof backendInfo>;
  runs: Record<string, MixtureRun>;
  /** Keep-then-steer against filtering, when run (`compare`). */
  comparison?: FilteringComparison;
}

/**
 * Reads `results.json` of a study folder, or null. A folder copied or moved from where it was
 * written reads its own model files (their recorded paths are rebased onto `out`).
 */
export async function readMixtureResults(out: string): Promise<MixtureResults | null> {
  const path = join(out, 'results.json');
  if (!existsSync(path)) return null;
  const results = JSON.parse(await readFile(path, 'utf8')) as MixtureResults;
  relocateResults(results, out);
  return results;
}

/** Options that make a model and its measurements: a folder's finished runs must share them. */
export const RUN_DEFINING_OPTIONS = Object.freeze(['layers', 'dModel', 'heads', 'context', 'vocabSize', 'steps', 'batch', 'lr', 'valTokensPerDomain', 'probeDocuments'] as const);

/**
 * Refuses to continue a folder whose finished runs were made with other model, training or
 * held-out options than `o` (shares, seeds, the sweep and the comparison may change).
 * @throws TokenfilterError E_OPTION naming each option that differs, with both values.
 */
export function checkResumable(results: MixtureResults, o: ResolvedMixtureOptions): void {
  if (Object.keys(results.runs).length === 0) return;
  const recorded = results.options as unknown as Record<string, unknown>;
  const now = o as unknown as Record<string, unknown>;
  const differ = RUN_DEFINING_OPTIONS.filter((k) => recorded[k] !== undefined && recorded[k] !== now[k]);
  if (differ.length > 0)
    throw new TokenfilterError('E_OPTION', `${o.out} holds runs made with ${differ.map((k) => `${k} ${String(recorded[k])}`).join(', ')}; ` +
      `this run asks for ${differ.map((k) => `${k} ${String(now[k])}`).join(', ')} (use another --out, or the same options)`, { path: join(o.out, 'results.json') });
}

async function saveResults(out: string, results: MixtureResults): Promise<void> {
  results.updated = new Date().toISOString();
  await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
}

/** The study's tokenizer: saved in the output folder, trained on the corpus the first time (tokenize stage). */
async function studyTokenizer(o: ResolvedMixtureOptions): Promise<Tokenizer> {
  return corpusTokenizer({ path: join(o.out, 'tokenizer.json'), texts: () => domainTrainTexts(o.data, DOMAINS, o.signal), vocabSize: o.vocabSize, signal: o.signal });
}

/**
 * Trains (or resumes) one model at `share` (train stage); the training stream is the domain
 * shards weighted by {@link shareWeights}, loss on every token. `shards` replaces a domain's
 * training shard (a filtered copy with its loss mask beside it, which is then applied); the
 * weights and the batches drawn stay those of `share`.
 */
export async function trainShare(
  o: ResolvedMixtureOptions, corpus: MixtureCorpus, tokenizer: Tokenizer, share: number, seed: number, id: string,
  shards: Partial<Record<Domain, string>> = {},
) {
  const weights = shareWeights(share, corpus.trainTokens);
  const sources = DOMAINS.filter((d) => weights[d] > 0).map((d) => ({ name: d, shards: [shards[d] ?? corpus.trainShards[d]], weight: weights[d] }));
  const lossMask = Object.keys(shards).length > 0 ? 'auto' : 'none';
  const { model, summary } = await runTrain({
    name: `${id}:`, stream: { sources, lossMask }, tokenizer, model: { layers: o.layers, dModel: o.dModel, heads: o.heads },
    context: o.context, batch: o.batch, steps: o.steps, lr: o.lr, seed,
    checkpoint: join(o.out, 'models', `${id}.checkpoint.safetensors`), checkpointEvery: 250,
    save: { path: join(o.out, 'models', `${id}.safetensors`), metadata: { mixture_run: id } }, logEvery: 250, onLog: o.onLog, signal: o.signal,
  });
  return { model, summary, weights, modelPath: join(o.out, 'models', `${id}.safetensors`) };
}

/** Medical prompts from `{data}/eval/healthsearchqa.jsonl.gz` (none when absent). */
async function samplePrompts(o: ResolvedMixtureOptions): Promise<string[]> {
  const path = join(o.data, 'eval', 'healthsearchqa.jsonl.gz');
  if (o.samples === 0 || !existsSync(path)) return [];
  const prompts: string[] = [];
  for await (const d of readDocuments(path, { textField: 'question' })) {
    prompts.push(d.text);
    if (prompts.length >= o.samples) break;
  }
  return prompts;
}

async function samplesOf(o: ResolvedMixtureOptions, model: Transformer, tokenizer: Tokenizer, prompts: string[], separability: Separability, align: Alignability) {
  const steering = itiSteering(separability, Math.max(1, align.k), align.alpha);
  const out: MixtureRun['samples'] = [];
  for (const [i, prompt] of prompts.entries()) {
    const ids = Uint32Array.from([tokenizer.eotId, ...tokenizer.encode(`${prompt} `)]).slice(-Math.floor(o.context / 2));
    const maxTokens = Math.min(o.sampleTokens, o.context - ids.length);
    const plain = await model.generate(ids, { maxTokens, temperature: 0.8, topK: 40, seed: i, stopToken: tokenizer.eotId });
    const steered = await model.generate(ids, { maxTokens, temperature: 0.8, topK: 40, seed: i, stopToken: tokenizer.eotId, steering });
    out.push({ prompt, plain: tokenizer.decode(plain), steered: tokenizer.decode(steered) });
  }
  return out;
}

/** Measures one trained model: losses, probes, steering sweep, alignability, samples. */
async function measureRun(o: ResolvedMixtureOptions, model: Transformer, tokenizer: Tokenizer, corpus: MixtureCorpus, prompts: string[]) {
  const separability = await measureSeparability(model, corpus.probe, { signal: o.signal });
  const { base, points } = await steeringSweep(model, corpus.val, separability, { ks: o.ks, alphas: o.alphas, signal: o.signal });
  const align = alignability(points, o.alignCost);
  const samples = await samplesOf(o, model, tokenizer, prompts, separability, align);
  return { base, points, align, separability, samples };
}

/**
 * Runs (or continues) the study and returns its results.
 * @throws TokenfilterError E_OPTION for bad options; the corpus readers' errors; AbortError.
 */
export async function runMixtureExperiment(options: MixtureExperimentOptions): Promise<MixtureResults> {
  const o = resolveMixtureOptions(options);
  const log = o.onLog ?? (() => {});
  const missing = missingCorpusFiles(o.data, DOMAINS);
  if (missing.length > 0) throw new TokenfilterError('E_OPTION', `data folder ${o.data} lacks ${missing.join(', ')}`, { path: missing[0] });
  await checkOutputPaths([{ folder: o.out, role: 'out', writes: () => true }], [{ path: join(o.data, 'corpus'), role: 'data' }]);
  const { onLog: _l, signal: _s, ...recorded } = o;
  const results: MixtureResults = (await readMixtureResults(o.out)) ?? { version: 1, updated: '', options: recorded, backend: backendInfo(), runs: {} };
  checkResumable(results, o);
  if (o.compare !== false) checkComparisonResumable(results, o.compare === true ? {} : o.compare, o.out);
  await makeFolder(join(o.out, 'models'), 'out/models');
  results.options = recorded;
  results.backend = backendInfo();
  const tokenizer = await studyTokenizer(o);
  const trainTokensPerDomain = Math.ceil(1.1 * o.steps * o.batch * o.context);
  const corpus = await buildMixtureCorpus(tokenizer, { data: o.data, out: join(o.out, 'data'), trainTokensPerDomain, valTokensPerDomain: o.valTokensPerDomain, probeDocuments: o.probeDocuments, seed: 7, signal: o.signal });
  const prompts = await samplePrompts(o);
  for (const share of o.shares)
    for (const seed of o.seeds) {
      throwIfAborted(o.signal, 'mixture experiment');
      const id = `share-${+(share * 100).toFixed(2)}-seed-${seed}`;
      if (results.runs[id]) continue;
      log(`${id}: training (${o.steps} steps × ${o.batch} × ${o.context})`);
      const started = performance.now();
      const { model, summary, weights, modelPath } = await trainShare(o, corpus, tokenizer, share, seed, id);
      log(`${id}: probes and steering`);
      const m = await measureRun(o, model, tokenizer, corpus, prompts);
      results.runs[id] = {
        id, share, seed, steps: summary.steps, trainTokens: summary.tokens,
        weights: Object.fromEntries(DOMAINS.map((d) => [d, weights[d]])),
        loss: m.base,
        separability: {
          trainTokens: m.separability.trainTokens, testTokens: m.separability.testTokens,
          layers: m.separability.layers.map(({ auroc, accuracy }) => ({ auroc, accuracy })),
          heads: m.separability.heads.map(({ layer, head, auroc, accuracy }) => ({ layer, head, auroc, accuracy })),
        },
        steering: m.points, alignability: m.align, samples: m.samples,
        seconds: (performance.now() - started) / 1000 + summary.totalSeconds - summary.elapsedMs / 1000, modelPath,
      };
      await saveResults(o.out, results);
      log(`${id}: medical ${m.base.medical.toFixed(3)}, best layer AUROC ${Math.max(...m.separability.layers.map((l) => l.auroc)).toFixed(3)}, alignability ${m.align.medicalRise.toFixed(3)}${m.align.reached ? '' : ' (cost not reached)'}`);
    }
  if (o.compare !== false)
    await runFilteringComparison(o, results, corpus, tokenizer, o.compare === true ? {} : o.compare, () => saveResults(o.out, results));
  return results;
}
