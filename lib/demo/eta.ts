/**
 * The demo's remaining-time estimate. Each stage's share of the work is known from a reference
 * run of the defaults (wall seconds per stage on 2 idle AVX-512 cores, {@link REFERENCE_STAGE_SECONDS});
 * stages scale with the settings that drive their work (steps, batch, documents). After each stage the pace of this machine is
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
  shards: 0.4,
  labeller_lm: 114,
  sae: 32,
  sae_labels: 8,
  classifier: 24,
  scoring: 42,
  train_baseline: 11,
  train_document: 12,
  train_mask: 14,
  train_remove: 15,
});

/** The settings that each stage's work grows with (the demo's options of the same names). */
export interface WorkSettings {
  labellerLayers: number;
  labellerDim: number;
  labellerSteps: number;
  labellerBatch: number;
  saeSteps: number;
  labelDocuments: number;
  bilmLayers: number;
  bilmDim: number;
  bilmSteps: number;
  bilmBatch: number;
  steps: number;
  batch: number;
}

/** The settings of the reference run (the defaults it measured). */
export const REFERENCE_SETTINGS: Readonly<WorkSettings> = Object.freeze({
  labellerLayers: 3, labellerDim: 192, labellerSteps: 800, labellerBatch: 16, saeSteps: 400, labelDocuments: 1000,
  bilmLayers: 1, bilmDim: 128, bilmSteps: 400, bilmBatch: 16, steps: 300, batch: 10,
});

/**
 * The settings whose product each stage's time is taken to be proportional to (stages not
 * listed: fixed); a model's cost per token as its layers × width² (a width listed twice).
 */
const SCALES_WITH: Readonly<Record<string, readonly (keyof WorkSettings)[]>> = Object.freeze({
  labeller_lm: ['labellerSteps', 'labellerBatch', 'labellerLayers', 'labellerDim', 'labellerDim'],
  sae: ['saeSteps'],
  sae_labels: ['labelDocuments'],
  classifier: ['bilmSteps', 'bilmBatch', 'bilmLayers', 'bilmDim', 'bilmDim'],
  scoring: ['bilmLayers', 'bilmDim', 'bilmDim'],
  train_baseline: ['steps', 'batch'],
  train_document: ['steps', 'batch'],
  train_mask: ['steps', 'batch'],
  train_remove: ['steps', 'batch'],
});

/**
 * Expected seconds per stage on the reference machine for a run: the stages it will run (the
 * chain's only with SAE labels), each scaled by its settings over the reference's. A rough
 * model (the SAE stage also encodes its sample, the classifier stage also fits the probe), good
 * enough for an estimate that the measured pace corrects as the stages go by.
 */
export function stagePlan(run: WorkSettings & { labels: 'sae' | 'gold' }, reference: WorkSettings = REFERENCE_SETTINGS): Record<string, number> {
  const chain = new Set(['labeller_lm', 'sae', 'sae_labels', 'classifier', 'scoring']);
  const plan: Record<string, number> = {};
  for (const [stage, seconds] of Object.entries(REFERENCE_STAGE_SECONDS)) {
    if (run.labels === 'gold' && chain.has(stage)) continue;
    plan[stage] = (SCALES_WITH[stage] ?? []).reduce((t, key) => (t * run[key]) / reference[key], seconds);
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
