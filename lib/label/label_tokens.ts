/**
 * The SAE labelling rule: a token is forget when at least `minLatents` selected latents exceed
 * mean + z·std; then, repeated until nothing changes, a token adjacent to a forget token with a
 * positive activation on at least one selected latent becomes forget. Nothing propagates across
 * a document boundary. Runs in the native core (two sweeps reach the fixed point).
 * @module
 */
import { native } from '../native.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** Options of {@link labelTokens}. */
export interface LabelTokensOptions {
  /** T: number of tokens (rows of `activations`). */
  tokens: number;
  /** S: number of selected latents (columns of `activations`). */
  latents: number;
  /** Per-latent mean over the corpus [S]. */
  mean: ArrayLike<number>;
  /** Per-latent standard deviation over the corpus [S]. */
  std: ArrayLike<number>;
  /** Standard deviations above the mean for a latent to count (default 4). */
  z?: number;
  /** Latents that must pass for a seed token (default 2, capped at S). */
  minLatents?: number;
  /** Token indices where documents start: no propagation from t − 1 to t. */
  boundaries?: ArrayLike<number>;
}

/** Defaults of the rule, as in the paper. */
export const LABEL_DEFAULTS = { z: 4, minLatents: 2 } as const;

/**
 * Labels tokens from the activations [tokens × latents] of the selected latents.
 * @returns a Uint8Array of 0/1 per token.
 * @throws TypeError / RangeError for a shape mismatch, NaN activations or statistics, a bad z,
 *   minLatents or boundary index.
 */
export function labelTokens(activations: Float32Array, options: LabelTokensOptions): Uint8Array {
  const { breakBefore } = checkOptions(activations, options);
  return run(activations, options, breakBefore, undefined);
}

/**
 * As {@link labelTokens}, with document boundaries derived from the token ids: every
 * `eotId` token is never labelled and nothing propagates across it.
 * @throws as {@link labelTokens}; RangeError when tokens.length differs from options.tokens.
 */
export function labelTokensWithEot(
  activations: Float32Array,
  tokenIds: Uint32Array,
  eotId: number,
  options: Omit<LabelTokensOptions, 'boundaries'>,
): Uint8Array {
  checkOptions(activations, options);
  if (!(tokenIds instanceof Uint32Array)) throw new CodedTypeError('tokenIds must be a Uint32Array');
  if (tokenIds.length !== options.tokens) throw new CodedRangeError(`tokenIds has length ${tokenIds.length}, expected tokens = ${options.tokens}`);
  if (!Number.isInteger(eotId) || eotId < 0) throw new CodedRangeError(`eotId must be a non-negative integer, got ${eotId}`);
  const blocked = new Uint8Array(tokenIds.length);
  for (let t = 0; t < tokenIds.length; t++) blocked[t] = tokenIds[t] === eotId ? 1 : 0;
  return run(activations, options, undefined, blocked);
}

function run(activations: Float32Array, o: LabelTokensOptions | Omit<LabelTokensOptions, 'boundaries'>, breakBefore?: Uint8Array, blocked?: Uint8Array): Uint8Array {
  const out = new Uint8Array(o.tokens);
  native.sae.labelTokens(
    activations,
    o.latents,
    Float32Array.from(o.mean),
    Float32Array.from(o.std),
    o.z ?? LABEL_DEFAULTS.z,
    Math.min(o.minLatents ?? LABEL_DEFAULTS.minLatents, o.latents),
    breakBefore,
    blocked,
    out,
  );
  return out;
}

function checkOptions(activations: Float32Array, o: LabelTokensOptions | Omit<LabelTokensOptions, 'boundaries'>): { breakBefore?: Uint8Array } {
  if (!(activations instanceof Float32Array)) throw new CodedTypeError('activations must be a Float32Array');
  const { tokens: T, latents: S } = o;
  if (!Number.isInteger(T) || T < 0) throw new CodedRangeError(`tokens must be a non-negative integer, got ${T}`);
  if (!Number.isInteger(S) || S < 1) throw new CodedRangeError(`latents must be a positive integer, got ${S}`);
  if (activations.length !== T * S)
    throw new CodedRangeError(`activations has length ${activations.length}, expected tokens × latents = ${T} × ${S} = ${T * S}`);
  if (o.mean.length !== S) throw new CodedRangeError(`mean has length ${o.mean.length}, expected latents = ${S}`);
  if (o.std.length !== S) throw new CodedRangeError(`std has length ${o.std.length}, expected latents = ${S}`);
  const z = o.z ?? LABEL_DEFAULTS.z;
  if (!Number.isFinite(z)) throw new CodedRangeError(`z must be a finite number, got ${z}`);
  const m = o.minLatents ?? LABEL_DEFAULTS.minLatents;
  if (!Number.isInteger(m) || m < 1) throw new CodedRangeError(`minLatents must be a positive integer, got ${m}`);
  const boundaries = 'boundaries' in o ? o.boundaries : undefined;
  if (boundaries === undefined) return {};
  const breakBefore = new Uint8Array(T);
  for (let i = 0; i < boundaries.length; i++) {
    const b = boundaries[i];
    if (!Number.isInteger(b) || b < 0 || b > T) throw new CodedRangeError(`boundaries[${i}] = ${b} is not a token index in [0, ${T}]`);
    if (b < T) breakBefore[b] = 1;
  }
  return { breakBefore };
}
