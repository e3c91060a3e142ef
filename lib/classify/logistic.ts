/**
 * Linear probes: L2-regularised logistic regression fitted to convergence (L-BFGS, float64) in
 * the native core, off the JS thread, on standardised features with optional class weighting.
 * @module
 */
import { nativeCancelFlag } from '../abort.js';
import { native } from '../native.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';
import { stripUndefined } from '../options.js';

/** How samples of each class are weighted in the loss. */
export type ClassWeighting = 'balanced' | 'none' | { negative: number; positive: number };

/** Options of {@link fitLogistic}; defaults in {@link LOGISTIC_DEFAULTS}. */
export interface LogisticOptions {
  /** L2 penalty λ on the standardised weights (≥ 0; the bias is not penalised). Default 1e-3. */
  l2?: number;
  /**
   * `'balanced'` (default) weights each class by n / (2 · its count), so both classes weigh the
   * same in total; `'none'` weights every sample 1; or explicit per-class weights (> 0).
   */
  classWeight?: ClassWeighting;
  /** L-BFGS iterations at most (≥ 1). Default 500. */
  maxIterations?: number;
  /** Converged when the largest gradient entry is ≤ this (> 0). Default 1e-6. */
  tolerance?: number;
  /** Called after each iteration. */
  onIteration?: (progress: { iteration: number; loss: number; gradientNorm: number }) => void;
  /** Stops the fit at the next iteration; the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Defaults of {@link LogisticOptions}. */
export const LOGISTIC_DEFAULTS = Object.freeze({ l2: 1e-3, classWeight: 'balanced' as ClassWeighting, maxIterations: 500, tolerance: 1e-6 });

/** A fitted probe: standardisation, weights on standardised features, and how the fit went. */
export class LogisticModel {
  /** Feature count d. */
  readonly dimension: number;
  /** Column means and 1/std used to standardise features (float64, length d). */
  readonly mean: Float64Array;
  readonly invStd: Float64Array;
  /** Weights on standardised features (length d) and bias. */
  readonly weights: Float64Array;
  readonly bias: number;
  /** Objective value and largest gradient entry at the solution; iterations run; converged. */
  readonly fit: { loss: number; gradientNorm: number; iterations: number; converged: boolean };
  private readonly rawWeights: Float64Array;
  private readonly rawBias: number;

  constructor(mean: Float64Array, invStd: Float64Array, weights: Float64Array, bias: number, fit: LogisticModel['fit']) {
    const d = weights.length;
    if (mean.length !== d || invStd.length !== d) throw new CodedRangeError(`mean, invStd and weights must have the same length (${mean.length}, ${invStd.length}, ${d})`);
    for (const [name, a] of [['mean', mean], ['invStd', invStd], ['weights', weights]] as const)
      for (let j = 0; j < d; j++) if (!Number.isFinite(a[j])) throw new CodedRangeError(`${name}[${j}] is not finite`);
    if (!Number.isFinite(bias)) throw new CodedRangeError('bias is not finite');
    this.dimension = d;
    this.mean = mean;
    this.invStd = invStd;
    this.weights = weights;
    this.bias = bias;
    this.fit = fit;
    // fold the standardisation in: σ((x − μ)·s·w + b) = σ(x·(s∘w) + b − μ·(s∘w))
    this.rawWeights = new Float64Array(d);
    let b = bias;
    for (let j = 0; j < d; j++) {
      this.rawWeights[j] = invStd[j] * weights[j];
      b -= mean[j] * this.rawWeights[j];
    }
    this.rawBias = b;
  }

