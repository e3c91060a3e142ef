/**
 * The bidirectional LM behind the classifiers: two causal Transformers, one trained on text
 * left to right and one on the same windows reversed. The features at position t are the
 * forward model's state at t (it has read tokens ≤ t) concatenated with the backward model's
 * state at t (it has read tokens ≥ t).
 *
 * File layout: one safetensors file, tensors `forward.<name>` and `backward.<name>` (names as in
 * {@link Transformer}); `__metadata__` holds `format` = `tokenfilter.bilm`, both configs and the
 * whole tokenizer (JSON), so a biLM file alone can encode and score text.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import type { Batch } from '../data/batch.js';
import { Tokenizer } from '../data/tokenizer.js';
import { readSafetensors, writeSafetensors, SafetensorsError } from '../model/safetensors.js';
import { trainMasked, type TrainOptions, type TrainSummary } from '../model/train.js';
import { Transformer, parametersFromFile } from '../model/transformer.js';
import { resolveTransformerConfig, type TransformerConfig, type TransformerOptions } from '../model/config.js';
import { checkTransformerTensors } from '../model/expected_tensors.js';
import type { DeviceOptions } from '../device.js';
import type { WindowPiece } from './windows.js';
import { parseReading, planReading, type Reading } from './reading.js';
import { boundaryIds } from './segmentation.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** Format identifier of biLM files. */
export const BILM_FORMAT = 'tokenfilter.bilm';

/** Options of {@link BiLM.create}: one Transformer config for both directions (vocabSize from the tokenizer). */
export type BiLMOptions = Omit<TransformerOptions, 'vocabSize'>;

/** Which models' states make the features: both (default), or one direction alone (for comparisons). */
export type FeatureDirection = 'both' | 'forward' | 'backward';

/** Options of {@link BiLM.features}. */
export interface FeatureOptions {
  /** Default 'both': [forward state, backward state]; one direction gives only its C features. */
  direction?: FeatureDirection;
  /**
   * Rows per native call for full-context pieces (default 16); shorter pieces (sentences, short
   * documents) go up to batch × context / length rows per call, the same tokens per call. A
   * call reads pieces of one length, unpadded.
   */
  batch?: number;
  /** How documents are cut into the sequences the models read (default 'window'; see reading.ts). */
  reading?: Reading;
  /** Stops between native calls with an AbortError. */
  signal?: AbortSignal;
}

/** A batch with each row reversed: the backward model's training batch for the same windows. */
export function reverseBatch(batch: Batch): Batch {
  const { batch: B, context: T } = batch;
  const inputs = new Uint32Array(B * T);
  const targets = new Uint32Array(B * T);
  const lossMask = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) {
    const o = b * T;
    // window w[0..T]: inputs w[0..T), targets w[1..T]; reversed, inputs are the targets read backwards
    for (let t = 0; t < T; t++) {
      inputs[o + t] = batch.targets[o + T - 1 - t];
      targets[o + t] = batch.inputs[o + T - 1 - t];
      lossMask[o + t] = batch.lossMask[o + T - 1 - t];
    }
  }
  return { inputs, targets, lossMask, batch: B, context: T };
}

/**
 * A bidirectional LM: a left-to-right and a right-to-left Transformer sharing one tokenizer.
 * Create with {@link BiLM.create}, train with {@link BiLM.train}, read features with
 * {@link BiLM.featuresOfDocuments}; save / load as one safetensors file.
 */
export class BiLM {
  /** Left-to-right and right-to-left models (same config). */
  readonly forward: Transformer;
  readonly backward: Transformer;
  readonly tokenizer: Tokenizer;

  private constructor(forward: Transformer, backward: Transformer, tokenizer: Tokenizer) {
    this.forward = forward;
    this.backward = backward;
    this.tokenizer = tokenizer;
  }

