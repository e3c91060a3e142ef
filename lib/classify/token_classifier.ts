/**
 * Per-token classifier: a logistic probe on the biLM's features at one layer or at a set of
 * layers concatenated (see layer_features.ts), chosen by a sweep on validation data. Scores are probabilities of the positive (forget) class.
 * @module
 */
import { TokenfilterError, CodedRangeError } from '../errors.js';
import { Random } from '../data/random.js';
import type { BiLM, FeatureDirection } from './bilm.js';
import type { DeviceOptions } from '../device.js';
import { UNLABELLED, type LabelledSequence } from './labels.js';
import { fitLogistic, type LogisticModel, type LogisticOptions } from './logistic.js';
import { blendThreshold, checkBlendObjective, selectOnBlend, type BlendObjective, type BlendResult } from './blend_selection.js';
import { binaryMetrics, type BinaryMetrics } from './metrics.js';
import { readProbeFile, writeProbeFile } from './probe_file.js';
import { applyScoreMethod, candidateMethods, describeScoreMethod, LEXICON_SEGMENTATION_GRID, RAW_SCORES, type ScoreMethod } from './score_method.js';
import { boundariesOf, boundaryIds } from './segmentation.js';
import { checkMixtureScales, mixedProbabilities, mixProbes, probeLogits } from './logit_mixture.js';
import { featuresOfLayers, layerSetDimension, layerSetName, layerSetOf, type LayerChoice, type LayerSet } from './layer_features.js';
import type { smoothScores } from './smoothing.js';
import { parseReading, type Reading } from './reading.js';
import { combineWithLexicon, Lexicon } from './lexicon.js';

/** One validation kind (e.g. paragraph mixes, sentence-level mixes): every choice is made on the blend of all kinds given. */
export interface ValidationSet {
  name: string;
  sequences: readonly LabelledSequence[];
}

/** Metrics of one validation kind at a chosen threshold. */
export type KindMetrics = BinaryMetrics & { name: string };

/** Validation result of one layer of a sweep. */
export interface LayerResult {
  /** The deepest layer read (the only one unless `layers` names several). */
  layer: number;
  /** The layers whose features the probe reads, concatenated (ascending). */
  layers: LayerSet;
  /** A logit mixture (logit_mixture.ts): the first layer's probe plus this times the second's; absent for a fitted probe. */
  mixtureScale?: number;
  /** With the lexicon (lexicon.ts): the share of the probe's logit added to its evidence (0: the lexicon alone); absent without. */
  probeWeight?: number;
  /** Metrics on all validation tokens pooled, at the threshold chosen on the blend of kinds. */
  maxF1: BinaryMetrics;
  /** Metrics on all validation tokens pooled at 0.5. */
  atHalf: BinaryMetrics;
  /** The scoring method chosen for this layer (see score_method.ts) and its short name. */
  method: ScoreMethod;
  methodName: string;
  /** The smoothing radius when `method` smooths (0 = raw), else 0. */
  smoothing: number;
  /** The blend's objective at the chosen threshold (what layers and methods are chosen by): the mean F1 over the validation kinds, or the worst kind's F1 (`blendObjective`). */
  blendF1: number;
  /** What `blendF1` is: the mean over the kinds, or the worst kind's F1. */
  blendObjective: BlendObjective;
  /** Each validation kind's metrics at the chosen threshold. */
  kinds: KindMetrics[];
  /** The raw probe's blend: pooled metrics and each kind's, at its own blend threshold. */
  maxF1Unsmoothed: BinaryMetrics;
  kindsUnsmoothed: KindMetrics[];
  trainTokens: number;
  fitIterations: number;
  seconds: number;
}

