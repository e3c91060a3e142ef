/**
 * Per-document classifier: a logistic probe on the biLM's features at one layer, mean-pooled
 * over every token of the document (long documents read in overlapping windows).
 * @module
 */
import type { BiLM } from './bilm.js';
import type { DeviceOptions } from '../device.js';
import { fitLogistic, type LogisticModel, type LogisticOptions } from './logistic.js';
import { binaryMetrics, precisionRecallCurve, type BinaryMetrics } from './metrics.js';
import { readProbeFile, writeProbeFile } from './probe_file.js';
import { CodedRangeError } from '../errors.js';

/** A document's tokens and its 0/1 label. */
export interface LabelledDocument {
  tokens: Uint32Array;
  label: 0 | 1;
  id?: string;
}

/** Validation result of one layer of the sweep. */
export interface DocumentLayerResult {
  layer: number;
  maxF1: BinaryMetrics;
  atHalf: BinaryMetrics;
  seconds: number;
}

/** Options of {@link DocumentClassifier.train}. */
export interface TrainDocumentClassifierOptions {
  bilm: BiLM;
  bilmPath: string;
  train: readonly LabelledDocument[];
  val: readonly LabelledDocument[];
  /** Layers to sweep (default every layer). */
  layers?: readonly number[];
  logistic?: Omit<LogisticOptions, 'signal'>;
  onLayer?: (result: DocumentLayerResult) => void;
  signal?: AbortSignal;
}

/** Mean of each document's feature rows at `layer`: [documents, 2C]. Empty documents give zeros. */
export async function pooledFeatures(bilm: BiLM, documents: readonly Uint32Array[], layer: number, signal?: AbortSignal): Promise<Float32Array> {
  const D = bilm.dimension;
  const out = new Float32Array(documents.length * D);
  const chunk = 32;
  for (let first = 0; first < documents.length; first += chunk) {
    const part = documents.slice(first, first + chunk);
    const feats = await bilm.featuresOfDocuments(part, layer, { signal });
    part.forEach((doc, k) => {
      if (doc.length === 0) return;
      const sum = new Float64Array(D);
      const f = feats[k];
      for (let t = 0; t < doc.length; t++) for (let j = 0; j < D; j++) sum[j] += f[t * D + j];
      for (let j = 0; j < D; j++) out[(first + k) * D + j] = sum[j] / doc.length;
    });
  }
  return out;
}

/**
 * Scores whole documents: a logistic probe on the biLM's features mean-pooled over each
 * document. Train with {@link DocumentClassifier.train}; save / load like the token classifier.
 */
export class DocumentClassifier {
  /** The biLM and the path of its file. */
  readonly bilm: BiLM;
  readonly bilmPath: string;
  /** The layer the probe reads (0 … L + 1). */
  readonly layer: number;
  /** The fitted probe on pooled features. */
  readonly probe: LogisticModel;
  /** Decision threshold: the max-F1 threshold on validation documents. */
  readonly threshold: number;
  /** How it was trained (sweep results), as saved. */
  readonly report: unknown;

  constructor(bilm: BiLM, bilmPath: string, layer: number, probe: LogisticModel, threshold: number, report: unknown = null) {
    if (probe.dimension !== bilm.dimension) throw new CodedRangeError(`probe has ${probe.dimension} features, the biLM gives ${bilm.dimension}`);
    this.bilm = bilm;
    this.bilmPath = bilmPath;
    this.layer = layer;
    this.probe = probe;
    this.threshold = threshold;
    this.report = report;
  }

  /**
   * Fits a probe per layer on pooled training documents; keeps the best max-F1 on validation.
   * @throws RangeError if a class is absent from the training documents; AbortError.
   */
  static async train(options: TrainDocumentClassifierOptions): Promise<{ classifier: DocumentClassifier; sweep: DocumentLayerResult[] }> {
    const { bilm } = options;
    const layers = options.layers ?? Array.from({ length: bilm.layerCount }, (_, l) => l);
    if (layers.length === 0) throw new CodedRangeError('layers must not be empty');
    const trainLabels = Uint8Array.from(options.train.map((d) => d.label));
    const valLabels = Uint8Array.from(options.val.map((d) => d.label));
    const sweep: DocumentLayerResult[] = [];
    let best: { layer: number; probe: LogisticModel; threshold: number; f1: number } | null = null;
    for (const layer of layers) {
      const started = performance.now();
      const x = await pooledFeatures(bilm, options.train.map((d) => d.tokens), layer, options.signal);
      const probe = await fitLogistic(x, trainLabels, bilm.dimension, { ...options.logistic, signal: options.signal });
      const scores = probe.predict(await pooledFeatures(bilm, options.val.map((d) => d.tokens), layer, options.signal));
      const { maxF1 } = precisionRecallCurve(scores, valLabels);
      const result = { layer, maxF1, atHalf: binaryMetrics(scores, valLabels, 0.5), seconds: (performance.now() - started) / 1000 };
      sweep.push(result);
      options.onLayer?.(result);
      if (!best || maxF1.f1 > best.f1) best = { layer, probe, threshold: maxF1.threshold, f1: maxF1.f1 };
    }
    return { classifier: new DocumentClassifier(bilm, options.bilmPath, best!.layer, best!.probe, best!.threshold, { sweep }), sweep };
  }

  /**
   * Loads a file written by {@link DocumentClassifier.save}, its biLM's models on
   * `options.device` (default TOKENFILTER_DEVICE, else 'cpu').
   * @throws SafetensorsError; TokenfilterError E_DEVICE when `device: 'cuda'` is not available.
   */
  static async load(path: string, options: DeviceOptions = {}): Promise<DocumentClassifier> {
    const { file, bilm } = await readProbeFile(path, 'document', options);
    return new DocumentClassifier(bilm, file.bilmPath, file.layer, file.probe, file.threshold, file.report);
  }

  /** Saves the probe with a reference to (and checksum of) the biLM file. */
  async save(path: string): Promise<void> {
    await writeProbeFile(path, { kind: 'document', layer: this.layer, probe: this.probe, threshold: this.threshold, bilmPath: this.bilmPath, report: this.report });
  }

  /** Probability of the positive class per document. */
  async scoreDocuments(documents: readonly Uint32Array[], options: { signal?: AbortSignal } = {}): Promise<Float32Array> {
    return this.probe.predict(await pooledFeatures(this.bilm, documents, this.layer, options.signal));
  }
}
