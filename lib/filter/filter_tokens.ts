/**
 * `filterTokens`: turn per-token forget-domain scores into what the trainer consumes.
 * @module
 */
import { native } from '../native.js';
import type { NativeFilterPass } from '../native_types.js';
import { precisionRecallF1, type PrecisionRecallF1 } from '../classify/metrics.js';
import { quantisedLevel, thresholdForFraction, validateScores, type TokenScores } from './threshold.js';
import { CodedTypeError, CodedRangeError } from '../errors.js';

/** How flagged tokens are kept out of training. */
export type FilterMode = 'mask' | 'remove' | 'document';

/** Options of {@link filterTokens}. Give exactly one of `threshold` and `fraction`. */
export interface FilterOptions {
  /**
   * - `mask`: flagged tokens stay as context; their loss mask is 0 (no gradient from them).
   * - `remove`: flagged tokens become `hiddenId` in the stream (inputs and targets) and are masked.
   * - `document`: whole documents whose score passes the threshold are dropped (the baseline).
   *
   * In the token modes the separator `<|endoftext|>` (`eotId`) is never flagged, whatever its
   * score: it keeps its id, so documents never merge, and its loss mask stays 1. It carries no
   * domain content (`scoreShards` scores it 0), the model must still learn where documents end,
   * and mask and remove then supervise exactly the same positions.
   */
  mode: FilterMode;
  /**
   * Probability threshold: a token (or, in `document` mode, a document) is flagged when its
   * score is >= threshold.
   */
  threshold?: number;
  /**
   * Flag this fraction of tokens instead of giving a threshold, in [0, 1]. Token modes flag the
   * highest-scoring tokens; `document` mode drops the highest-scoring documents until they hold
   * at least this fraction of the tokens. This is how modes are compared at matched flagged fractions.
   */
  fraction?: number;
  /** Id of `<|hidden|>`; required by `remove`. */
  hiddenId?: number;
  /**
   * Id of `<|endoftext|>`, which separates documents (each document ends with it, the last one
   * may not); required by `document`; in the token modes it is never flagged (see `mode`) and
   * it delimits documents for the statistics. Give it whenever the stream holds documents.
   */
  eotId?: number;
  /**
   * `document` mode: one score per document (e.g. from a DocumentClassifier). When absent, a
   * document's score is the mean of its tokens' scores.
   */
  documentScores?: Float32Array;
  /** Per-token domain labels (e.g. gold or SAE labels), for per-label statistics. */
  labels?: Uint8Array;
  /** Names of the label values, index = label (default: the numbers as strings). */
  labelNames?: string[];
  /** Label value of the forget domain: adds precision / recall / F1 of the flags against it. */
  forgetLabel?: number;
}

/** Counts for one label value. */
export interface LabelStats {
  tokens: number;
  /** Tokens no longer learned from (masked, removed, or in a dropped document). */
  filtered: number;
}

/** What {@link filterTokens} did, in numbers. */
export interface FilterStats {
  mode: FilterMode;
  /** The probability threshold applied (to tokens, or in `document` mode to documents). */
  threshold: number;
  tokens: number;
  /**
   * Tokens no longer learned from: those scoring >= threshold in token modes (separators
   * never), all tokens of dropped documents in `document` mode.
   */
  flaggedTokens: number;
  flaggedFraction: number;
  /** Tokens left with loss mask 1. */
  supervisedTokens: number;
  documents: number;
  documentsDropped: number;
  /** Documents left with no supervised token but their separator (in token modes). */
  documentsEmptied: number;
  /** Per label name, when `labels` were given. */
  perLabel?: Record<string, LabelStats>;
  /** Filtering as a classifier of the forget label, when `labels` and `forgetLabel` were given (empty cases: {@link precisionRecallF1}). */
  forget?: PrecisionRecallF1;
}