/** Options of {@link TokenClassifier.train}. */
export interface TrainTokenClassifierOptions {
  bilm: BiLM;
  /** Where `bilm` is saved (the classifier file refers to it). */
  bilmPath: string;
  train: readonly LabelledSequence[];
  /** Validation sequences (one kind, named 'validation'); or give `valSets`. */
  val?: readonly LabelledSequence[];
  /** Validation kinds: layer, threshold and scoring method are chosen on their blend ({@link blendThreshold}, {@link selectOnBlend}). */
  valSets?: readonly ValidationSet[];
  /** What the blend maximises: the mean F1 over the kinds (default) or the worst kind's F1. */
  blendObjective?: BlendObjective;
  /** Layers to sweep (default every layer 0 … L + 1): each entry one layer, or a set of layers whose features are concatenated. */
  layers?: readonly LayerChoice[];
  /** Features of both directions (default) or one alone (a unidirectional baseline). */
  direction?: FeatureDirection;
  /** How the biLM reads documents for every feature of the probe, in training and scoring (default 'window'; reading.ts). */
  reading?: Reading;
  /** Fit on at most this many labelled training tokens, drawn uniformly (default 200 000). */
  maxTrainTokens?: number;
  /** Seed of that draw (default 0). */
  seed?: number;
  /**
   * Smoothing radii to try on the validation data, per layer (see {@link smoothScores}). Default
   * {@link DEFAULT_SMOOTHING_RADII}; `[0]` for raw scores.
   */
  smoothing?: readonly number[];
  /** Also try the two-state segmentations of {@link DEFAULT_SEGMENTATION_GRID} (default false). */
  segmentation?: boolean;
  /**
   * Logit mixtures to try (logit_mixture.ts): for every two single layers a < b of the sweep, the
   * probe a + scale · probe b for each scale given, with every scoring method, chosen on the blend
   * like any entry (default none).
   */
  mixtures?: readonly number[];
  /**
   * A lexicon (lexicon.ts) fitted on text held apart from the validation kinds: every entry of the
   * sweep is also tried as its evidence plus each share in `probeWeights` of the probe's logit,
   * with every scoring method, and chosen on the blend like any entry (default none).
   */
  lexicon?: Lexicon;
  /** Shares of the probe's logit tried with the lexicon (default {@link LEXICON_PROBE_WEIGHTS}; 0 = the lexicon alone). */
  probeWeights?: readonly number[];
  logistic?: Omit<LogisticOptions, 'signal'>;
  /** Called after each layer of the sweep. */
  onLayer?: (result: LayerResult) => void;
  signal?: AbortSignal;
}

/** Shares of the probe's logit tried by default with a lexicon (0: the lexicon alone, no biLM run when scoring). */
export const LEXICON_PROBE_WEIGHTS: readonly number[] = Object.freeze([0, 0.02, 0.05]);

/** A lexicon and the share of the probe's logit added to its evidence. */
export interface LexiconUse {
  lexicon: Lexicon;
  probeWeight: number;
}

/** Smoothing radii tried by default when a token probe is trained. */
export const DEFAULT_SMOOTHING_RADII: readonly number[] = [0, 2, 4, 8, 16, 32, 64, 128];

/** Features (at one layer or a set of layers, concatenated) and labels of the labelled tokens of `sequences`, optionally subsampled. */
export async function labelledFeatures(
  bilm: BiLM, sequences: readonly LabelledSequence[], layer: LayerChoice, limit: number, seed: number,
  options: { signal?: AbortSignal; direction?: FeatureDirection; reading?: Reading } = {},
): Promise<{ features: Float32Array; labels: Uint8Array }> {
  const layers = layerSetOf(layer, bilm.layerCount);
  const D = layerSetDimension(bilm, layers, options.direction);
  let labelled = 0;
  for (const s of sequences) for (let t = 0; t < s.labels.length; t++) if (s.labels[t] !== UNLABELLED) labelled++;
  const keep = labelled <= limit ? null : new Random(seed).choose(labelled, limit);
  const n = keep ? limit : labelled;
  const features = new Float32Array(n * D);
  const labels = new Uint8Array(n);
  let index = 0;
  let row = 0;
  const chunk = 64;
  for (let first = 0; first < sequences.length; first += chunk) {
    const part = sequences.slice(first, first + chunk);
    const feats = await featuresOfLayers(bilm, part.map((s) => s.tokens), layers, options);
    part.forEach((s, k) => {
      for (let t = 0; t < s.labels.length; t++) {
        if (s.labels[t] === UNLABELLED) continue;
        if (!keep || keep[index]) {
          features.set(feats[k].subarray(t * D, (t + 1) * D), row * D);
          labels[row++] = s.labels[t];
        }
        index++;
      }
    });
  }
  return { features, labels };
}