  /**
   * Two freshly initialised models (the backward one seeded with seed + 1).
   * @throws TypeError / RangeError for an invalid config.
   */
  static async create(tokenizer: Tokenizer, options: BiLMOptions): Promise<BiLM> {
    if (!(tokenizer instanceof Tokenizer)) throw new CodedTypeError('tokenizer must be a Tokenizer');
    const seed = options.seed ?? 0;
    const forward = await Transformer.create({ ...options, vocabSize: tokenizer.vocabSize, seed });
    const backward = await Transformer.create({ ...options, vocabSize: tokenizer.vocabSize, seed: seed + 1 });
    return new BiLM(forward, backward, tokenizer);
  }

  /**
   * A biLM whose forward direction is `forward`, a causal LM already trained on the same text
   * with the same tokenizer, and whose backward direction is a fresh model of the same config
   * (seeded with the forward config's seed + 1); train it with {@link BiLM.trainDirection}
   * ('backward'). Spares half of the pretraining when such an LM exists (the demo's labeller LM).
   * @throws TypeError / RangeError when the model's vocabulary is not the tokenizer's.
   */
  static async withForward(forward: Transformer, tokenizer: Tokenizer): Promise<BiLM> {
    if (!(tokenizer instanceof Tokenizer)) throw new CodedTypeError('tokenizer must be a Tokenizer');
    if (forward.config.vocabSize !== tokenizer.vocabSize)
      throw new CodedRangeError(`the forward model's vocabulary (${forward.config.vocabSize}) is not the tokenizer's (${tokenizer.vocabSize})`);
    const backward = await Transformer.create({ ...forward.config, seed: (forward.config.seed ?? 0) + 1 });
    return new BiLM(forward, backward, tokenizer);
  }

  /**
   * Loads a file written by {@link BiLM.save}, both models on `options.device` (default
   * TOKENFILTER_DEVICE, else 'cpu'; see {@link DeviceOptions}), so {@link BiLM.featuresOfDocuments}
   * runs its forward passes there.
   * @throws SafetensorsError for a malformed file, a wrong format or a missing / misshapen tensor
   *   (checked before the models are allocated); TokenfilterError E_TOO_LARGE for a config
   *   beyond MAX_LOAD_PARAMETERS, E_DEVICE when `device: 'cuda'` is not available.
   */
  static async load(path: string, options: DeviceOptions = {}): Promise<BiLM> {
    const file = await readSafetensors(path);
    const m = file.metadata;
    if (m.format !== BILM_FORMAT) throw new SafetensorsError(`${path}: not a tokenfilter biLM (metadata format = ${JSON.stringify(m.format)})`);
    let tokenizer: Tokenizer;
    let configs: [TransformerOptions, TransformerOptions];
    try {
      tokenizer = Tokenizer.fromJSON(m.tokenizer ?? '');
      configs = [JSON.parse(m.forward_config ?? ''), JSON.parse(m.backward_config ?? '')];
    } catch (error) {
      throw new SafetensorsError(`${path}: bad biLM metadata: ${(error as Error).message}`);
    }
    let resolved: TransformerConfig[];
    try {
      resolved = configs.map((c) => resolveTransformerConfig(c));
    } catch (error) {
      throw new SafetensorsError(`${path}: bad biLM metadata: ${(error as Error).message}`);
    }
    const prefixes = ['forward.', 'backward.'];
    // Every tensor is checked against its config before either model is allocated.
    resolved.forEach((config, k) => checkTransformerTensors(file, config, path, prefixes[k]));
    const models = resolved.map((c) => Transformer.uninitialized(c, options));
    models.forEach((model, k) => model.setParameters(parametersFromFile(model, file, path, prefixes[k])));
    if (models[0].config.vocabSize !== tokenizer.vocabSize)
      throw new SafetensorsError(`${path}: model vocabulary ${models[0].config.vocabSize} differs from the tokenizer's ${tokenizer.vocabSize}`);
    return new BiLM(models[0], models[1], tokenizer);
  }