/** The filtered stream. */
export interface FilterResult {
  /**
   * Token ids to train on. `mask` mode returns the input array itself (unchanged); `remove`
   * returns a copy with flagged tokens replaced; `document` returns the kept documents, in order.
   */
  tokens: Uint32Array;
  /** 1 = learn from this token as a target, 0 = don't; one per returned token. */
  lossMask: Uint8Array;
  /** One entry per input document: 1 kept, 0 dropped (all 1 in token modes). */
  docsKept: Uint8Array;
  stats: FilterStats;
}

const KNOWN_OPTIONS = new Set([
  'mode', 'threshold', 'fraction', 'hiddenId', 'eotId', 'documentScores', 'labels', 'labelNames', 'forgetLabel',
]);

/**
 * Filters a token stream by per-token forget-domain scores.
 *
 * @param tokens token ids of one or more documents separated by `eotId`.
 * @param scores one score per token: a probability (Float32Array) or round(255·p) (Uint8Array,
 *   the side-file format).
 * @returns the tokens and loss mask to train on, which documents survived, and statistics.
 * @throws TypeError / RangeError naming the bad argument (lengths, ranges, missing ids,
 *   unknown options).
 *
 * @example
 * ```ts
 * import { filterTokens } from 'tokenfilter';
 * const tokens = new Uint32Array([5, 6, 7, 0, 8, 9, 0]);          // two documents, eot = 0
 * const scores = new Float32Array([0.1, 0.9, 0.8, 0, 0.2, 0.1, 0]);
 * const masked = filterTokens(tokens, scores, { mode: 'mask', threshold: 0.5, eotId: 0 });
 * masked.lossMask;   // Uint8Array [1, 0, 0, 1, 1, 1, 1]
 * const removed = filterTokens(tokens, scores, { mode: 'remove', threshold: 0.5, hiddenId: 1, eotId: 0 });
 * removed.tokens;    // Uint32Array [5, 1, 1, 0, 8, 9, 0]
 * const docs = filterTokens(tokens, scores, { mode: 'document', threshold: 0.4, eotId: 0 });
 * docs.tokens;       // Uint32Array [8, 9, 0]  (first document's mean score 0.45 >= 0.4)
 * ```
 */
export function filterTokens(tokens: Uint32Array, scores: TokenScores, options: FilterOptions): FilterResult {
  const opts = resolveOptions(tokens, scores, options);
  const eot = opts.eotId ?? -1;
  if (opts.mode !== 'document') {
    // separators are never flagged, so they rank last when a fraction picks the threshold
    const threshold = opts.threshold ?? thresholdForFraction(zeroAtSeparators(scores, tokens, eot), opts.fraction!);
    const pass = runPass(tokens, scores, threshold, eot, opts.mode === 'remove' ? opts.hiddenId! : -1, opts.labels);
    return {
      tokens: pass.tokens ?? tokens,
      lossMask: pass.lossMask,
      docsKept: new Uint8Array(pass.documents).fill(1),
      stats: makeStats(opts, threshold, tokens.length, pass, 0),
    };
  }

  const docEnds = documentEnds(tokens, eot);
  const docScores = opts.documentScores ?? meanDocumentScores(scores, docEnds);
  const threshold = opts.threshold ?? documentThresholdForFraction(docScores, docEnds, opts.fraction!);
  const docsKept = new Uint8Array(docEnds.length);
  // Per-token "dropped" marks (255 = in a dropped document) reuse the native pass for statistics.
  const dropped = new Uint8Array(tokens.length);
  let kept = 0;
  let documentsDropped = 0;
  for (let d = 0, start = 0; d < docEnds.length; start = docEnds[d], d++) {
    if (docScores[d] >= threshold) {
      dropped.fill(255, start, docEnds[d]);
      documentsDropped++;
    } else {
      docsKept[d] = 1;
      kept += docEnds[d] - start;
    }
  }
  const out = new Uint32Array(kept);
  for (let d = 0, start = 0, at = 0; d < docEnds.length; start = docEnds[d], d++) {
    if (!docsKept[d]) continue;
    out.set(tokens.subarray(start, docEnds[d]), at);
    at += docEnds[d] - start;
  }
  const pass = runPass(tokens, dropped, 1, eot, -1, opts.labels, true);
  return {
    tokens: out,
    lossMask: new Uint8Array(kept).fill(1),
    docsKept,
    stats: makeStats(opts, threshold, tokens.length, pass, documentsDropped),
  };
}