/** Raw probe probabilities of every token of each sequence, per sequence, and their exact logits when asked (for mixtures). */
async function documentScores(
  bilm: BiLM, probe: LogisticModel, sequences: readonly LabelledSequence[], layers: LayerSet, options: { signal?: AbortSignal; direction?: FeatureDirection; reading?: Reading },
  withLogits: boolean,
): Promise<{ raw: Float32Array[]; logits?: Float64Array[] }> {
  const raw: Float32Array[] = [];
  const logits: Float64Array[] = [];
  const chunk = 64;
  for (let first = 0; first < sequences.length; first += chunk) {
    const feats = await featuresOfLayers(bilm, sequences.slice(first, first + chunk).map((s) => s.tokens), layers, options);
    for (const f of feats) {
      raw.push(probe.predict(f));
      if (withLogits) logits.push(probeLogits(probe, f));
    }
  }
  return withLogits ? { raw, logits } : { raw };
}

/** The scores and labels of the labelled tokens of `sequences`, flattened. */
function labelledScores(sequences: readonly LabelledSequence[], scores: readonly Float32Array[]): { scores: Float32Array; labels: Uint8Array } {
  let n = 0;
  for (const s of sequences) for (const l of s.labels) if (l !== UNLABELLED) n++;
  const outScores = new Float32Array(n);
  const outLabels = new Uint8Array(n);
  let at = 0;
  sequences.forEach((s, k) => {
    for (let t = 0; t < s.labels.length; t++) {
      if (s.labels[t] === UNLABELLED) continue;
      outScores[at] = scores[k][t];
      outLabels[at++] = s.labels[t];
    }
  });
  return { scores: outScores, labels: outLabels };
}

/** A validation kind with the raw probe scores and the boundaries of its sequences. */
interface ScoredSet extends ValidationSet {
  raw: Float32Array[];
  /** Exact raw logits (only when mixtures are tried). */
  logits?: Float64Array[];
  boundaries: Uint8Array[];
}

/** Each kind's labelled scores under `method`. */
function kindScores(sets: readonly ScoredSet[], method: ScoreMethod): { name: string; scores: Float32Array; labels: Uint8Array }[] {
  return sets.map((s) => ({ name: s.name, ...labelledScores(s.sequences, s.raw.map((p, k) => applyScoreMethod(p, method, s.boundaries[k]))) }));
}

/** Metrics of all kinds pooled at `threshold`. */
function pooledMetrics(kinds: readonly { scores: Float32Array; labels: Uint8Array }[], threshold: number): BinaryMetrics {
  const n = kinds.reduce((a, k) => a + k.labels.length, 0);
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  let at = 0;
  for (const k of kinds) {
    scores.set(k.scores, at);
    labels.set(k.labels, at);
    at += k.labels.length;
  }
  return binaryMetrics(scores, labels, threshold);
}

/** The validation kinds of the options: `valSets`, or `val` as one kind. */
function validationSets(options: TrainTokenClassifierOptions): readonly ValidationSet[] {
  const sets = options.valSets ?? (options.val ? [{ name: 'validation', sequences: options.val }] : []);
  if (sets.length === 0 || sets.some((s) => s.sequences.length === 0)) throw new TokenfilterError('E_OPTION', 'token classifier training needs validation sequences (val or valSets)');
  return sets;
}

/** The scoring methods of the options, checked: for the probe, or (`lexicon`) for the lexicon's evidence beside it. */
function methodsOf(options: TrainTokenClassifierOptions, lexicon = false): ScoreMethod[] {
  const radii = options.smoothing ?? DEFAULT_SMOOTHING_RADII;
  if (radii.length === 0) throw new CodedRangeError('smoothing must list at least one radius (0 for none)');
  for (const r of radii) if (!Number.isInteger(r) || r < 0) throw new CodedRangeError(`smoothing radii must be non-negative integers, got ${r}`);
  const segmentation = options.segmentation ?? false;
  return candidateMethods(radii, segmentation && lexicon ? LEXICON_SEGMENTATION_GRID : segmentation);
}

/** One layer's probe and every method's blend on validation. */
interface LayerCandidates {
  layers: LayerSet;
  probe: LogisticModel;
  evaluated: { method: ScoreMethod; blend: BlendResult }[];
  /** The scored validation kinds (kept for mixtures and the lexicon). */
  scored: ScoredSet[];
  /** The logit mixture's scale, for a mixture of two probes. */
  mixtureScale?: number;
}

