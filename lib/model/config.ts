/**
 * Transformer configuration: the options type, the one resolver that applies defaults and
 * validates, and the paper's size ladder.
 * @module
 */
import { stripUndefined } from '../options.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** Options accepted by `Transformer.create`. */
export interface TransformerOptions {
  /** Vocabulary size V (required, integer ≥ 1). */
  vocabSize: number;
  /** Model width C (required; divisible by `heads`, with an even head size for RoPE). */
  dModel: number;
  /** Number of blocks L (required, integer ≥ 1). */
  layers: number;
  /** Attention heads (required; `dModel / heads` must be an even integer). */
  heads: number;
  /** Maximum sequence length T (required, integer ≥ 1). */
  context: number;
  /** MLP width as a multiple of `dModel`; `mlpRatio × dModel` must be an integer. Default 4. */
  mlpRatio?: number;
  /** Share the token embedding with the LM head. Default true. */
  tieEmbeddings?: boolean;
  /** Seed of the initialisation (integer in [0, 2^53)). Default 0. */
  seed?: number;
  /** RoPE base θ (> 1). Default 10000. */
  ropeBase?: number;
  /** RMSNorm epsilon (> 0). Default 1e-5. */
  normEps?: number;
}

/**
 * A complete, validated configuration (what models store and files record): the fields of
 * {@link TransformerOptions} with every default applied, plus the derived MLP width.
 */
export interface TransformerConfig {
  /** V. */
  vocabSize: number;
  /** C. */
  dModel: number;
  /** L. */
  layers: number;
  /** NH; head size C / NH. */
  heads: number;
  /** Maximum T. */
  context: number;
  mlpRatio: number;
  /** MLP width H = mlpRatio × dModel. */
  hidden: number;
  tieEmbeddings: boolean;
  /** Seed the parameters were initialised from. */
  seed: number;
  ropeBase: number;
  normEps: number;
}

/** Every default, in one place. */
export const TRANSFORMER_DEFAULTS = Object.freeze({
  mlpRatio: 4,
  tieEmbeddings: true,
  seed: 0,
  ropeBase: 10000,
  normEps: 1e-5,
});

const KNOWN_OPTIONS = new Set([
  'vocabSize',
  'dModel',
  'layers',
  'heads',
  'context',
  'mlpRatio',
  'tieEmbeddings',
  'seed',
  'ropeBase',
  'normEps',
  // accepted so a resolved config (which includes it) can be passed back in; it must agree
  'hidden',
]);

function positiveInteger(value: unknown, name: string, max = 2 ** 31): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new CodedTypeError(`${name} must be an integer, got ${String(value)}`);
  if (value < 1 || value > max) throw new CodedRangeError(`${name} must be in [1, ${max}], got ${value}`);
  return value;
}

function finiteNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new CodedTypeError(`${name} must be a finite number, got ${String(value)}`);
  return value;
}

/**
 * Applies defaults and validates a configuration.
 * @throws TypeError for a missing or mistyped field or an unknown option (a misspelling);
 *   RangeError for values out of range, `dModel % heads != 0`, an odd head size, or a
 *   non-integer `mlpRatio × dModel`.
 */
export function resolveTransformerConfig(options: TransformerOptions): TransformerConfig {
  if (options === null || typeof options !== 'object') throw new CodedTypeError('config must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw new CodedTypeError(`unknown config option '${key}' (known: ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const o = { ...TRANSFORMER_DEFAULTS, ...stripUndefined(options) };
  const vocabSize = positiveInteger(o.vocabSize, 'vocabSize');
  const dModel = positiveInteger(o.dModel, 'dModel', 65536);
  const layers = positiveInteger(o.layers, 'layers', 1024);
  const heads = positiveInteger(o.heads, 'heads', 65536);
  const context = positiveInteger(o.context, 'context', 1 << 20);
  if (dModel % heads !== 0) throw new CodedRangeError(`dModel (${dModel}) must be divisible by heads (${heads})`);
  if ((dModel / heads) % 2 !== 0)
    throw new CodedRangeError(`head size dModel / heads = ${dModel / heads} must be even (RoPE rotates pairs)`);
  const mlpRatio = finiteNumber(o.mlpRatio, 'mlpRatio');
  if (mlpRatio <= 0) throw new CodedRangeError(`mlpRatio must be > 0, got ${mlpRatio}`);
  const hidden = mlpRatio * dModel;
  if (!Number.isInteger(hidden) || hidden < 1)
    throw new CodedRangeError(`mlpRatio × dModel = ${hidden} must be a positive integer`);
  if ('hidden' in options && options.hidden !== undefined && (options as { hidden: unknown }).hidden !== hidden)
    throw new CodedRangeError(`hidden (${String((options as { hidden: unknown }).hidden)}) must equal mlpRatio × dModel = ${hidden}`);
  if (typeof o.tieEmbeddings !== 'boolean') throw new CodedTypeError('tieEmbeddings must be a boolean');
  const seed = o.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER)
    throw new CodedRangeError(`seed must be an integer in [0, 2^53), got ${String(seed)}`);
  const ropeBase = finiteNumber(o.ropeBase, 'ropeBase');
  if (ropeBase <= 1) throw new CodedRangeError(`ropeBase must be > 1, got ${ropeBase}`);
  const normEps = finiteNumber(o.normEps, 'normEps');
  if (normEps <= 0) throw new CodedRangeError(`normEps must be > 0, got ${normEps}`);
  return { vocabSize, dModel, layers, heads, context, mlpRatio, hidden, tieEmbeddings: o.tieEmbeddings, seed, ropeBase, normEps };
}


/** Options of {@link ladderConfig} besides the depth. */
export interface LadderOptions {
  /** Vocabulary size (required). */
  vocabSize: number;
  /** Context length (required). */
  context: number;
  /** Head size; heads = width / headSize. Default 64 (so heads = depth). */
  headSize?: number;
  /** Passed through; defaults as in {@link TransformerOptions}. */
  mlpRatio?: number;
  tieEmbeddings?: boolean;
  seed?: number;
}

/**
 * One rung of the paper's size ladder: width = 64 × depth and a fixed head size (64 by
 * default, so heads = depth), MLP ratio 4, tied embeddings. Depths 1, 2, 3, … give widths 64,
 * 128, 192, … and about 12·L·C² = 49152·depth³ non-embedding parameters (depth 2: 0.39M,
 * depth 3: 1.3M, depth 4: 3.1M, depth 6: 10.6M).
 * @throws as {@link resolveTransformerConfig}, and RangeError unless depth is a positive
 *   integer and 64 × depth is divisible by `headSize`.
 */
export function ladderConfig(depth: number, options: LadderOptions): TransformerConfig {
  positiveInteger(depth, 'depth', 1024);
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  const known = new Set(['vocabSize', 'context', 'headSize', 'mlpRatio', 'tieEmbeddings', 'seed']);
  for (const key of Object.keys(options))
    if (!known.has(key)) throw new CodedTypeError(`unknown ladder option '${key}' (known: ${[...known].join(', ')})`);
  const headSize = positiveInteger(options.headSize ?? 64, 'headSize', 65536);
  const dModel = 64 * depth;
  if (dModel % headSize !== 0)
    throw new CodedRangeError(`width 64 × ${depth} = ${dModel} is not divisible by headSize ${headSize}`);
  return resolveTransformerConfig({
    vocabSize: options.vocabSize,
    context: options.context,
    dModel,
    layers: depth,
    heads: dModel / headSize,
    mlpRatio: options.mlpRatio,
    tieEmbeddings: options.tieEmbeddings,
    seed: options.seed,
  });
}
