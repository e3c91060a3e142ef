/**
 * Learning-rate schedule: linear warm-up, then cosine decay to a floor.
 * @module
 */
import { CodedRangeError } from '../errors.js';

/** Parameters of {@link cosineSchedule}. */
export interface CosineScheduleOptions {
  /** Peak learning rate (≥ 0). */
  peak: number;
  /** Warm-up steps (integer ≥ 0): lr rises linearly to `peak` over them. */
  warmupSteps: number;
  /**
   * Total optimizer steps (integer ≥ 1), or `undefined` when unknown: then the rate stays at
   * `peak` after warm-up.
   */
  totalSteps: number | undefined;
  /** Final rate as a fraction of `peak` (in [0, 1]). */
  minRatio: number;
}

/**
 * Returns lr(step) for steps 0, 1, 2, …: `peak · (step + 1) / warmupSteps` during warm-up,
 * then `peak · (minRatio + (1 − minRatio) · ½(1 + cos(π · p)))` with p the fraction of the
 * post-warm-up steps done (0 at the first, 1 at the last, clamped beyond), so the last step
 * runs at `minRatio · peak` (a single post-warm-up step runs at `peak`).
 * @throws RangeError for negative or non-integer step counts, warm-up ≥ total, or minRatio
 *   outside [0, 1].
 */
export function cosineSchedule(options: CosineScheduleOptions): (step: number) => number {
  const { peak, warmupSteps, totalSteps, minRatio } = options;
  if (!Number.isFinite(peak) || peak < 0) throw new CodedRangeError(`peak learning rate must be ≥ 0, got ${peak}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    throw new CodedRangeError(`warmupSteps must be an integer ≥ 0, got ${warmupSteps}`);
  if (totalSteps !== undefined) {
    if (!Number.isInteger(totalSteps) || totalSteps < 1)
      throw new CodedRangeError(`totalSteps must be an integer ≥ 1, got ${totalSteps}`);
    if (warmupSteps >= totalSteps && warmupSteps > 0)
      throw new CodedRangeError(`warmupSteps (${warmupSteps}) must be below totalSteps (${totalSteps})`);
  }
  if (!(minRatio >= 0 && minRatio <= 1)) throw new CodedRangeError(`minRatio must be in [0, 1], got ${minRatio}`);
  return (step: number) => {
    if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
    if (totalSteps === undefined) return peak;
    const span = totalSteps - 1 - warmupSteps;
    const p = span <= 0 ? 0 : Math.min(1, (step - warmupSteps) / span);
    return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
  };
}