const asSetting = (e: { blend: BlendResult }) => ({ f1: e.blend.kinds.map((k) => k.f1), objective: e.blend.objective });

/** Fits the probe at one layer and evaluates every scoring method on the validation kinds. */
async function sweepLayer(
  options: TrainTokenClassifierOptions, layers: LayerSet, sets: readonly (ValidationSet & { boundaries: Uint8Array[] })[], methods: readonly ScoreMethod[],
): Promise<{ candidates: LayerCandidates; result: LayerResult }> {
  const { bilm } = options;
  const direction = options.direction ?? 'both';
  const featureOptions = { signal: options.signal, direction, reading: options.reading ?? 'window' };
  const started = performance.now();
  const train = await labelledFeatures(bilm, options.train, layers, options.maxTrainTokens ?? 200_000, options.seed ?? 0, featureOptions);
  const probe = await fitLogistic(train.features, train.labels, layerSetDimension(bilm, layers, direction), { ...options.logistic, signal: options.signal });
  const scored: ScoredSet[] = [];
  const withLogits = (options.mixtures?.length ?? 0) > 0 && layers.length === 1;
  for (const s of sets) scored.push({ ...s, ...(await documentScores(bilm, probe, s.sequences, layers, featureOptions, withLogits)) });
  return evaluateProbe(layers, probe, scored, methods, { trainTokens: train.labels.length, started, objective: options.blendObjective ?? 'mean' });
}

/** Every scoring method's blend for a probe's scored validation kinds, and the layer's result. */
function evaluateProbe(
  layers: LayerSet, probe: LogisticModel, scored: ScoredSet[], methods: readonly ScoreMethod[],
  info: { trainTokens: number; started: number; objective: BlendObjective; mixtureScale?: number; probeWeight?: number },
): { candidates: LayerCandidates; result: LayerResult } {
  const evaluated = methods.map((method) => ({ method, blend: blendThreshold(kindScores(scored, method), undefined, info.objective) }));
  const pick = evaluated[selectOnBlend(evaluated.map(asSetting))];
  const kinds = kindScores(scored, pick.method);
  const rawKinds = kindScores(scored, RAW_SCORES);
  const raw = evaluated.find((e) => e.method.kind === 'smooth' && e.method.radius === 0)?.blend ?? blendThreshold(rawKinds, undefined, info.objective);
  const result: LayerResult = {
    layer: layers[layers.length - 1], layers, ...(info.mixtureScale !== undefined ? { mixtureScale: info.mixtureScale } : {}),
    ...(info.probeWeight !== undefined ? { probeWeight: info.probeWeight } : {}),
    maxF1: pooledMetrics(kinds, pick.blend.threshold), atHalf: pooledMetrics(kinds, 0.5), method: pick.method, methodName: describeScoreMethod(pick.method),
    smoothing: pick.method.kind === 'smooth' ? pick.method.radius : 0, blendF1: pick.blend.objective, blendObjective: info.objective, kinds: pick.blend.kinds,
    maxF1Unsmoothed: pooledMetrics(rawKinds, raw.threshold), kindsUnsmoothed: raw.kinds,
    trainTokens: info.trainTokens, fitIterations: probe.fit.iterations, seconds: (performance.now() - info.started) / 1000,
  };
  return { candidates: { layers, probe, evaluated, scored, ...(info.mixtureScale !== undefined ? { mixtureScale: info.mixtureScale } : {}) }, result };
}

/** The logit mixtures of every two single-layer probes a < b of the sweep, one per scale. */
function mixtureCandidates(
  singles: readonly LayerCandidates[], scales: readonly number[], methods: readonly ScoreMethod[], trainTokens: number, objective: BlendObjective,
): { candidates: LayerCandidates; result: LayerResult }[] {
  const out: { candidates: LayerCandidates; result: LayerResult }[] = [];
  const sorted = [...singles].sort((x, y) => x.layers[0] - y.layers[0]);
  for (let i = 0; i < sorted.length; i++)
    for (let j = i + 1; j < sorted.length; j++) {
      const [a, b] = [sorted[i], sorted[j]];
      for (const scale of scales) {
        const started = performance.now();
        const scored = a.scored.map((s, k) => ({
          ...s, logits: undefined, raw: s.logits!.map((za, d) => mixedProbabilities(za, b.scored[k].logits![d], scale)),
        }));
        out.push(evaluateProbe([a.layers[0], b.layers[0]], mixProbes(a.probe, b.probe, scale), scored, methods, { trainTokens, started, objective, mixtureScale: scale }));
      }
    }
  return out;
}

