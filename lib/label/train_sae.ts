/**
 * Trains a {@link SparseAutoencoder} on streamed activations with Adam: reconstruction MSE,
 * plus the L0 penalty (JumpReLU, straight-through threshold gradients) or exact top-k codes
 * (TopK), plus an auxiliary loss on dead latents. Decoder rows stay at unit norm. The input
 * scale (so that E‖x·scale‖² = dModel) is fixed from the first batch and stored with the SAE.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import type { SparseAutoencoder } from './sae.js';
import { CodedRangeError } from '../errors.js';

/** Options of {@link trainSae}. */
export interface TrainSaeOptions {
  /** Adam learning rate (default 1e-3); decays linearly to 0 over the last 20% of steps. */
  lr?: number;
  /** Adam betas and epsilon (defaults 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Stop after this many steps (default: when the source ends). */
  steps?: number;
  /**
   * Fit the input scale and the decoder bias to the first batch (default true). Set false to
   * continue training an SAE that was already trained (its scale and biases are kept).
   */
  fitInputScale?: boolean;
  /** Called after every step. */
  onProgress?: (p: TrainSaeProgress) => void;
  /** Stops training at the next step (the promise rejects with an AbortError). */
  signal?: AbortSignal;
}

/** One step's statistics. */
export interface TrainSaeProgress {
  step: number;
  tokens: number;
  /** Mean squared reconstruction error per token (scaled inputs). */
  mse: number;
  /** 1 − mse / variance of the batch. */
  explainedVariance: number;
  /** Mean active latents per token. */
  l0: number;
  /** Latents that have not fired within `deadAfter` tokens. */
  dead: number;
  /** Dead latents as a fraction of dSae. */
  deadFraction: number;
}

/** What {@link trainSae} returns: the last step's statistics. */
export interface TrainSaeSummary extends TrainSaeProgress {
  seconds: number;
  tokensPerSecond: number;
}

/**
 * Trains `sae` in place on batches of raw activations ([N, dModel] Float32Arrays).
 * @throws RangeError for a batch whose length is not a multiple of dModel or holds NaN/inf;
 *   AbortError when `signal` fires.
 */
export async function trainSae(
  sae: SparseAutoencoder,
  batches: AsyncIterable<Float32Array> | Iterable<Float32Array>,
  options: TrainSaeOptions = {},
): Promise<TrainSaeSummary> {
  const { lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, steps, onProgress, signal, fitInputScale = true } = options;
  if (!(lr > 0)) throw new CodedRangeError(`lr must be > 0, got ${lr}`);
  if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) throw new CodedRangeError(`steps must be a positive integer, got ${steps}`);
  const D = sae.config.dModel;
  const model = sae.trainingModel();
  const start = performance.now();
  let step = 0;
  let tokens = 0;
  let last: TrainSaeProgress | undefined;
  for await (const raw of batches as AsyncIterable<Float32Array>) {
    throwIfAborted(signal, 'SAE training');
    if (!(raw instanceof Float32Array) || raw.length === 0 || raw.length % D !== 0)
      throw new CodedRangeError(`each batch must be a Float32Array of N × dModel (${D}) values`);
    const N = raw.length / D;
    if (step === 0 && fitInputScale) {
      let ss = 0;
      for (let i = 0; i < raw.length; i++) ss += raw[i] * raw[i];
      if (!Number.isFinite(ss)) throw new CodedRangeError('the first batch holds non-finite values');
      sae.inputScale = ss > 0 ? Math.sqrt((D * N) / ss) : 1;
    }
    const x = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) x[i] = raw[i] * sae.inputScale;
    if (step === 0 && fitInputScale) model.initDecoderBias(x);
    const rate = steps !== undefined && step >= 0.8 * steps ? (lr * (steps - step)) / (0.2 * steps) : lr;
    const s = await model.step(x, rate, beta1, beta2, eps);
    step++;
    tokens += N;
    last = {
      step,
      tokens,
      mse: s.mse,
      explainedVariance: s.variance > 0 ? 1 - s.mse / s.variance : 0,
      l0: s.l0,
      dead: s.dead,
      deadFraction: s.dead / sae.config.dSae,
    };
    onProgress?.(last);
    if (steps !== undefined && step >= steps) break;
  }
  if (!last) throw new CodedRangeError('no batches to train on');
  model.finish();
  const seconds = (performance.now() - start) / 1000;
  return { ...last, seconds, tokensPerSecond: tokens / seconds };
}