  /**
   * Probabilities of class 1 for `features` rows [n, d].
   * @throws RangeError if the length is not a multiple of d.
   */
  predict(features: Float32Array): Float32Array {
    if (!(features instanceof Float32Array)) throw new CodedTypeError('features must be a Float32Array');
    if (features.length % this.dimension !== 0)
      throw new CodedRangeError(`features has length ${features.length}, not a multiple of the probe's dimension ${this.dimension}`);
    return native.logistic.predict(features, features.length / this.dimension, this.dimension, this.rawWeights, this.rawBias);
  }
}

/** Per-sample weights for a class weighting, or undefined when every weight is 1. */
export function sampleWeights(labels: Uint8Array, weighting: ClassWeighting): Float32Array | undefined {
  if (weighting === 'none') return undefined;
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  const negatives = labels.length - positives;
  let wNeg: number;
  let wPos: number;
  if (weighting === 'balanced') {
    if (positives === 0 || negatives === 0) return undefined;
    wNeg = labels.length / (2 * negatives);
    wPos = labels.length / (2 * positives);
  } else if (weighting !== null && typeof weighting === 'object') {
    ({ negative: wNeg, positive: wPos } = weighting);
    if (!(Number.isFinite(wNeg) && wNeg > 0 && Number.isFinite(wPos) && wPos > 0))
      throw new CodedRangeError(`classWeight negative / positive must be finite and > 0, got ${wNeg} / ${wPos}`);
  } else throw new CodedTypeError(`classWeight must be 'balanced', 'none' or {negative, positive}, got ${String(weighting)}`);
  const out = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i] === 1 ? wPos : wNeg;
  return out;
}

/**
 * Fits a probe on `features` rows [n, d] with 0/1 `labels` [n].
 * @throws TypeError / RangeError for bad arrays or options (naming them), a non-finite feature,
 *   a label other than 0/1; Error if one class is absent; AbortError when `signal` fires.
 */
export async function fitLogistic(features: Float32Array, labels: Uint8Array, dimension: number, options: LogisticOptions = {}): Promise<LogisticModel> {
  const o = { ...LOGISTIC_DEFAULTS, ...stripUndefined(options) } as typeof LOGISTIC_DEFAULTS & LogisticOptions;
  if (!Number.isInteger(dimension) || dimension < 1) throw new CodedRangeError(`dimension must be a positive integer, got ${dimension}`);
  if (!(features instanceof Float32Array)) throw new CodedTypeError('features must be a Float32Array');
  if (!(labels instanceof Uint8Array)) throw new CodedTypeError('labels must be a Uint8Array');
  if (features.length !== labels.length * dimension)
    throw new CodedRangeError(`features has length ${features.length}, expected labels.length × dimension = ${labels.length} × ${dimension}`);
  if (labels.length === 0) throw new CodedRangeError('no samples to fit');
  if (!(typeof o.l2 === 'number' && o.l2 >= 0)) throw new CodedRangeError(`l2 must be a number ≥ 0, got ${o.l2}`);
  const weight = sampleWeights(labels, o.classWeight);
  const { flag: cancel, dispose } = nativeCancelFlag(o.signal, 'fit');
  try {
    const r = await native.logistic.fit(
      features, labels, weight, labels.length, dimension,
      { l2: o.l2, maxIterations: o.maxIterations, tolerance: o.tolerance, memory: 10 },
      o.onIteration,
      cancel,
    );
    return new LogisticModel(r.mean, r.invStd, r.w, r.b, { loss: r.loss, gradientNorm: r.gradientNorm, iterations: r.iterations, converged: r.converged });
  } finally {
    dispose();
  }
}

/**
 * The objective J(w, b) and its gradient (length d + 1, bias last) at given standardised
 * weights, as the fit computes them; for checks and diagnostics.
 */
export function logisticObjective(
  features: Float32Array, labels: Uint8Array, dimension: number,
  at: { mean: Float64Array; invStd: Float64Array; weights: Float64Array; bias: number },
  options: { l2?: number; classWeight?: ClassWeighting } = {},
): { loss: number; gradient: Float64Array } {
  const weight = sampleWeights(labels, options.classWeight ?? LOGISTIC_DEFAULTS.classWeight);
  return native.logistic.objective(features, labels, weight, labels.length, dimension, at.mean, at.invStd, at.weights, at.bias, options.l2 ?? LOGISTIC_DEFAULTS.l2);
}
