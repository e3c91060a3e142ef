/**
 * Per-token classifier: a logistic probe on the biLM's features at one layer, the layer chosen
 * by a sweep on validation data. Scores are probabilities of the positive (forget) class.
 * @module
 */
import { Random } from './sampling.js';
import type { BiLM, FeatureDirection } from './bilm.js';
import { UNLABELLED, type LabelledSequence } from './labels.js';
import { fitLogistic, type LogisticModel, type LogisticOptions } from './logistic.js';
import { binaryMetrics, precisionRecallCurve, type BinaryMetrics } from './metrics.js';
import { readProbeFile, writeProbeFile } from './probe_file.js';
import { breaksOf, lineBreakIds, smoothScores } from './smoothing.js';

/** Validation result of one layer of a sweep. */
export interface LayerResult {
  layer: number;
  /** Metrics at the max-F1 threshold on the validation data. */
  maxF1: BinaryMetrics;
  /** Metrics at 0.5. */
  atHalf: BinaryMetrics;
  /** The smoothing radius (tokens each side) that gave `maxF1`; 0 = none. */
  smoothing: number;
  /** Max-F1 metrics of the raw, unsmoothed scores. */
  maxF1Unsmoothed: BinaryMetrics;
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
  val: readonly LabelledSequence[];
  /** Layers to sweep (default every layer 0 … L + 1). */
  layers?: readonly number[];
  /** Features of both directions (default) or one alone (a unidirectional baseline). */
  direction?: FeatureDirection;
  /** Fit on at most this many labelled training tokens, drawn uniformly (default 200 000). */
  maxTrainTokens?: number;
  /** Seed of that draw (default 0). */
  seed?: number;
  /**
   * Smoothing radii to try on the validation data, per layer (see `smoothScores`); the best
   * is kept with the probe. Default {@link DEFAULT_SMOOTHING_RADII}; `[0]` for raw scores.
   */
  smoothing?: readonly number[];
  logistic?: Omit<LogisticOptions, 'signal'>;
  /** Called after each layer of the sweep. */
  onLayer?: (result: LayerResult) => void;
  signal?: AbortSignal;
}

/** Smoothing radii tried by default when a token probe is trained. */
export const DEFAULT_SMOOTHING_RADII: readonly number[] = [0, 2, 4, 8, 16, 32, 64, 128];

