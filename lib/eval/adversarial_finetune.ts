/**
 * Adversarial fine-tuning: how many tokens of forget-domain text an attacker needs to bring a
 * model's forget loss back to the unfiltered baseline's, as the paper measures robustness
 * (AdamW at a constant learning rate chosen from a small sweep as the fastest to recover, fixed
 * batch tokens, stop at the baseline's forget loss or a token budget).
 * @module
 */
import { abortError, isAborted } from '../abort.js';
import { errorCode, TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import type { Batch } from '../data/batch.js';
import { domainLosses } from './domain_loss.js';
import { trainMasked, type TrainProgress } from '../model/train.js';
import { Transformer } from '../model/transformer.js';
import { setSteering, type Steering } from '../steer/steering.js';

/** Held-out forget text: a token stream, with per-token domain labels or without (every token counts). */
export interface ForgetEvalStream {
  tokens: Uint32Array;
  /** One label per token; only targets labelled `forgetLabel` are scored. Absent: all are. */
  labels?: Uint8Array;
}

/** How the forget loss is measured (the same way for the attacked model and the baseline). */
export interface ForgetLossOptions {
  /** Label value of the forget domain in `labels` (integer 0..254). Default 1. */
  forgetLabel?: number;
  /** Window length (default and maximum: the model's context). */
  evalContext?: number;
  /** Windows per forward pass (default 8). */
  evalBatch?: number;
  /** Score at most this many windows (default: every whole window of the stream). */
  maxEvalWindows?: number;
}

/**
 * Mean next-token loss (nats) of `model` on the forget-domain targets of `stream`, in
 * consecutive windows as {@link domainLosses} scores them (no bootstrap).
 * @throws TypeError / RangeError for a malformed stream or options, or when no target of the
 *   forget label falls inside the scored windows.
 */
export async function forgetLoss(model: Transformer, stream: ForgetEvalStream, options: ForgetLossOptions = {}): Promise<number> {
  if (stream === null || typeof stream !== 'object' || !(stream.tokens instanceof Uint32Array))
    throw new CodedTypeError('evalStream.tokens must be a Uint32Array');
  const label = options.forgetLabel ?? 1;
  if (!Number.isInteger(label) || label < 0 || label > 254) throw new CodedRangeError(`forgetLabel must be an integer in [0, 254], got ${label}`);
  const labelled = stream.labels !== undefined;
  const labels = labelled ? stream.labels! : new Uint8Array(stream.tokens.length);
  const names = labelled ? Array.from({ length: label + 1 }, (_, i) => (i === label ? 'forget' : `label${i}`)) : ['forget'];
  const losses = await domainLosses(model, { tokens: stream.tokens, labels }, {
    labelNames: names,
    context: options.evalContext,
    batch: options.evalBatch,
    maxWindows: options.maxEvalWindows,
    bootstrap: 0,
  });
  const forget = losses.forget;
  if (forget.tokens === 0)
    throw new CodedRangeError(`evalStream has no ${labelled ? `target labelled ${label}` : 'target'} in its scored windows`);
  return forget.loss;
}

/** Options of {@link adversarialFinetune}. */
export interface AdversarialFinetuneOptions extends ForgetLossOptions {
  /** Forget loss to reach (the unfiltered baseline's, measured with {@link forgetLoss}); finite. */
  targetLoss: number;
  /** Held-out forget text the loss is measured on. */
  evalStream: ForgetEvalStream;
  /** Token budget (integer ≥ one batch): fine-tuning stops before exceeding it. */
  maxTokens: number;
  /** Evaluate every this many optimizer steps (integer ≥ 1). Default 10. */
  evalEvery?: number;
  /** Constant learning rate (> 0): no warm-up, no decay. Default 3e-4. */
  lr?: number;
  /** AdamW β1 in [0, 1). Default as trainMasked's (0.9). */
  beta1?: number;
  /** AdamW β2 in [0, 1). Default as trainMasked's (0.95). */
  beta2?: number;
  /** AdamW ε > 0. Default as trainMasked's (1e-7). */
  eps?: number;
  /** Decoupled weight decay on the linear layers' matrices (≥ 0). Default as trainMasked's (0.1). */
  weightDecay?: number;
  /** Global gradient-norm clip (> 0, or 0 to disable). Default as trainMasked's (1.0). */
  clip?: number;
  /**
   * Fine-tune `model` itself (its AdamW state is reset first) instead of a copy. Default false:
   * the input model is left untouched and the result carries the fine-tuned copy.
   */
  inPlace?: boolean;
  /** Tokens the model was pretrained on; when given, the result reports the fraction. */
  pretrainingTokens?: number;
  /**
   * Inference-time steering the defender keeps applied (e.g. ITI on chosen heads): every forget
   * loss evaluation runs with it set on the fine-tuned model; the fine-tuning steps run without
   * it (training refuses steering). Checked before any training (E_OPTION). Default: none.
   */
  evalSteering?: Steering;
  /** Stops at the next step or evaluation; the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** After every optimizer step (its `lr` is the constant rate). */
  onProgress?: (progress: TrainProgress) => void;
  /** After every evaluation (step 0 included). */
  onEvaluation?: (point: RecoveryPoint) => void;
}

/** One evaluation of the recovery curve. */
export interface RecoveryPoint {
  /** Optimizer steps done. */
  step: number;
  /** Fine-tuning tokens seen (step × batch tokens). */
  tokens: number;
  /** Forget loss at that point. */
  loss: number;
}

/** What {@link adversarialFinetune} found. */
export interface AdversarialFinetuneResult {
  /** Whether an evaluation reached `targetLoss` (loss ≤ target). */
  reached: boolean;
  /** Why it stopped: the target, the token budget, or the batches ran out. */
  stoppedBy: 'target' | 'budget' | 'data';
  /**
   * Tokens to reach the target, interpolated linearly in tokens between the two evaluations
   * that bracket it (0 when the start is already at or below it); null when not reached.
   */
  tokensToTarget: number | null;
  /** Raw: the step and tokens of the first evaluation at or below the target; null when not reached. */
  stepsToTarget: number | null;
  tokensAtTarget: number | null;
  /** tokensToTarget / pretrainingTokens, when both are known; else null. */
  fractionOfPretraining: number | null;
  /** The target it ran towards. */
  targetLoss: number;
  /** Forget loss before fine-tuning (the step-0 evaluation). */
  startLoss: number;
  /** Forget loss at the last evaluation. */
  finalLoss: number;
  /** The constant learning rate used. */
  lr: number;
  /** Optimizer steps and tokens actually run. */
  steps: number;
  tokens: number;
  /** Tokens per optimizer step (B × T of the batches). */
  batchTokens: number;
  /** Every evaluation, step 0 first. */
  curve: RecoveryPoint[];
  /** The fine-tuned model: a copy unless `inPlace`. */
  model: Transformer;
}

/** Forget batches: an iterable or async iterable of {@link Batch} (a `BatchSampler`, an array, a generator). */
export type BatchSource = Iterable<Batch> | AsyncIterable<Batch>;

const KNOWN = new Set([
  'targetLoss', 'evalStream', 'maxTokens', 'evalEvery', 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'clip', 'inPlace',
  'pretrainingTokens', 'signal', 'onProgress', 'onEvaluation', 'forgetLabel', 'evalContext', 'evalBatch', 'maxEvalWindows',
  'evalSteering',
]);

/** Default constant learning rate of {@link adversarialFinetune}. */
export const FINETUNE_DEFAULT_LR = 3e-4;

function checkOptions(options: AdversarialFinetuneOptions): void {
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  for (const key of Object.keys(options))
    if (!KNOWN.has(key)) throw new CodedTypeError(`unknown fine-tuning option '${key}' (known: ${[...KNOWN].join(', ')})`);
  const { targetLoss, maxTokens, evalEvery = 10, lr = FINETUNE_DEFAULT_LR, pretrainingTokens } = options;
  if (typeof targetLoss !== 'number' || !Number.isFinite(targetLoss)) throw new CodedTypeError(`targetLoss must be a finite number, got ${String(targetLoss)}`);
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) throw new CodedRangeError(`maxTokens must be a positive integer, got ${String(maxTokens)}`);
  if (!Number.isSafeInteger(evalEvery) || evalEvery < 1) throw new CodedRangeError(`evalEvery must be a positive integer, got ${String(evalEvery)}`);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) throw new CodedRangeError(`lr must be a finite number > 0, got ${String(lr)}`);
  if (pretrainingTokens !== undefined && !(Number.isFinite(pretrainingTokens) && pretrainingTokens > 0))
    throw new CodedRangeError(`pretrainingTokens must be a number > 0, got ${String(pretrainingTokens)}`);
  for (const key of ['onProgress', 'onEvaluation'] as const)
    if (options[key] !== undefined && typeof options[key] !== 'function') throw new CodedTypeError(`${key} must be a function`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new CodedTypeError('signal must be an AbortSignal');
  if (options.evalStream === null || typeof options.evalStream !== 'object') throw new CodedTypeError('evalStream must be an object with tokens (and labels)');
}