  /** Saves both models and the tokenizer in one safetensors file (atomic write). */
  async save(path: string): Promise<void> {
    const tensors = [
      ...this.forward.namedTensors(this.forward.getParameters(), 'forward.'),
      ...this.backward.namedTensors(this.backward.getParameters(), 'backward.'),
    ];
    await writeSafetensors(path, tensors, {
      format: BILM_FORMAT,
      format_version: '1',
      forward_config: JSON.stringify(this.forward.config),
      backward_config: JSON.stringify(this.backward.config),
      tokenizer: JSON.stringify(this.tokenizer.toJSON()),
      tokenizer_hash: this.tokenizer.hash,
    });
  }

  /** Layers a feature can be read at: 0 (embeddings) … L + 1 (after the final norm). */
  get layerCount(): number {
    return this.forward.config.layers + 2;
  }

  /** Feature width: 2 × dModel for both directions, dModel for one. */
  dimensionOf(direction: FeatureDirection = 'both'): number {
    return (direction === 'both' ? 2 : 1) * this.forward.config.dModel;
  }

  /** Feature width of both directions: 2 × dModel. */
  get dimension(): number {
    return this.dimensionOf('both');
  }

  /** Parameters of both directions together. */
  parameterCount(): number {
    return this.forward.parameterCount().total + this.backward.parameterCount().total;
  }

  /**
   * Trains both directions with {@link trainMasked}: the forward model on `batches()`, then the
   * backward model on the same batches with every row reversed ({@link reverseBatch}).
   * `batches` is called once per direction and must give the same sequence both times (e.g. a
   * BatchSampler with a fixed seed). `onProgress` gets the direction with each step.
   */
  async train(
    batches: () => Iterable<Batch> | AsyncIterable<Batch>,
    options: Omit<TrainOptions, 'onProgress' | 'checkpointPath' | 'resumeFrom'> & {
      onProgress?: (direction: 'forward' | 'backward', progress: Parameters<NonNullable<TrainOptions['onProgress']>>[0]) => void;
    } = {},
  ): Promise<{ forward: TrainSummary; backward: TrainSummary }> {
    const forward = await this.trainDirection('forward', batches(), options);
    const backward = await this.trainDirection('backward', batches(), options);
    return { forward, backward };
  }

  /**
   * Trains one direction with {@link trainMasked}: the forward model on `batches`, or the
   * backward model on them with every row reversed ({@link reverseBatch}).
   */
  async trainDirection(
    direction: 'forward' | 'backward',
    batches: Iterable<Batch> | AsyncIterable<Batch>,
    options: Omit<TrainOptions, 'onProgress' | 'checkpointPath' | 'resumeFrom'> & {
      onProgress?: (direction: 'forward' | 'backward', progress: Parameters<NonNullable<TrainOptions['onProgress']>>[0]) => void;
    } = {},
  ): Promise<TrainSummary> {
    const { onProgress, ...rest } = options;
    const reversed = async function* (source: Iterable<Batch> | AsyncIterable<Batch>) {
      for await (const b of source) yield reverseBatch(b);
    };
    const model = direction === 'forward' ? this.forward : this.backward;
    return trainMasked(model, direction === 'forward' ? batches : reversed(batches), { ...rest, onProgress: (p) => onProgress?.(direction, p) });
  }

  /**
   * Features [n, 2C] of one token sequence of any length n at `layer`; see
   * {@link BiLM.featuresOfDocuments}.
   */
  async features(tokens: Uint32Array, layer: number, options: FeatureOptions = {}): Promise<Float32Array> {
    return (await this.featuresOfDocuments([tokens], layer, options))[0];
  }

