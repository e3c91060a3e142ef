/**
 * `trainMasked`: AdamW training with a per-token loss mask, off the JS thread.
 * @module
 */
import { abortError, isAborted, nativeCancelFlag } from '../abort.js';
import { validateBatch, type Batch } from '../data/batch.js';
import { restoreCheckpoint, saveCheckpoint, type TrainingState } from './checkpoint.js';
import { cosineSchedule } from './schedule.js';
import type { Transformer } from './transformer.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';
import { Tokenizer } from '../data/tokenizer.js';
import type { RecordedContract } from '../data/tokenizer_contract.js';
import { recordedContractOf, tokenizerMetadata } from './model_tokenizer.js';
import { stripUndefined } from '../options.js';

/** Progress after each optimizer step. */
export interface TrainProgress {
  /** Optimizer steps done (1 after the first). */
  step: number;
  /** Total steps when known. */
  totalSteps: number | undefined;
  /** Mean loss over the step's unmasked targets (0 if all were masked). */
  loss: number;
  /** Learning rate used by this step. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Tokens per second of this step (B × T × micro-batches / wall time). */
  tokensPerSecond: number;
  /** Running totals. */
  tokens: number;
  supervisedTokens: number;
  flops: number;
}

/** Options of {@link trainMasked}; every default is in {@link TRAIN_DEFAULTS}. */
export interface TrainOptions {
  /** Peak learning rate (≥ 0). Default 1e-3. */
  lr?: number;
  /** AdamW β1 in [0, 1). Default 0.9. */
  beta1?: number;
  /** AdamW β2 in [0, 1). Default 0.95. */
  beta2?: number;
  /** AdamW ε (> 0). Default 1e-7 (as in the paper). */
  eps?: number;
  /** Decoupled weight decay on the linear layers' matrices only (≥ 0). Default 0.1. */
  weightDecay?: number;
  /** Global gradient-norm clip (> 0), or 0 to disable. Default 1.0. */
  clip?: number;
  /**
   * Optimizer steps to run (integer ≥ 1). Default: ⌈batches.length / accumulation⌉ when
   * `batches` is an array; otherwise until the iterable ends. Training also stops when the
   * iterable ends first.
   */
  steps?: number;
  /** Warm-up steps. Default 10% of the total steps when known (rounded down), else 0. */
  warmupSteps?: number;
  /** Final learning rate as a fraction of the peak (cosine decay). Default 0.1. */
  minLrRatio?: number;
  /** Micro-batches per optimizer step (gradient accumulation, integer ≥ 1). Default 1. */
  accumulation?: number;
  /** Called after every step. */
  onProgress?: (progress: TrainProgress) => void;
  /** Stops training at the next step (or micro-batch); the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Where to write checkpoints (atomic). Default: none. */
  checkpointPath?: string;
  /** Write a checkpoint every this many steps (needs `checkpointPath`); one is also written at the end. Default 0 (only at the end). */
  checkpointEvery?: number;
  /**
   * Resume from this checkpoint: restores parameters, AdamW state and totals, and skips the
   * batches already consumed from `batches` (which must therefore yield the same sequence as
   * in the interrupted run). With the same options and thread count the result is bit-identical
   * to an uninterrupted run.
   */
  resumeFrom?: string;
  /**
   * The tokenizer of the training data: checkpoints record it (its JSON too unless
   * `embedTokenizer` is false; a bare contract alone), and `resumeFrom` a checkpoint recording
   * another one is refused with TokenfilterError E_TOKENIZER_MISMATCH. Default: none recorded.
   */
  tokenizer?: Tokenizer | RecordedContract;
  /** Embed the tokenizer JSON in checkpoints (default true; see lib/model/model_tokenizer.ts). */
  embedTokenizer?: boolean;
  /** Call `evaluate(model, step)` every this many steps. Default 0 (never). */
  evaluateEvery?: number;
  /** Evaluation hook; may be async; it may call the model's inference methods. */
  evaluate?: (model: Transformer, step: number) => void | Promise<void>;
}