/** Batch tokens (set by the first batch) and why the batches ended, if they did. */
interface BudgetState {
  batchTokens: number;
  ended: 'budget' | 'data' | undefined;
}

/** The batches of `source` while they fit the budget, all with the first batch's B × T. */
async function* budgeted(source: BatchSource, maxTokens: number, state: BudgetState): AsyncGenerator<Batch> {
  let spent = 0;
  for await (const batch of source as AsyncIterable<Batch>) {
    const n = batch?.batch * batch?.context;
    if (state.batchTokens === 0) {
      if (!(n > 0)) throw new CodedTypeError('forget batches must be Batch objects with positive batch and context');
      if (n > maxTokens) throw new CodedRangeError(`maxTokens (${maxTokens}) is smaller than one batch (${n} tokens)`);
      state.batchTokens = n;
    } else if (n !== state.batchTokens) {
      throw new CodedRangeError(`forget batches must all have the same batch × context (${state.batchTokens} tokens), got ${n}`);
    }
    if (spent + n > maxTokens) {
      state.ended = 'budget';
      return;
    }
    spent += n;
    yield batch;
  }
  state.ended = 'data';
}

/** A copy of `model` (same config and parameters, fresh AdamW state). */
export function cloneModel(model: Transformer): Transformer {
  const copy = Transformer.uninitialized(model.config);
  copy.setParameters(model.getParameters());
  return copy;
}