/**
 * Every entry of the sweep with the lexicon's evidence plus each positive share of its probe's
 * logit, and (for a share 0) the lexicon alone once, kept with the entry chosen so far without it.
 */
function* lexiconCandidates(
  entries: readonly LayerCandidates[], lexicon: Lexicon, probeWeights: readonly number[], methods: readonly ScoreMethod[], trainTokens: number, objective: BlendObjective,
): Generator<{ candidates: LayerCandidates; result: LayerResult }> {
  const evidence = entries[0].scored.map((s) => s.sequences.map((q) => lexicon.evidence(q.tokens)));
  const best = entries[selectOnBlend(entries.map((e) => asSetting(e.evaluated[selectOnBlend(e.evaluated.map(asSetting))])))];
  for (const probeWeight of probeWeights) {
    const over = probeWeight === 0 ? [best] : entries;
    for (const e of over) {
      const started = performance.now();
      const scored = e.scored.map((s, k) => ({ ...s, logits: undefined, raw: s.raw.map((p, d) => combineWithLexicon(probeWeight === 0 ? null : p, evidence[k][d], probeWeight)) }));
      const mixtureScale = probeWeight === 0 ? undefined : e.mixtureScale;
      yield evaluateProbe(e.layers, e.probe, scored, methods, { trainTokens, started, objective, mixtureScale, probeWeight });
    }
  }
}

/**
 * Scores every token: a logistic probe on the biLM's features at one layer (or a set of layers,
 * concatenated). Train with
 * {@link TokenClassifier.train} (layer sweep), score with {@link TokenClassifier.scoreDocuments},
 * save / load with a checksummed reference to the biLM file.
 */
export class TokenClassifier {
  /** The biLM and the path of its file. */
  readonly bilm: BiLM;
  readonly bilmPath: string;
  /** The deepest layer the probe reads (0 … L + 1). */
  readonly layer: number;
  /** Every layer the probe reads, ascending: their features are concatenated in this order. */
  readonly layers: LayerSet;
  /** The fitted probe. */
  readonly probe: LogisticModel;
  /** Decision threshold: the max-F1 threshold on validation data. */
  readonly threshold: number;
  /** How it was trained (sweep results), as saved. */
  readonly report: unknown;
  /** Which directions' states the probe reads. */
  readonly direction: FeatureDirection;
  /** How raw probe scores become the classifier's scores (smoothing or segmentation; see score_method.ts). */
  readonly method: ScoreMethod;
  /** How the biLM reads documents for the probe's features (reading.ts). */
  readonly reading: Reading;
  /** The lexicon whose evidence is added to a share of the probe's logit (lexicon.ts), or null for the probe alone. */
  readonly lexicon: LexiconUse | null;
  /** Ids after which a sentence or line ends (segmentation and smoothing use them). */
  private readonly boundaryTable: Uint8Array;

  /**
   * `layer`: one layer or a set of layers read together; `method`: a {@link ScoreMethod}, or a
   * smoothing radius (0 = the raw probe); `reading`: how the biLM reads documents; `lexicon`: a
   * lexicon and the share of the probe's logit added to its evidence.
   * @throws RangeError for a probe of another width, a bad radius or probe weight; TokenfilterError (E_OPTION) for an unknown reading.
   */
  constructor(
    bilm: BiLM, bilmPath: string, layer: LayerChoice, probe: LogisticModel, threshold: number, report: unknown = null, direction: FeatureDirection = 'both',
    method: ScoreMethod | number = 0, reading: Reading = 'window', lexicon: LexiconUse | null = null,
  ) {
    if (lexicon && !(Number.isFinite(lexicon.probeWeight) && lexicon.probeWeight >= 0))
      throw new CodedRangeError(`the probe's weight beside a lexicon must be finite and non-negative, got ${lexicon.probeWeight}`);
    this.lexicon = lexicon;
    const layers = layerSetOf(layer, bilm.layerCount);
    if (probe.dimension !== layerSetDimension(bilm, layers, direction))
      throw new CodedRangeError(`probe has ${probe.dimension} features, the biLM gives ${layerSetDimension(bilm, layers, direction)} at layers ${layerSetName(layers)} (${direction})`);
    if (typeof method === 'number' && (!Number.isInteger(method) || method < 0)) throw new CodedRangeError(`smoothing must be a non-negative integer, got ${method}`);
    this.method = typeof method === 'number' ? { kind: 'smooth', radius: method } : method;
    this.boundaryTable = boundaryIds(bilm.tokenizer);
    this.reading = parseReading(reading);
    this.direction = direction;
    this.bilm = bilm;
    this.bilmPath = bilmPath;
    this.layers = layers;
    this.layer = layers[layers.length - 1];
    this.probe = probe;
    this.threshold = threshold;
    this.report = report;
  }