/** What a training run did (totals include the part before a resume). */
export interface TrainSummary {
  steps: number;
  batchesConsumed: number;
  tokens: number;
  supervisedTokens: number;
  /** Training FLOPs: Σ tokens × Transformer.flopsPerToken(T) (6·N·D plus attention). */
  flops: number;
  /** Loss of the last step (NaN if no step ran). */
  finalLoss: number;
  lossHistory: number[];
  /** Wall time of this call in milliseconds. */
  elapsedMs: number;
  /** Wall-clock seconds of the whole run: this call plus every segment before a resume (as recorded in its checkpoint). */
  totalSeconds: number;
}

/** Defaults of every {@link TrainOptions} field that has one. */
export const TRAIN_DEFAULTS = Object.freeze({
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-7,
  weightDecay: 0.1,
  clip: 1.0,
  minLrRatio: 0.1,
  accumulation: 1,
  checkpointEvery: 0,
  evaluateEvery: 0,
  warmupFraction: 0.1,
});

type Resolved = Required<Omit<TrainOptions, 'steps' | 'warmupSteps' | 'onProgress' | 'signal' | 'checkpointPath' | 'resumeFrom' | 'evaluate' | 'tokenizer' | 'embedTokenizer'>> &
  Pick<TrainOptions, 'onProgress' | 'signal' | 'checkpointPath' | 'resumeFrom' | 'evaluate'> & {
    steps: number | undefined;
    warmupSteps: number;
    /** The metadata checkpoints record about the tokenizer ({} when none was given). */
    tokenizerMetadata: Record<string, string>;
    /** The contract a resumed checkpoint must match, when a tokenizer was given. */
    tokenizerContract: RecordedContract | undefined;
  };

const KNOWN = new Set([
  'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'clip', 'steps', 'warmupSteps', 'minLrRatio', 'accumulation',
  'onProgress', 'signal', 'checkpointPath', 'checkpointEvery', 'resumeFrom', 'evaluateEvery', 'evaluate', 'tokenizer', 'embedTokenizer',
]);

function num(value: unknown, name: string, ok: (x: number) => boolean, range: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new CodedTypeError(`${name} must be a finite number, got ${String(value)}`);
  if (!ok(value)) throw new CodedRangeError(`${name} must be ${range}, got ${value}`);
  return value;
}
const int = (value: unknown, name: string, min: number) =>
  num(value, name, (x) => Number.isInteger(x) && x >= min, `an integer ≥ ${min}`);

function contractOf(tokenizer: Tokenizer | RecordedContract): RecordedContract {
  return tokenizer instanceof Tokenizer ? recordedContractOf(tokenizer) : tokenizer;
}