/**
 * Fine-tunes on `forgetBatches` with AdamW at a constant learning rate and fixed batch tokens,
 * evaluating the forget loss on `evalStream` before training and every `evalEvery` steps (and
 * once more at the end if the last step was not evaluated), until an evaluation is at or below
 * `targetLoss` (stoppedBy 'target'), the next batch would exceed `maxTokens` ('budget') or the
 * batches end ('data'). Runs one `trainMasked` call (warm-up 0, min-LR ratio 1) and stops it
 * from its evaluation hook through an AbortSignal, so the AdamW state is continuous and no
 * partial step is ever applied. Works on a copy unless `inPlace`.
 * @throws TypeError / RangeError for bad options or batches (before any training), an
 *   AbortError when `signal` fires, and whatever trainMasked throws (e.g. a non-finite gradient).
 */
export async function adversarialFinetune(
  model: Transformer,
  forgetBatches: BatchSource,
  options: AdversarialFinetuneOptions,
): Promise<AdversarialFinetuneResult> {
  checkOptions(options);
  const { targetLoss, maxTokens, evalEvery = 10, lr = FINETUNE_DEFAULT_LR, signal } = options;
  if (signal?.aborted) throw abortError('fine-tuning');
  const evalOptions: ForgetLossOptions = {
    forgetLabel: options.forgetLabel,
    evalContext: options.evalContext,
    evalBatch: options.evalBatch,
    maxEvalWindows: options.maxEvalWindows,
  };
  const target = options.inPlace ? model : cloneModel(model);
  if (options.evalSteering !== undefined) {
    setSteering(target, options.evalSteering); // validates it against the model (E_OPTION) before anything runs
    setSteering(target, null);
  }
  const measure = async (m: Transformer): Promise<number> => {
    if (options.evalSteering === undefined) return forgetLoss(m, options.evalStream, evalOptions);
    setSteering(m, options.evalSteering);
    try {
      return await forgetLoss(m, options.evalStream, evalOptions);
    } finally {
      setSteering(m, null);
    }
  };
  if (options.inPlace) model.setOptimizerState();
  const curve: RecoveryPoint[] = [];
  const shape: BudgetState = { batchTokens: 0, ended: undefined };
  const record = (step: number, loss: number) => {
    const point = { step, tokens: step * shape.batchTokens, loss };
    curve.push(point);
    options.onEvaluation?.(point);
    return loss <= targetLoss;
  };
  let reached = record(0, await measure(target));
  if (!reached) {
    if (signal?.aborted) throw abortError('fine-tuning');
    const stop = new AbortController();
    const forward = () => stop.abort();
    signal?.addEventListener('abort', forward, { once: true });
    try {
      const summary = await trainMasked(target, budgeted(forgetBatches, maxTokens, shape), {
        lr,
        warmupSteps: 0,
        minLrRatio: 1,
        beta1: options.beta1,
        beta2: options.beta2,
        eps: options.eps,
        weightDecay: options.weightDecay,
        clip: options.clip,
        signal: stop.signal,
        onProgress: options.onProgress,
        evaluateEvery: evalEvery,
        evaluate: async (m, step) => {
          if (record(step, await measure(m))) {
            reached = true;
            stop.abort();
          }
        },
      });
      if (curve[curve.length - 1].step !== summary.steps)
        reached = record(summary.steps, await measure(target));
    } catch (error) {
      if (signal?.aborted) throw abortError('fine-tuning');
      // the evaluation hook stops training through `stop` once the target is reached
      if (!(reached && isAborted(error))) throw error;
    } finally {
      signal?.removeEventListener('abort', forward);
    }
  }
  const hit = curve.findIndex((p) => p.loss <= targetLoss);
  let tokensToTarget: number | null = null;
  if (hit === 0) tokensToTarget = 0;
  else if (hit > 0) {
    const a = curve[hit - 1];
    const b = curve[hit];
    tokensToTarget = a.tokens + ((a.loss - targetLoss) / (a.loss - b.loss)) * (b.tokens - a.tokens);
  }
  const last = curve[curve.length - 1];
  return {
    reached: hit >= 0,
    stoppedBy: hit >= 0 ? 'target' : (shape.ended ?? 'budget'),
    tokensToTarget,
    stepsToTarget: hit >= 0 ? curve[hit].step : null,
    tokensAtTarget: hit >= 0 ? curve[hit].tokens : null,
    fractionOfPretraining: tokensToTarget !== null && options.pretrainingTokens ? tokensToTarget / options.pretrainingTokens : null,
    targetLoss,
    startLoss: curve[0].loss,
    finalLoss: last.loss,
    lr,
    steps: last.step,
    tokens: last.tokens,
    batchTokens: shape.batchTokens,
    curve,
    model: target,
  };
}

