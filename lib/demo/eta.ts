/**
 * The demo's remaining-time estimate. Each stage's share of the work is known from a reference
 * run of the defaults (wall seconds per stage on 2 idle AVX-512 cores, {@link REFERENCE_STAGE_SECONDS});
 * stages driven by a step count scale with it. After each stage the pace of this machine is
 * measured as the wall time of the stages done over their reference time, and the stages left
 * are expected to take their reference time times that pace. A slow or loaded machine thus
 * learns after the first stages how long the rest will take; the first estimate (after the
 * tokenizer, pure JavaScript) is rough, and each later one folds in more of the measured work.
 * @module
 */

/**
 * Wall seconds per stage of `tokenfilter demo` with its defaults on the reference machine
 * (2 idle AVX-512 cores of an Intel Xeon; see the README), in the order the stages run.
 */
export const REFERENCE_STAGE_SECONDS: Readonly<Record<string, number>> = Object.freeze({
  tokenizer: 2,
  shards: 1,
  labeler_lm: 150,
  sae: 41,
  sae_labels: 28,
  classifier: 49,
  scoring: 54,
  train_baseline: 18,
  train_document: 19,
  train_mask: 24,
  train_remove: 26,
});

/** Step counts of a run, to scale the step-driven stages. */
export interface StepCounts {
  labelerSteps: number;
  saeSteps: number;
  bilmSteps: number;
  steps: number;
}

/** The step counts of the reference run (the defaults it measured). */
export const REFERENCE_STEPS: Readonly<StepCounts> = Object.freeze({ labelerSteps: 800, saeSteps: 800, bilmSteps: 800, steps: 400 });

/** Which reference stage each step count drives. */
const DRIVEN_BY: Readonly<Record<string, keyof StepCounts>> = Object.freeze({
  labeler_lm: 'labelerSteps',
  sae: 'saeSteps',
  classifier: 'bilmSteps',
  train_baseline: 'steps',
  train_document: 'steps',
  train_mask: 'steps',
  train_remove: 'steps',
});

/**
 * Expected seconds per stage on the reference machine for a run: the stages it will run (the
 * chain's only with SAE labels), each step-driven one scaled by its steps over the reference's.
 */
export function stagePlan(run: StepCounts & { labels: 'sae' | 'gold' }, reference: StepCounts = REFERENCE_STEPS): Record<string, number> {
  const chain = new Set(['labeler_lm', 'sae', 'sae_labels', 'classifier', 'scoring']);
  const plan: Record<string, number> = {};
  for (const [stage, seconds] of Object.entries(REFERENCE_STAGE_SECONDS)) {
    if (run.labels === 'gold' && chain.has(stage)) continue;
    const key = DRIVEN_BY[stage];
    plan[stage] = key ? (seconds * run[key]) / reference[key] : seconds;
  }
  return plan;
}

/**
 * Seconds left: the plan's stages not in `done`, times the pace (wall seconds of the stages in
 * `done` over their planned seconds). Null before any planned stage is done or when nothing is left.
 */
export function remainingSeconds(plan: Readonly<Record<string, number>>, done: Readonly<Record<string, number>>): number | null {
  let measured = 0;
  let planned = 0;
  let left = 0;
  for (const [stage, seconds] of Object.entries(plan)) {
    if (stage in done) {
      measured += done[stage];
      planned += seconds;
    } else left += seconds;
  }
  if (planned <= 0 || left <= 0) return null;
  return (left * measured) / planned;
}

/** `"about 3.5 min left"` (seconds below 2 min, whole minutes from 10 min). */
export function formatRemaining(seconds: number): string {
  if (seconds < 120) return `about ${Math.max(1, Math.round(seconds))} s left`;
  const minutes = seconds / 60;
  return `about ${minutes < 10 ? minutes.toFixed(1) : Math.round(minutes)} min left`;
}