  /** The smoothing radius when {@link TokenClassifier.method} smooths (0 = raw), else 0. */
  get smoothing(): number {
    return this.method.kind === 'smooth' ? this.method.radius : 0;
  }

  /**
   * Fits a probe per layer on the training tokens and keeps the layer, scoring method and
   * threshold with the best blend on the validation kinds ({@link selectOnBlend}).
   * @throws RangeError for no labelled tokens or a class absent; TokenfilterError (E_OPTION) for no validation data; AbortError.
   */
  static async train(options: TrainTokenClassifierOptions): Promise<{ classifier: TokenClassifier; sweep: LayerResult[] }> {
    const { bilm } = options;
    parseReading(options.reading ?? 'window');
    const layers = options.layers ?? Array.from({ length: bilm.layerCount }, (_, l) => l);
    if (layers.length === 0) throw new CodedRangeError('layers must not be empty');
    const methods = methodsOf(options);
    const objective = options.blendObjective ?? 'mean';
    checkBlendObjective(objective);
    const table = boundaryIds(bilm.tokenizer);
    const sets = validationSets(options).map((s) => ({ ...s, boundaries: s.sequences.map((q) => boundariesOf(q.tokens, table)) }));
    const sweep: LayerResult[] = [];
    checkMixtureScales(options.mixtures ?? []);
    const all: (LayerCandidates['evaluated'][number] & { layers: LayerSet; probe: LogisticModel; mixtureScale?: number; probeWeight?: number })[] = [];
    const entries: LayerCandidates[] = [];
    const singles: LayerCandidates[] = [];
    const keep = ({ candidates, result }: { candidates: LayerCandidates; result: LayerResult }) => {
      sweep.push(result);
      options.onLayer?.(result);
      all.push(...candidates.evaluated.map((e) => ({ ...e, layers: candidates.layers, probe: candidates.probe, mixtureScale: result.mixtureScale, probeWeight: result.probeWeight })));
      if (result.probeWeight === undefined) entries.push(candidates);
    };
    for (const entry of layers) {
      const swept = await sweepLayer(options, layerSetOf(entry, bilm.layerCount), sets, methods);
      keep(swept);
      if (swept.candidates.layers.length === 1 && !singles.some((c) => c.layers[0] === swept.candidates.layers[0])) singles.push(swept.candidates);
    }
    for (const mixed of mixtureCandidates(singles, options.mixtures ?? [], methods, sweep[0].trainTokens, objective)) keep(mixed);
    if (options.lexicon) {
      const weights = options.probeWeights ?? LEXICON_PROBE_WEIGHTS;
      if (weights.length === 0 || weights.some((w) => !(Number.isFinite(w) && w >= 0))) throw new CodedRangeError(`probeWeights must be finite non-negative numbers, got ${weights.join(', ')}`);
      for (const withLexicon of lexiconCandidates(entries, options.lexicon, weights, methodsOf(options, true), sweep[0].trainTokens, objective)) keep(withLexicon);
    }
    const best = all[selectOnBlend(all.map(asSetting))];
    const chosen = {
      layer: best.layers[best.layers.length - 1], layers: best.layers, ...(best.mixtureScale !== undefined ? { mixtureScale: best.mixtureScale } : {}),
      ...(best.probeWeight !== undefined ? { probeWeight: best.probeWeight } : {}), method: best.method, methodName: describeScoreMethod(best.method),
      threshold: best.blend.threshold, blendF1: best.blend.objective, blendObjective: objective, kinds: best.blend.kinds,
    };
    const lexicon = best.probeWeight !== undefined && options.lexicon ? { lexicon: options.lexicon, probeWeight: best.probeWeight } : null;
    const classifier = new TokenClassifier(
      bilm, options.bilmPath, best.layers, best.probe, best.blend.threshold, { sweep, chosen }, options.direction ?? 'both', best.method, options.reading ?? 'window', lexicon,
    );
    return { classifier, sweep };
  }

