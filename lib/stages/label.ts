/**
 * Stage **label**: weak token labels from SAE latents, one task over token shards
 * ({@link labelShards}). The rule's defaults are {@link LABEL_DEFAULTS} (z 4, 2 latents, the
 * paper's) and latent selection's are {@link SELECT_DEFAULTS}; {@link LABEL_STAGE_DEFAULTS}
 * gathers them with the stage's own numbers, and `tokenfilter label` reads its help text from it.
 * A composition that wants another rule (the demo) states its values as overrides in its own
 * configuration.
 * @module
 */
import { labelShards, type LabelShardsOptions, type LabelShardsResult } from '../label/label_shards.js';
import { LABEL_DEFAULTS } from '../label/label_tokens.js';
import { SELECT_DEFAULTS } from '../label/select_latents.js';
import { TokenfilterError } from '../errors.js';
import { withDefaults } from './option_keys.js';

/** Defaults of the label stage: the rule, latent selection, and windows per forward pass. */
export const LABEL_STAGE_DEFAULTS = Object.freeze({
  z: LABEL_DEFAULTS.z,
  /** With latents chosen by selection, `minLatents` left unset follows {@link selectMinLatents} instead. */
  minLatents: LABEL_DEFAULTS.minLatents,
  select: SELECT_DEFAULTS,
  batch: 8,
});

/**
 * The default minLatents when the K latents were chosen by selection: max(2, round(2·log2 K) − 6),
 * i.e. 4, 6, 8, 10, 12 at K = 32, 64, 128, 256, 512, and for a TopK SAE at most
 * max(2, round(k / 3)) (11 at k = 32): a token has only k active latents, so the count of
 * selected ones that fire stops growing with K. Measured at z = 4 (docs/labelling.md) the log
 * rule is the best minLatents, or within 0.06 F1 of it, at every K of 16–512 swept on both
 * corpora; at K = 1024 (8,192 latents, k = 32) the best is 10 (F1 0.70), where the uncapped
 * rule's 14 gives 0.63. An earlier K / 16 grew too fast and labelled almost nothing at K = 256–512.
 */
export function selectMinLatents(k: number, topK?: number): number {
  const floor = LABEL_DEFAULTS.minLatents;
  const byK = Math.max(floor, Math.round(2 * Math.log2(k)) - 6);
  return topK === undefined ? byK : Math.min(byK, Math.max(floor, Math.round(topK / 3)));
}

/** Options of {@link runLabel}: those of {@link labelShards}, and how many latents selection was asked for. */
export interface LabelStageOptions extends LabelShardsOptions {
  /** The latents were chosen by selection of this many (K): an unset minLatents follows {@link selectMinLatents}. */
  selected?: number;
}

/** {@link LabelStageOptions} after defaults. */
export type ResolvedLabelOptions = LabelShardsOptions & { z: number; minLatents: number; batch: number };

/**
 * Applies defaults and checks the options once.
 * @throws TokenfilterError E_OPTION for an unknown key (naming the nearest valid one), a
 *   minLatents that is not a positive integer, or a z that is not finite.
 */
export function resolveLabel(options: LabelStageOptions): ResolvedLabelOptions {
  const { select: _select, ...defaults } = LABEL_STAGE_DEFAULTS;
  const { selected, ...rest } = withDefaults('label', {}, options, [
    ...Object.keys(defaults), 'selected', 'shards', 'out', 'model', 'layer', 'activations', 'sae', 'latents', 'mean', 'std', 'context', 'task', 'sources', 'onProgress', 'onShard', 'signal',
  ]) as LabelStageOptions;
  const topK = rest.sae?.config.kind === 'topk' ? rest.sae.config.k : undefined;
  const minLatents = rest.minLatents ?? (selected !== undefined ? selectMinLatents(selected, topK) : defaults.minLatents);
  const o = { ...rest, z: rest.z ?? defaults.z, minLatents, batch: rest.batch ?? defaults.batch };
  if (!Number.isFinite(o.z)) throw new TokenfilterError('E_OPTION', `stage label: z must be a finite number, got ${o.z}`);
  if (!Number.isInteger(o.minLatents) || o.minLatents < 1) throw new TokenfilterError('E_OPTION', `stage label: minLatents must be a positive integer, got ${o.minLatents}`);
  return o;
}

/** Labels one task's shards. */
export async function runLabel(options: LabelStageOptions): Promise<LabelShardsResult> {
  return labelShards(resolveLabel(options));
}
