/**
 * Two-state segmentation of per-token probe scores: a Viterbi pass over the probe's logits with a
 * cost for every switch between "forget domain" and "other", so a run of tokens changes state
 * only where the evidence over the run pays for the switch, and a short run (one sentence) can
 * still be followed when its evidence is strong enough.
 *
 * The path s ∈ {0, 1}ᵀ maximises Σₜ sₜ·(zₜ + bias) − Σₜ cₜ·[sₜ ≠ sₜ₋₁], where zₜ is the probe's
 * logit and cₜ the cost of switching between tokens t − 1 and t: `switchCost` inside a sentence,
 * `sentenceCost` after a token that ends a sentence, `lineCost` after a line break (a CRF with a
 * fixed emission). Instead of the hard path, each token gets a score: the sigmoid of its
 * max-marginal margin (the best total with sₜ = 1 minus the best with sₜ = 0; a forward and a
 * backward Viterbi pass, linear in tokens) divided by max(1, switchCost). A score above 0.5 is
 * exactly the Viterbi path's label, and thresholds other than 0.5 trade precision for recall as
 * with any score. Margins grow with the evidence of a whole run, to tens of logits; in units of
 * the switch cost they stay where float32 and the 8-bit score files (side_file.ts) still tell
 * them apart.
 * @module
 */
import type { Tokenizer } from '../data/tokenizer.js';
import { TokenfilterError } from '../errors.js';

/** Costs of a segmentation (see the module comment); all in logit units. */
export interface SegmentationParams {
  /** Cost of a switch inside a sentence. */
  switchCost: number;
  /** Cost of a switch after a token that ends a sentence (`.`, `!`, `?`). */
  sentenceCost: number;
  /** Cost of a switch after a line break. */
  lineCost: number;
  /** Added to every logit before segmenting (positive favours the forget domain). */
  bias: number;
}

/** Boundary kind after a token: none, the end of a sentence, a line break. */
export const Boundary = { None: 0, Sentence: 1, Line: 2 } as const;

const EPS = 1e-7;
const boundaryTables = new WeakMap<object, Uint8Array>();

/**
 * For every id of `tokenizer`, the {@link Boundary} after it: `Line` when its text holds a line
 * break, `Sentence` when its text ends in `.`, `!` or `?` (optionally followed by a closing quote
 * or bracket), else `None`. Cached per tokenizer object: do not modify the returned table.
 */
export function boundaryIds(tokenizer: Pick<Tokenizer, 'vocabSize' | 'decode'>): Uint8Array {
  const cached = boundaryTables.get(tokenizer);
  if (cached) return cached;
  const table = new Uint8Array(tokenizer.vocabSize);
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    let text: string;
    try {
      text = tokenizer.decode([id]);
    } catch {
      continue;
    }
    if (/[\n\r]/.test(text)) table[id] = Boundary.Line;
    else if (/[.!?]["'”’)\]]?$/.test(text)) table[id] = Boundary.Sentence;
  }
  boundaryTables.set(tokenizer, table);
  return table;
}

/** The boundary after each token of `tokens`, from {@link boundaryIds}. */
export function boundariesOf(tokens: Uint32Array, table: Uint8Array): Uint8Array {
  const out = new Uint8Array(tokens.length);
  for (let t = 0; t < tokens.length; t++) out[t] = table[tokens[t]] ?? 0;
  return out;
}

/** @throws TokenfilterError (E_OPTION) for a negative or non-finite cost or a non-finite bias. */
export function checkSegmentationParams(p: SegmentationParams): void {
  for (const key of ['switchCost', 'sentenceCost', 'lineCost'] as const)
    if (!(Number.isFinite(p[key]) && p[key] >= 0)) throw new TokenfilterError('E_OPTION', `${key} must be a finite non-negative number, got ${p[key]}`);
  if (!Number.isFinite(p.bias)) throw new TokenfilterError('E_OPTION', `bias must be finite, got ${p.bias}`);
}

/**
 * Segmented scores of one document (a new array): for each token, the sigmoid of its
 * max-marginal margin over max(1, switchCost) (see the module comment). `boundaries[t]` is the {@link Boundary} after
 * token t (all `None` when omitted).
 * @throws TokenfilterError (E_OPTION) for bad parameters or `boundaries` of another length.
 */
export function segmentScores(probabilities: Float32Array, params: SegmentationParams, boundaries?: Uint8Array): Float32Array {
  checkSegmentationParams(params);
  const n = probabilities.length;
  if (boundaries && boundaries.length !== n) throw new TokenfilterError('E_OPTION', `boundaries has ${boundaries.length} entries for ${n} scores`);
  const costs = [params.switchCost, params.sentenceCost, params.lineCost];
  // emission of state 1 (state 0 emits 0)
  const e = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const p = Math.min(1 - EPS, Math.max(EPS, probabilities[t]));
    e[t] = Math.log(p / (1 - p)) + params.bias;
  }
  const cost = (t: number) => costs[boundaries ? boundaries[t - 1] : 0]; // switching between t − 1 and t
  // forward: best score of a path over 0 … t ending in state s, including token t's emission
  const f0 = new Float64Array(n);
  const f1 = new Float64Array(n);
  if (n > 0) f1[0] = e[0];
  for (let t = 1; t < n; t++) {
    const c = cost(t);
    f0[t] = Math.max(f0[t - 1], f1[t - 1] - c);
    f1[t] = e[t] + Math.max(f1[t - 1], f0[t - 1] - c);
  }
  // backward: best score of tokens t + 1 … n − 1 given state s at t; the margin uses f + b
  const out = new Float32Array(n);
  const scale = 1 / Math.max(1, params.switchCost);
  let b0 = 0;
  let b1 = 0;
  for (let t = n - 1; t >= 0; t--) {
    const margin = f1[t] + b1 - (f0[t] + b0);
    out[t] = 1 / (1 + Math.exp(-margin * scale));
    if (t > 0) {
      const c = cost(t);
      const stay0 = b0;
      const stay1 = b1 + e[t];
      b0 = Math.max(stay0, stay1 - c);
      b1 = Math.max(stay1, stay0 - c);
    }
  }
  return out;
}