/** Result of the native per-token pass. */
type PassResult = NativeFilterPass;

function runPass(
  tokens: Uint32Array,
  scores: TokenScores,
  threshold: number,
  eot: number,
  hidden: number,
  labels: Uint8Array | undefined,
  flagSeparators = false,
): PassResult {
  return native.filter.tokenFilter(tokens, scores, threshold, quantisedLevel(threshold), eot, hidden, labels, flagSeparators);
}

function resolveOptions(tokens: Uint32Array, scores: TokenScores, options: FilterOptions): FilterOptions {
  if (!(tokens instanceof Uint32Array)) throw new CodedTypeError('tokens must be a Uint32Array');
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  for (const key of Object.keys(options))
    if (!KNOWN_OPTIONS.has(key)) throw new CodedTypeError(`unknown filterTokens option '${key}'`);
  const { mode, threshold, fraction } = options;
  if (mode !== 'mask' && mode !== 'remove' && mode !== 'document')
    throw new CodedTypeError(`options.mode must be 'mask', 'remove' or 'document', got ${JSON.stringify(mode)}`);
  validateScores(scores);
  if (scores.length !== tokens.length)
    throw new CodedRangeError(`scores has length ${scores.length}, expected one per token (${tokens.length})`);
  if ((threshold === undefined) === (fraction === undefined))
    throw new CodedTypeError('give exactly one of options.threshold and options.fraction');
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold >= 0 && threshold <= 1))
    throw new CodedRangeError(`options.threshold must be a number in [0, 1], got ${threshold}`);
  if (fraction !== undefined && !(typeof fraction === 'number' && fraction >= 0 && fraction <= 1))
    throw new CodedRangeError(`options.fraction must be a number in [0, 1], got ${fraction}`);
  const checkId = (name: 'hiddenId' | 'eotId') => {
    const id = options[name];
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id <= 0xffffffff))
      throw new CodedRangeError(`options.${name} must be a token id (a non-negative integer), got ${id}`);
  };
  checkId('hiddenId');
  checkId('eotId');
  if (mode === 'remove' && options.hiddenId === undefined) throw new CodedTypeError("mode 'remove' needs options.hiddenId");
  if (mode === 'document' && options.eotId === undefined) throw new CodedTypeError("mode 'document' needs options.eotId");
  if (options.documentScores !== undefined) {
    if (mode !== 'document') throw new CodedTypeError("options.documentScores applies to mode 'document' only");
    if (!(options.documentScores instanceof Float32Array)) throw new CodedTypeError('options.documentScores must be a Float32Array');
    validateScores(options.documentScores, 'options.documentScores');
    const docs = documentEnds(tokens, options.eotId ?? -1).length;
    if (options.documentScores.length !== docs)
      throw new CodedRangeError(`options.documentScores has length ${options.documentScores.length}, expected one per document (${docs})`);
  }
  if (options.labels !== undefined) {
    if (!(options.labels instanceof Uint8Array)) throw new CodedTypeError('options.labels must be a Uint8Array');
    if (options.labels.length !== tokens.length)
      throw new CodedRangeError(`options.labels has length ${options.labels.length}, expected one per token (${tokens.length})`);
  }
  if (options.forgetLabel !== undefined && options.labels === undefined)
    throw new CodedTypeError('options.forgetLabel needs options.labels');
  return options;
}