  /**
   * Loads a file written by {@link TokenClassifier.save} and its biLM, the biLM's two models on
   * `options.device` (default TOKENFILTER_DEVICE, else 'cpu'): scoring then computes the
   * features there (the probe itself runs on the CPU).
   * @throws SafetensorsError; TokenfilterError E_DEVICE when `device: 'cuda'` is not available.
   */
  static async load(path: string, options: DeviceOptions = {}): Promise<TokenClassifier> {
    const { file, bilm } = await readProbeFile(path, 'token', options);
    const lexicon = file.lexicon ? { lexicon: new Lexicon(bilm.tokenizer, file.lexicon.weights, file.lexicon.fit, file.lexicon.features), probeWeight: file.lexicon.probeWeight } : null;
    return new TokenClassifier(
      bilm, file.bilmPath, file.layers ?? file.layer, file.probe, file.threshold, file.report, file.direction, file.scoring ?? file.smoothing ?? 0, file.reading ?? 'window', lexicon,
    );
  }

  /** Saves the probe with a reference to (and checksum of) the biLM file. */
  async save(path: string): Promise<void> {
    await writeProbeFile(path, {
      kind: 'token', layer: this.layer, layers: this.layers, probe: this.probe, threshold: this.threshold, bilmPath: this.bilmPath, report: this.report, direction: this.direction,
      smoothing: this.smoothing, scoring: this.method, reading: this.reading,
      ...(this.lexicon ? { lexicon: { weights: this.lexicon.lexicon.weights, probeWeight: this.lexicon.probeWeight, fit: this.lexicon.lexicon.fit, features: this.lexicon.lexicon.features } } : {}),
    });
  }

  /** The same probe with another scoring method (and optionally threshold): for evaluating overrides. */
  withMethod(method: ScoreMethod, threshold = this.threshold): TokenClassifier {
    return new TokenClassifier(this.bilm, this.bilmPath, this.layers, this.probe, threshold, this.report, this.direction, method, this.reading, this.lexicon);
  }

  /** The same probe reading documents another way (for evaluating overrides; the probe was fitted under {@link TokenClassifier.reading}). */
  withReading(reading: Reading): TokenClassifier {
    return new TokenClassifier(this.bilm, this.bilmPath, this.layers, this.probe, this.threshold, this.report, this.direction, this.method, reading, this.lexicon);
  }

  /** The same probe with another lexicon use (another share of the probe's logit), or none: for evaluating overrides. */
  withLexicon(lexicon: LexiconUse | null): TokenClassifier {
    return new TokenClassifier(this.bilm, this.bilmPath, this.layers, this.probe, this.threshold, this.report, this.direction, this.method, this.reading, lexicon);
  }

  /**
   * The raw probabilities of every token of each document (any length; see {@link BiLM.featuresOfDocuments}):
   * the probe's, or with a lexicon the sigmoid of its evidence plus its share of the probe's logit
   * (the biLM is not run when that share is 0).
   */
  async rawScores(documents: readonly Uint32Array[], options: { batch?: number; signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    const lexicon = this.lexicon;
    if (lexicon?.probeWeight === 0) return documents.map((d) => combineWithLexicon(null, lexicon.lexicon.evidence(d), 0));
    const features = await featuresOfLayers(this.bilm, documents, this.layers, { ...options, direction: this.direction, reading: this.reading });
    const probe = features.map((f) => this.probe.predict(f));
    return lexicon ? probe.map((p, k) => combineWithLexicon(p, lexicon.lexicon.evidence(documents[k]), lexicon.probeWeight)) : probe;
  }

  /**
   * Per-token scores for each document: the raw probe's probabilities turned into scores by
   * {@link TokenClassifier.method} (smoothing within lines, or segmentation; see score_method.ts).
   */
  async scoreDocuments(documents: readonly Uint32Array[], options: { batch?: number; signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    const raw = await this.rawScores(documents, options);
    return raw.map((p, k) => applyScoreMethod(p, this.method, boundariesOf(documents[k], this.boundaryTable)));
  }
}
