/**
 * The domains of the study and the label values that stand for them, written once: a token's
 * domain label is its domain's index in {@link DOMAINS}, the forget domain is medical, and
 * {@link UNLABELLED} (255) marks a token with no label (document separators, tokens outside any
 * span) in label side files and labelled sequences.
 * @module
 */

/** The domains in label order: label value = index (general 0, medical 1, biology 2). */
export const DOMAINS = ['general', 'medical', 'biology'] as const;

/** One of {@link DOMAINS}. */
export type Domain = (typeof DOMAINS)[number];

/** The domain whose tokens are filtered out. */
export const FORGET_DOMAIN: Domain = 'medical';

/** Label value of the forget domain (its index in {@link DOMAINS}). */
export const FORGET_LABEL: number = DOMAINS.indexOf(FORGET_DOMAIN);

/**
 * The domains with the forget domain first and then the retain domains, nearest first: the
 * order reports list them in and the order the default corpus fills and reads them (changing
 * it changes which documents a seed draws).
 */
export const FORGET_FIRST: readonly Domain[] = ['medical', 'biology', 'general'];

/** The label value of a token with no label: skipped by metrics, training and error rates. */
export const UNLABELLED = 255;

/** @deprecated the same list as {@link DOMAINS} (the experiment's former name for it). */
export const EXPERIMENT_DOMAINS = DOMAINS;

/** @deprecated the same list as {@link DOMAINS} (the demo's former name for it). */
export const DEMO_DOMAINS = DOMAINS;