/** Features and labels of the labelled tokens of `sequences`, optionally subsampled. */
export async function labelledFeatures(
  bilm: BiLM, sequences: readonly LabelledSequence[], layer: number, limit: number, seed: number,
  options: { signal?: AbortSignal; direction?: FeatureDirection } = {},
): Promise<{ features: Float32Array; labels: Uint8Array }> {
  const D = bilm.dimensionOf(options.direction);
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
    const feats = await bilm.featuresOfDocuments(part.map((s) => s.tokens), layer, options);
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

/** Raw probe probabilities of every token of each sequence, per sequence. */
async function documentScores(
  bilm: BiLM, probe: LogisticModel, sequences: readonly LabelledSequence[], layer: number, options: { signal?: AbortSignal; direction?: FeatureDirection },
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const chunk = 64;
  for (let first = 0; first < sequences.length; first += chunk) {
    const feats = await bilm.featuresOfDocuments(sequences.slice(first, first + chunk).map((s) => s.tokens), layer, options);
    for (const f of feats) out.push(probe.predict(f));
  }
  return out;
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

/**
 * Scores every token: a logistic probe on the biLM's features at one layer. Train with
 * {@link TokenClassifier.train} (layer sweep), score with {@link TokenClassifier.scoreDocuments},
 * save / load with a checksummed reference to the biLM file.
 */
export class TokenClassifier {
  /** The biLM and the path of its file. */
  readonly bilm: BiLM;
  readonly bilmPath: string;
  /** The layer the probe reads (0 … L + 1). */
  readonly layer: number;
  /** The fitted probe. */
  readonly probe: LogisticModel;
  /** Decision threshold: the max-F1 threshold on validation data. */
  readonly threshold: number;
  /** How it was trained (sweep results), as saved. */
  readonly report: unknown;
  /** Which directions' states the probe reads. */
  readonly direction: FeatureDirection;
  /** Scores are smoothed over this many tokens each side (`smoothScores`); 0 = raw probe scores. */
  readonly smoothing: number;
  /** Ids whose text holds a line break: smoothing windows stop there. */
  private readonly lineBreaks: Uint8Array;

  constructor(
    bilm: BiLM, bilmPath: string, layer: number, probe: LogisticModel, threshold: number, report: unknown = null, direction: FeatureDirection = 'both', smoothing = 0,
  ) {
    if (probe.dimension !== bilm.dimensionOf(direction))
      throw new RangeError(`probe has ${probe.dimension} features, the biLM gives ${bilm.dimensionOf(direction)} (${direction})`);
    if (!Number.isInteger(smoothing) || smoothing < 0) throw new RangeError(`smoothing must be a non-negative integer, got ${smoothing}`);
    this.smoothing = smoothing;
    this.lineBreaks = lineBreakIds(bilm.tokenizer);
    this.direction = direction;
    this.bilm = bilm;
    this.bilmPath = bilmPath;
    this.layer = layer;
    this.probe = probe;
    this.threshold = threshold;
    this.report = report;
  }

  /**
   * Fits a probe per layer on the training tokens and keeps the layer with the best max-F1 on
   * the validation tokens.
   * @throws RangeError for no labelled tokens or a class absent; AbortError.
   */
  static async train(options: TrainTokenClassifierOptions): Promise<{ classifier: TokenClassifier; sweep: LayerResult[] }> {
    const { bilm } = options;
    const layers = options.layers ?? Array.from({ length: bilm.layerCount }, (_, l) => l);
    if (layers.length === 0) throw new RangeError('layers must not be empty');
    const limit = options.maxTrainTokens ?? 200_000;
    const direction = options.direction ?? 'both';
    const featureOptions = { signal: options.signal, direction };
    const radii = options.smoothing ?? DEFAULT_SMOOTHING_RADII;
    if (radii.length === 0) throw new RangeError('smoothing must list at least one radius (0 for none)');
    for (const r of radii) if (!Number.isInteger(r) || r < 0) throw new RangeError(`smoothing radii must be non-negative integers, got ${r}`);
    const lineBreaks = lineBreakIds(bilm.tokenizer);
    const valBreaks = options.val.map((s) => breaksOf(s.tokens, lineBreaks));
    const sweep: LayerResult[] = [];
    let best: { layer: number; probe: LogisticModel; threshold: number; f1: number; smoothing: number } | null = null;
    for (const layer of layers) {
      const started = performance.now();
      const train = await labelledFeatures(bilm, options.train, layer, limit, options.seed ?? 0, featureOptions);
      const probe = await fitLogistic(train.features, train.labels, bilm.dimensionOf(direction), { ...options.logistic, signal: options.signal });
      const raw = await documentScores(bilm, probe, options.val, layer, featureOptions);
      const plain = labelledScores(options.val, raw);
      const unsmoothed = precisionRecallCurve(plain.scores, plain.labels).maxF1;
      let chosen: { smoothing: number; maxF1: BinaryMetrics; scores: Float32Array; labels: Uint8Array } | null = null;
      for (const radius of radii) {
        const { scores, labels } = radius === 0 ? plain : labelledScores(options.val, raw.map((p, k) => smoothScores(p, radius, valBreaks[k])));
        const maxF1 = radius === 0 ? unsmoothed : precisionRecallCurve(scores, labels).maxF1;
        if (!chosen || maxF1.f1 > chosen.maxF1.f1) chosen = { smoothing: radius, maxF1, scores, labels };
      }
      const { scores, labels } = chosen!;
      const result: LayerResult = {
        layer, maxF1: chosen!.maxF1, atHalf: binaryMetrics(scores, labels, 0.5), smoothing: chosen!.smoothing, maxF1Unsmoothed: unsmoothed,
        trainTokens: train.labels.length, fitIterations: probe.fit.iterations, seconds: (performance.now() - started) / 1000,
      };
      sweep.push(result);
      options.onLayer?.(result);
      if (!best || result.maxF1.f1 > best.f1) best = { layer, probe, threshold: result.maxF1.threshold, f1: result.maxF1.f1, smoothing: result.smoothing };
    }
    const classifier = new TokenClassifier(bilm, options.bilmPath, best!.layer, best!.probe, best!.threshold, { sweep }, direction, best!.smoothing);
    return { classifier, sweep };
  }

  /** Loads a file written by {@link TokenClassifier.save} and its biLM. @throws SafetensorsError. */
  static async load(path: string): Promise<TokenClassifier> {
    const { file, bilm } = await readProbeFile(path, 'token');
    return new TokenClassifier(bilm, file.bilmPath, file.layer, file.probe, file.threshold, file.report, file.direction, file.smoothing ?? 0);
  }

  /** Saves the probe with a reference to (and checksum of) the biLM file. */
  async save(path: string): Promise<void> {
    await writeProbeFile(path, {
      kind: 'token', layer: this.layer, probe: this.probe, threshold: this.threshold, bilmPath: this.bilmPath, report: this.report, direction: this.direction,
      smoothing: this.smoothing,
    });
  }

  /**
   * Per-token probabilities for each document (any length; see {@link BiLM.featuresOfDocuments}),
   * smoothed within each line of each document by {@link TokenClassifier.smoothing} (see `smoothScores`).
   */
  async scoreDocuments(documents: readonly Uint32Array[], options: { batch?: number; signal?: AbortSignal } = {}): Promise<Float32Array[]> {
    const features = await this.bilm.featuresOfDocuments(documents, this.layer, { ...options, direction: this.direction });
    return features.map((f, k) => smoothScores(this.probe.predict(f), this.smoothing, breaksOf(documents[k], this.lineBreaks)));
  }
}