  /**
   * Features of many documents at `layer`: for each, a Float32Array [n, 2C] whose row t is the
   * forward state at t then the backward state at t. With `reading: 'window'` (default) a
   * document longer than the context is read in windows overlapping by half (see `planWindows`);
   * each position takes its features from the window where it is most central, so nothing is
   * cut. With `reading: 'sentence'` each sentence is read as its own sequence (reading.ts).
   * Pieces never span two documents.
   * @throws RangeError for a layer outside [0, L + 1] or ids ≥ vocabSize; TokenfilterError
   *   (E_OPTION) for an unknown reading; AbortError.
   */
  async featuresOfDocuments(documents: readonly Uint32Array[], layer: number, options: FeatureOptions = {}): Promise<Float32Array[]> {
    const L = this.forward.config.layers;
    if (!Number.isInteger(layer) || layer < 0 || layer > L + 1) throw new CodedRangeError(`layer must be an integer in [0, ${L + 1}], got ${layer}`);
    const B = options.batch ?? 16;
    if (!Number.isInteger(B) || B < 1) throw new CodedRangeError(`batch must be a positive integer, got ${B}`);
    const reading = parseReading(options.reading ?? 'window');
    const V = this.forward.config.vocabSize;
    documents.forEach((doc, k) => {
      if (!(doc instanceof Uint32Array)) throw new CodedTypeError(`documents[${k}] must be a Uint32Array`);
      for (let i = 0; i < doc.length; i++)
        if (doc[i] >= V) throw new CodedRangeError(`documents[${k}][${i}] = ${doc[i]} is out of range for a vocabulary of ${V}`);
    });
    const direction = options.direction ?? 'both';
    if (!['both', 'forward', 'backward'].includes(direction)) throw new CodedRangeError(`direction must be 'both', 'forward' or 'backward', got '${direction}'`);
    const outputs = documents.map((doc) => new Float32Array(doc.length * this.dimensionOf(direction)));
    const context = this.forward.config.context;
    const table = reading === 'sentence' ? boundaryIds(this.tokenizer) : undefined;
    const pieces: WindowPiece[] = [];
    documents.forEach((doc, k) => {
      for (const p of planReading(doc, context, reading, table)) pieces.push({ ...p, document: k });
    });
    pieces.sort((a, b) => b.length - a.length || a.document - b.document || a.start - b.start);
    for (let first = 0; first < pieces.length; ) {
      throwIfAborted(options.signal, 'feature extraction');
      // one call reads pieces of one length (no padding, so a piece's features never depend on
      // what it is batched with), as many as fill B × context tokens
      const length = pieces[first].length;
      const most = Math.max(B, Math.floor((B * context) / length));
      let rows = 1;
      while (rows < most && first + rows < pieces.length && pieces[first + rows].length === length) rows++;
      await this.readPieces(documents, pieces.slice(first, first + rows), layer, direction, outputs);
      first += rows;
    }
    return outputs;
  }

  /** One native call per direction on `group` (pieces of one length); kept rows go to `outputs`. */
  private async readPieces(
    documents: readonly Uint32Array[], group: readonly WindowPiece[], layer: number, direction: FeatureDirection, outputs: Float32Array[],
  ): Promise<void> {
    const C = this.forward.config.dModel;
    const D = this.dimensionOf(direction);
    const T = group[0].length;
    const rows = group.length;
    const forwardIn = new Uint32Array(rows * T);
    const backwardIn = new Uint32Array(rows * T);
    group.forEach((p, r) => {
      const doc = documents[p.document];
      for (let t = 0; t < p.length; t++) {
        forwardIn[r * T + t] = doc[p.start + t];
        backwardIn[r * T + t] = doc[p.start + p.length - 1 - t];
      }
    });
    const [hf, hb] = await Promise.all([
      direction !== 'backward' ? this.forward.hiddenStates(forwardIn, layer, { batch: rows, context: T }) : null,
      direction !== 'forward' ? this.backward.hiddenStates(backwardIn, layer, { batch: rows, context: T }) : null,
    ]);
    group.forEach((p, r) => {
      const out = outputs[p.document];
      for (let t = p.keepFrom; t < p.keepTo; t++) {
        const local = t - p.start;
        const at = t * D;
        if (hf) out.set(hf.subarray((r * T + local) * C, (r * T + local + 1) * C), at);
        const reversed = p.length - 1 - local;
        if (hb) out.set(hb.subarray((r * T + reversed) * C, (r * T + reversed + 1) * C), hf ? at + C : at);
      }
    });
  }
}