/** Options of {@link lrSweepFinetune}: those of {@link adversarialFinetune} with `maxTokens` the per-rate budget. */
export interface LrSweepOptions extends Omit<AdversarialFinetuneOptions, 'lr' | 'inPlace'> {
  /** Constant learning rates to try (each > 0, at least one). Default [1e-4, 3e-4, 1e-3, 3e-3]. */
  lrs?: readonly number[];
}

/** One rate of the sweep. */
export interface SweepRun {
  lr: number;
  /** The run's gradient or loss went non-finite. */
  diverged: boolean;
  /** Its result without the model (null when it diverged before finishing). */
  result: Omit<AdversarialFinetuneResult, 'model'> | null;
  /** Why it diverged. */
  error?: string;
}

/** What {@link lrSweepFinetune} found. */
export interface LrSweepResult {
  /** The fastest rate: the fewest tokens to the target among runs that reached it, else the lowest final forget loss. */
  bestLr: number;
  /** The best rate's full result (with its fine-tuned copy). */
  best: AdversarialFinetuneResult;
  /** Every rate in the order given. */
  runs: SweepRun[];
}

/** Default learning rates of {@link lrSweepFinetune}. */
export const SWEEP_DEFAULT_LRS: readonly number[] = Object.freeze([1e-4, 3e-4, 1e-3, 3e-3]);

