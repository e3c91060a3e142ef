/**
 * Stage **evaluate**: a trained model's held-out loss per domain, with a bootstrap interval, as
 * the rows of a report (`loss` and `ci95` keyed by domain name, in label order).
 * @module
 */
import { domainLosses, type LabelledTokens } from '../eval/domain_loss.js';
import type { Transformer } from '../model/transformer.js';
import { TokenfilterError } from '../errors.js';
import { withDefaults } from './option_keys.js';

/** Options of {@link runEvaluate}; defaults in {@link EVALUATE_STAGE_DEFAULTS}. */
export interface EvaluateStageOptions {
  /** Held-out tokens with one domain label per token (label value = index into `labelNames`). */
  heldOut: LabelledTokens;
  labelNames: readonly string[];
  /** Window length (default: the model's context) and at most this many windows (default: all). */
  context?: number;
  maxWindows?: number;
  /** Bootstrap resamples of the 95% interval, and their seed. */
  bootstrap?: number;
  seed?: number;
}

/** Defaults of {@link EvaluateStageOptions}: the only place the evaluate stage's numbers are written. */
export const EVALUATE_STAGE_DEFAULTS = Object.freeze({ bootstrap: 500, seed: 1 });

/** Per-domain loss (nats per token) and its 95% bootstrap interval. */
export interface DomainLossRows {
  loss: Record<string, number>;
  ci95: Record<string, [number, number]>;
}

/**
 * Applies defaults and checks the options once.
 * @throws TokenfilterError E_OPTION for an unknown key (naming the nearest valid one) or missing held-out tokens.
 */
export function resolveEvaluate(options: EvaluateStageOptions): EvaluateStageOptions & typeof EVALUATE_STAGE_DEFAULTS {
  const o = withDefaults('evaluate', EVALUATE_STAGE_DEFAULTS, options, ['heldOut', 'labelNames', 'context', 'maxWindows']);
  if (!o.heldOut || !o.labelNames) throw new TokenfilterError('E_OPTION', "stage evaluate needs 'heldOut' and 'labelNames'");
  return o;
}

/** Held-out loss of `model` per domain. */
export async function runEvaluate(model: Transformer, options: EvaluateStageOptions): Promise<DomainLossRows> {
  const o = resolveEvaluate(options);
  const losses = await domainLosses(model, o.heldOut, { labelNames: o.labelNames, context: o.context, maxWindows: o.maxWindows, bootstrap: o.bootstrap, seed: o.seed });
  return {
    loss: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.loss])),
    ci95: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.ci95])),
  };
}
