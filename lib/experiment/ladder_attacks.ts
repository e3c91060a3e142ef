/**
 * The attack stage of the filtering experiment: RMU on the largest baseline and adversarial
 * fine-tuning of every filtered model of the largest size (attack_stage.ts), recorded in
 * `results.extra.attacks` and `results.extra.rmu` as each finishes.
 * @module
 */
import { join } from 'node:path';
import { runAttacks, type AttackRecord } from './attack_stage.js';
import type { ExperimentContext } from './experiment_context.js';
import { sizeName } from './model_size.js';

/** Attacks at the largest size: RMU on the baseline, adversarial fine-tuning of the filtered models. */
export async function runAttackStage(x: ExperimentContext): Promise<void> {
  const { o, results } = x;
  const largest = sizeName(o.sizes[o.sizes.length - 1]);
  const baseline = results.runs[`baseline-${largest}-s${o.seeds[0]}`];
  const targets = o.modes.map((m) => results.runs[`${m}-${largest}-s${o.seeds[0]}`]).filter(Boolean);
  const done = { attacks: (results.extra.attacks ?? {}) as Record<string, AttackRecord>, rmu: results.extra.rmu as Record<string, unknown> | undefined };
  await runAttacks(join(o.out, 'attack'), x.tokenizer, baseline, targets, { tokens: x.train.tokens, labels: x.train.labels }, x.val, {
    batch: 8, budgetFraction: o.attackBudget, sweepFraction: 0.25, lrs: o.attackLrs, evalEvery: 20, rmuSteps: o.rmuSteps,
    seed: o.seeds[0], signal: o.signal, log: x.log,
  }, done, async () => {
    results.extra.attacks = done.attacks;
    results.extra.rmu = done.rmu;
    await x.save();
  });
}