/** Applies defaults and validates every option once. */
export function resolveTrainOptions(options: TrainOptions, batchCount: number | undefined): Resolved {
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  for (const key of Object.keys(options))
    if (!KNOWN.has(key)) throw new CodedTypeError(`unknown training option '${key}' (known: ${[...KNOWN].join(', ')})`);
  const o = { ...TRAIN_DEFAULTS, ...stripUndefined(options) } as TrainOptions & typeof TRAIN_DEFAULTS;
  const accumulation = int(o.accumulation, 'accumulation', 1);
  const steps =
    o.steps !== undefined ? int(o.steps, 'steps', 1) : batchCount !== undefined ? Math.ceil(batchCount / accumulation) : undefined;
  if (steps === 0) throw new CodedRangeError('batches is empty: nothing to train on');
  const warmupSteps =
    o.warmupSteps !== undefined ? int(o.warmupSteps, 'warmupSteps', 0) : steps !== undefined ? Math.floor(steps * o.warmupFraction) : 0;
  if (steps !== undefined && warmupSteps >= steps && warmupSteps > 0)
    throw new CodedRangeError(`warmupSteps (${warmupSteps}) must be below steps (${steps})`);
  for (const key of ['onProgress', 'evaluate'] as const)
    if (o[key] !== undefined && typeof o[key] !== 'function') throw new CodedTypeError(`${key} must be a function`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new CodedTypeError('signal must be an AbortSignal');
  for (const key of ['checkpointPath', 'resumeFrom'] as const)
    if (o[key] !== undefined && (typeof o[key] !== 'string' || o[key] === '')) throw new CodedTypeError(`${key} must be a non-empty string`);
  const checkpointEvery = int(o.checkpointEvery, 'checkpointEvery', 0);
  if (checkpointEvery > 0 && o.checkpointPath === undefined) throw new CodedTypeError('checkpointEvery needs checkpointPath');
  const evaluateEvery = int(o.evaluateEvery, 'evaluateEvery', 0);
  if (evaluateEvery > 0 && o.evaluate === undefined) throw new CodedTypeError('evaluateEvery needs an evaluate callback');
  if (o.embedTokenizer !== undefined && typeof o.embedTokenizer !== 'boolean') throw new CodedTypeError('embedTokenizer must be a boolean');
  const recorded = o.tokenizer === undefined ? {} : tokenizerMetadata(o.tokenizer, { embedTokenizer: o.embedTokenizer });
  return {
    tokenizerMetadata: recorded,
    tokenizerContract: o.tokenizer === undefined ? undefined : contractOf(o.tokenizer),
    lr: num(o.lr, 'lr', (x) => x >= 0, '≥ 0'),
    beta1: num(o.beta1, 'beta1', (x) => x >= 0 && x < 1, 'in [0, 1)'),
    beta2: num(o.beta2, 'beta2', (x) => x >= 0 && x < 1, 'in [0, 1)'),
    eps: num(o.eps, 'eps', (x) => x > 0, '> 0'),
    weightDecay: num(o.weightDecay, 'weightDecay', (x) => x >= 0, '≥ 0'),
    clip: num(o.clip, 'clip', (x) => x >= 0, '≥ 0 (0 disables clipping)'),
    minLrRatio: num(o.minLrRatio, 'minLrRatio', (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    accumulation,
    steps,
    warmupSteps,
    checkpointEvery,
    evaluateEvery,
    onProgress: o.onProgress,
    signal: o.signal,
    checkpointPath: o.checkpointPath,
    resumeFrom: o.resumeFrom,
    evaluate: o.evaluate,
  };
}


/** Reads batches from an iterable or async iterable, counting how many it has handed out. */
class BatchReader {
  position = 0;
  private readonly iterator: AsyncIterator<Batch> | Iterator<Batch>;

  constructor(batches: Iterable<Batch> | AsyncIterable<Batch>) {
    const source = batches as Partial<AsyncIterable<Batch> & Iterable<Batch>>;
    if (typeof source[Symbol.asyncIterator] === 'function') this.iterator = source[Symbol.asyncIterator]!();
    else if (typeof source[Symbol.iterator] === 'function') this.iterator = source[Symbol.iterator]!();
    else throw new CodedTypeError('batches must be an iterable or async iterable of batches');
  }

  /** The next batch, or undefined when the source has ended. */
  async next(): Promise<Batch | undefined> {
    const r = await this.iterator.next();
    if (r.done) return undefined;
    this.position++;
    return r.value;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/**
 * Trains `model` on `batches` (an iterable or async iterable of {@link Batch}) with AdamW,
 * cosine schedule with warm-up, global-norm clipping and gradient accumulation. The loss of a
 * step is the mean over the unmasked targets of its micro-batches; masked targets contribute
 * nothing to it or to any gradient. Each step runs in the native thread pool, off the JS
 * thread. The model is left consistent at every point: an aborted step changes nothing.
 * @throws TypeError / RangeError for invalid options or a malformed batch (before its step);
 *   TokenfilterError E_ABORTED (named 'AbortError') when `signal` fires; SafetensorsError for a bad `resumeFrom`.
 */
export async function trainMasked(
  model: Transformer,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  options: TrainOptions = {},
): Promise<TrainSummary> {
  const started = performance.now();
  const o = resolveTrainOptions(options, Array.isArray(batches) ? batches.length : undefined);
  const schedule = cosineSchedule({ peak: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.steps, minRatio: o.minLrRatio });
  const state: TrainingState = o.resumeFrom
    ? await restoreCheckpoint(o.resumeFrom, model, {
        expectTokenizer: o.tokenizerContract && { contract: o.tokenizerContract, source: 'the training data' },
      })
    : { step: 0, batchesConsumed: 0, tokens: 0, supervisedTokens: 0, flops: 0, lossHistory: [], seconds: 0 };
  const secondsBefore = state.seconds;
  const checkpoint = (path: string) => {
    state.seconds = secondsBefore + (performance.now() - started) / 1000;
    return saveCheckpoint(path, model, state, o.tokenizerMetadata);
  };
  if (o.signal?.aborted) throw abortError('training');

  const { flag: cancel, dispose } = nativeCancelFlag(o.signal, 'training');

  const reader = new BatchReader(batches);
  const next = () => reader.next();
  try {
    while (reader.position < state.batchesConsumed) {
      if ((await next()) === undefined)
        throw new CodedRangeError(`batches ended after ${reader.position} batches; the checkpoint had consumed ${state.batchesConsumed}`);
    }
    let exhausted = false;
    while (!exhausted && (o.steps === undefined || state.step < o.steps)) {
      if (o.signal?.aborted) throw abortError('training');
      const group: Batch[] = [];
      while (group.length < o.accumulation) {
        const b = await next();
        if (b === undefined) { exhausted = true; break; }
        validateBatch(b, model.config.vocabSize, `batches[${reader.position - 1}]`);
        group.push(b);
      }
      if (group.length === 0) break;
      const lr = schedule(state.step);
      const t0 = performance.now();
      let r: { lossSum: number; supervised: number; tokens: number; gradNorm: number };
      try {
        r = await model.trainStep(
          group,
          { zeroGradients: true, update: true, lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, clip: o.clip },
          cancel,
        );
      } catch (error) {
        if (isAborted(error)) throw abortError('training');
        throw error;
      }
      const seconds = (performance.now() - t0) / 1000;
      const loss = r.supervised > 0 ? r.lossSum / r.supervised : 0;
      state.step += 1;
      state.batchesConsumed = reader.position;
      state.tokens += r.tokens;
      state.supervisedTokens += r.supervised;
      for (const b of group) state.flops += b.batch * b.context * model.flopsPerToken(b.context);
      state.lossHistory.push(loss);
      o.onProgress?.({
        step: state.step,
        totalSteps: o.steps,
        loss,
        lr,
        gradNorm: r.gradNorm,
        tokensPerSecond: seconds > 0 ? r.tokens / seconds : 0,
        tokens: state.tokens,
        supervisedTokens: state.supervisedTokens,
        flops: state.flops,
      });
      if (o.evaluateEvery > 0 && state.step % o.evaluateEvery === 0) await o.evaluate!(model, state.step);
      if (o.checkpointEvery > 0 && state.step % o.checkpointEvery === 0) await checkpoint(o.checkpointPath!);
    }
    if (o.checkpointPath !== undefined && !(o.checkpointEvery > 0 && state.step % o.checkpointEvery === 0))
      await checkpoint(o.checkpointPath);
  } finally {
    dispose();
    await reader.close();
  }
  const elapsedMs = performance.now() - started;
  return {
    steps: state.step,
    batchesConsumed: state.batchesConsumed,
    tokens: state.tokens,
    supervisedTokens: state.supervisedTokens,
    flops: state.flops,
    finalLoss: state.lossHistory.length > 0 ? state.lossHistory[state.lossHistory.length - 1] : NaN,
    lossHistory: state.lossHistory,
    elapsedMs,
    totalSeconds: secondsBefore + elapsedMs / 1000,
  };
}