/**
 * `values` (one per token) with the entries at separators (`tokens[i] === eotId`) set to 0: a
 * copy when there is any separator, else `values` itself. Token modes never flag a separator,
 * so thresholds chosen for a fraction of tokens rank them last.
 */
export function zeroAtSeparators<T extends Uint8Array | Uint16Array | Float32Array>(values: T, tokens: Uint32Array, eotId: number): T {
  if (eotId < 0 || !tokens.includes(eotId)) return values;
  const out = values.slice() as T;
  for (let i = 0; i < tokens.length; i++) if (tokens[i] === eotId) out[i] = 0;
  return out;
}

/** End offsets (exclusive) of each document: after each eot, plus the tail if not empty. */
export function documentEnds(tokens: Uint32Array, eotId: number): Uint32Array {
  const n = tokens.length;
  if (eotId < 0) return n === 0 ? new Uint32Array(0) : Uint32Array.of(n);
  let count = 0;
  for (let i = 0; i < n; i++) if (tokens[i] === eotId) count++;
  const tail = n > 0 && tokens[n - 1] !== eotId ? 1 : 0;
  const ends = new Uint32Array(count + tail);
  let d = 0;
  for (let i = 0; i < n; i++) if (tokens[i] === eotId) ends[d++] = i + 1;
  if (tail) ends[d] = n;
  return ends;
}

/** Each document's mean token score (as a probability), documents given by {@link documentEnds}. */
export function meanDocumentScores(scores: TokenScores, docEnds: Uint32Array): Float32Array {
  const out = new Float32Array(docEnds.length);
  const scale = scores instanceof Uint8Array ? 1 / 255 : 1;
  for (let d = 0, start = 0; d < docEnds.length; start = docEnds[d], d++) {
    let sum = 0;
    for (let i = start; i < docEnds[d]; i++) sum += scores[i];
    out[d] = docEnds[d] > start ? (sum * scale) / (docEnds[d] - start) : 0;
  }
  return out;
}

/** Lowest document score such that dropping every document scoring >= it drops >= fraction of tokens. */
function documentThresholdForFraction(docScores: Float32Array, docEnds: Uint32Array, fraction: number): number {
  const total = docEnds.length ? docEnds[docEnds.length - 1] : 0;
  const target = fraction * total;
  if (target <= 0) return Number.POSITIVE_INFINITY;
  const order = Array.from(docScores.keys()).sort((a, b) => docScores[b] - docScores[a]);
  let dropped = 0;
  for (let r = 0; r < order.length; r++) {
    const d = order[r];
    dropped += docEnds[d] - (d === 0 ? 0 : docEnds[d - 1]);
    if (dropped >= target) return docScores[d];
  }
  return 0;
}

function makeStats(opts: FilterOptions, threshold: number, n: number, pass: PassResult, documentsDropped: number): FilterStats {
  const stats: FilterStats = {
    mode: opts.mode,
    threshold,
    tokens: n,
    flaggedTokens: pass.flagged,
    flaggedFraction: n ? pass.flagged / n : 0,
    supervisedTokens: n - pass.flagged,
    documents: pass.documents,
    documentsDropped,
    documentsEmptied: opts.mode === 'document' ? 0 : pass.emptied,
  };
  if (opts.labels) {
    stats.perLabel = {};
    for (let label = 0; label < 256; label++) {
      if (pass.labelTokens[label] === 0) continue;
      stats.perLabel[opts.labelNames?.[label] ?? String(label)] = {
        tokens: pass.labelTokens[label],
        filtered: pass.labelFlagged[label],
      };
    }
  }
  if (opts.forgetLabel !== undefined) {
    const truePositive = pass.labelFlagged[opts.forgetLabel];
    stats.forget = precisionRecallF1(truePositive, pass.flagged - truePositive, pass.labelTokens[opts.forgetLabel] - truePositive);
  }
  return stats;
}
