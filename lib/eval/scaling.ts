/**
 * Scaling-law fits and the relative compute slowdown, as the paper measures them: the
 * baseline's loss on a domain is fitted as a power law of training compute (a linear
 * regression of log loss on log FLOPs); a filtered model that spent compute C_f to reach loss
 * L_f is compared with the compute C_b at which the baseline's fit reaches L_f, and the
 * slowdown is C_f / C_b (how many times more compute the filtered run needs to know as much
 * of the domain as the baseline).
 * @module
 */
import { CodedRangeError } from '../errors.js';

/** One trained model: its training compute (FLOPs) and its loss on a domain. */
export interface ComputeLossPoint {
  compute: number;
  loss: number;
}

/** loss(C) = exp(intercept) · C^exponent, fitted in log–log space. */
export interface PowerLawFit {
  /** ln loss at C = 1 FLOP. */
  intercept: number;
  /** Slope of ln loss against ln compute (negative when loss falls with compute). */
  exponent: number;
  /** Coefficient of determination of the log–log regression. */
  r2: number;
  /** Standard deviation of the log-loss residuals. */
  residualStd: number;
  /** Points fitted. */
  points: number;
  /** Smallest and largest compute fitted. */
  computeRange: [number, number];
}

/**
 * Fits ln loss = intercept + exponent · ln compute by least squares.
 * @throws RangeError for fewer than 2 points, a non-positive or non-finite value, or points
 *   that all share one compute.
 */
export function fitPowerLaw(points: readonly ComputeLossPoint[]): PowerLawFit {
  if (!Array.isArray(points) || points.length < 2)
    throw new CodedRangeError(`fitPowerLaw needs at least 2 points, got ${Array.isArray(points) ? points.length : typeof points}`);
  const xs: number[] = [];
  const ys: number[] = [];
  points.forEach((p, i) => {
    if (!(p && Number.isFinite(p.compute) && p.compute > 0))
      throw new CodedRangeError(`points[${i}].compute must be a positive finite number, got ${p?.compute}`);
    if (!(Number.isFinite(p.loss) && p.loss > 0))
      throw new CodedRangeError(`points[${i}].loss must be a positive finite number, got ${p.loss}`);
    xs.push(Math.log(p.compute));
    ys.push(Math.log(p.loss));
  });
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) throw new CodedRangeError('fitPowerLaw needs points at two or more different computes');
  const exponent = sxy / sxx;
  const intercept = my - exponent * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i] - intercept - exponent * xs[i]) ** 2;
  const computes = points.map((p) => p.compute);
  return {
    intercept,
    exponent,
    r2: syy === 0 ? 1 : 1 - sse / syy,
    residualStd: n > 2 ? Math.sqrt(sse / (n - 2)) : 0,
    points: n,
    computeRange: [Math.min(...computes), Math.max(...computes)],
  };
}

/** The fit's predicted loss at a compute. */
export function predictLoss(fit: PowerLawFit, compute: number): number {
  return Math.exp(fit.intercept + fit.exponent * Math.log(compute));
}

/** The compute at which the fit reaches a loss. */
export function computeForLoss(fit: PowerLawFit, loss: number): number {
  return Math.exp((Math.log(loss) - fit.intercept) / fit.exponent);
}

/** Options of {@link relativeComputeSlowdown}. */
export interface SlowdownOptions {
  /**
   * How far (as a factor of compute) the baseline-equivalent compute may lie outside the fitted
   * range before the result is refused. Default 100; `Infinity` accepts any extrapolation.
   */
  maxExtrapolation?: number;
}

/** A filtered model's slowdown relative to the baseline fit. */
export interface Slowdown {
  /** C_f / C_b: > 1 means the filtered model knows the domain as a baseline trained on less compute. */
  slowdown: number;
  /** C_b: compute at which the baseline fit reaches the filtered model's loss. */
  baselineCompute: number;
  /** Factor by which C_b lies outside the fitted compute range (1 when inside). */
  extrapolation: number;
  /** Whether C_b lies outside the fitted range at all. */
  extrapolated: boolean;
}

/**
 * The relative compute slowdown of a filtered model: its training compute divided by the
 * compute at which the baseline's power-law fit reaches the same loss.
 * @throws RangeError when the fit's loss does not fall with compute (exponent >= 0), for a
 *   non-positive compute or loss, or when the answer would extrapolate further than
 *   `maxExtrapolation` outside the fitted range (the message says how far).
 */
export function relativeComputeSlowdown(fit: PowerLawFit, filtered: ComputeLossPoint, options: SlowdownOptions = {}): Slowdown {
  const maxExtrapolation = options.maxExtrapolation ?? 100;
  if (!(maxExtrapolation >= 1)) throw new CodedRangeError(`maxExtrapolation must be >= 1, got ${maxExtrapolation}`);
  if (!(fit.exponent < 0))
    throw new CodedRangeError(`the baseline fit's loss does not fall with compute (exponent ${fit.exponent}); no slowdown can be read from it`);
  if (!(Number.isFinite(filtered.compute) && filtered.compute > 0))
    throw new CodedRangeError(`filtered.compute must be a positive finite number, got ${filtered.compute}`);
  if (!(Number.isFinite(filtered.loss) && filtered.loss > 0))
    throw new CodedRangeError(`filtered.loss must be a positive finite number, got ${filtered.loss}`);
  const baselineCompute = computeForLoss(fit, filtered.loss);
  const [low, high] = fit.computeRange;
  const extrapolation = baselineCompute < low ? low / baselineCompute : baselineCompute > high ? baselineCompute / high : 1;
  if (extrapolation > maxExtrapolation)
    throw new CodedRangeError(
      `the baseline reaches loss ${filtered.loss} at ${baselineCompute.toExponential(3)} FLOPs, ` +
        `${extrapolation.toFixed(1)}x outside the fitted range [${low.toExponential(3)}, ${high.toExponential(3)}]; ` +
        'fit more baseline sizes, or raise maxExtrapolation to accept the extrapolation',
    );
  return { slowdown: filtered.compute / baselineCompute, baselineCompute, extrapolation, extrapolated: extrapolation > 1 };
}