/**
 * Runs {@link adversarialFinetune} once per learning rate, each on a copy of `model` (which is
 * never changed) from the same starting parameters and on the same batches (`forgetBatches` is
 * called once per rate and must return the same sequence each time), with `maxTokens` as the
 * sweep budget, and picks the rate that recovers fastest: among runs that reach the target, the
 * fewest interpolated tokens; if none does, the lowest forget loss at the end of the budget. A
 * run whose gradient or loss goes non-finite counts as diverged and is never picked.
 * @throws TypeError / RangeError for bad options, TokenfilterError E_NOT_FINITE when every rate diverged, E_ABORTED on
 *   `signal`.
 */
export async function lrSweepFinetune(
  model: Transformer,
  forgetBatches: () => BatchSource,
  options: LrSweepOptions,
): Promise<LrSweepResult> {
  if (typeof forgetBatches !== 'function') throw new CodedTypeError('forgetBatches must be a function returning a fresh iterable of batches per rate');
  const { lrs = SWEEP_DEFAULT_LRS, ...rest } = options ?? ({} as LrSweepOptions);
  if (!Array.isArray(lrs) || lrs.length === 0) throw new CodedRangeError('lrs must be a non-empty array of learning rates');
  for (const lr of lrs) if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) throw new CodedRangeError(`every lr must be a finite number > 0, got ${String(lr)}`);
  checkOptions({ ...rest, lr: lrs[0] });
  const runs: SweepRun[] = [];
  let best: AdversarialFinetuneResult | null = null;
  const better = (a: AdversarialFinetuneResult, b: AdversarialFinetuneResult | null) =>
    b === null || (a.reached && (!b.reached || a.tokensToTarget! < b.tokensToTarget!)) || (!a.reached && !b.reached && a.finalLoss < b.finalLoss);
  for (const lr of lrs) {
    let result: AdversarialFinetuneResult;
    try {
      result = await adversarialFinetune(model, forgetBatches(), { ...rest, lr, inPlace: false });
    } catch (error) {
      if (errorCode(error) !== 'E_NOT_FINITE') throw error;
      runs.push({ lr, diverged: true, result: null, error: (error as Error).message });
      continue;
    }
    const diverged = !Number.isFinite(result.finalLoss);
    runs.push({ lr, diverged, result: withoutModel(result) });
    if (!diverged && better(result, best)) best = result;
  }
  if (best === null) throw new TokenfilterError('E_NOT_FINITE', `every learning rate diverged (${lrs.join(', ')})`);
  return { bestLr: best.lr, best, runs };
}

function withoutModel(result: AdversarialFinetuneResult): Omit<AdversarialFinetuneResult, 'model'> {
  const summary: Partial<AdversarialFinetuneResult> = { ...result };
  delete summary.model;
  return summary as Omit<AdversarialFinetuneResult, 'model'>;
}
