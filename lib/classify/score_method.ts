/**
 * How a token classifier turns its probe's raw per-token probabilities into the scores it
 * ships: neighbourhood smoothing within lines (smoothing.ts; radius 0 = the raw probe) or a
 * two-state segmentation with switching costs (segmentation.ts). The method is chosen on
 * validation with the probe, saved in the classifier file (metadata `scoring`, JSON) and
 * recorded beside every score file, so a score is never read without knowing what made it.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import { Boundary, checkSegmentationParams, segmentScores, type SegmentationParams } from './segmentation.js';
import { smoothScores } from './smoothing.js';

/** A scoring method: `smooth` with a radius (0 = raw probe scores) or `segment` with its costs. */
export type ScoreMethod = { kind: 'smooth'; radius: number } | ({ kind: 'segment' } & SegmentationParams);

/** The raw probe. */
export const RAW_SCORES: ScoreMethod = { kind: 'smooth', radius: 0 };

/** The scores of one document by `method`; `boundaries[t]` is the boundary after token t (segmentation.ts). */
export function applyScoreMethod(probabilities: Float32Array, method: ScoreMethod, boundaries: Uint8Array): Float32Array {
  if (method.kind === 'smooth') {
    if (method.radius === 0) return Float32Array.from(probabilities);
    return smoothScores(probabilities, method.radius, boundaries.map((b) => (b === Boundary.Line ? 1 : 0)));
  }
  return segmentScores(probabilities, method, boundaries);
}

/** A short name for reports: `raw`, `smooth r=16`, `segment c=8 s=2 l=0 b=0`. */
export function describeScoreMethod(m: ScoreMethod): string {
  if (m.kind === 'smooth') return m.radius === 0 ? 'raw' : `smooth r=${m.radius}`;
  return `segment c=${m.switchCost} s=${m.sentenceCost} l=${m.lineCost} b=${m.bias}`;
}

/**
 * Checks a method read from a file or option (any JSON value).
 * @throws TokenfilterError (E_OPTION) for anything else.
 */
export function parseScoreMethod(value: unknown): ScoreMethod {
  const v = value as Record<string, unknown> | null;
  if (v && v.kind === 'smooth') {
    if (!Number.isInteger(v.radius) || (v.radius as number) < 0) throw new TokenfilterError('E_OPTION', `smoothing radius must be a non-negative integer, got ${String(v.radius)}`);
    return { kind: 'smooth', radius: v.radius as number };
  }
  if (v && v.kind === 'segment') {
    const params = { switchCost: Number(v.switchCost), sentenceCost: Number(v.sentenceCost), lineCost: Number(v.lineCost), bias: Number(v.bias) };
    checkSegmentationParams(params);
    return { kind: 'segment', ...params };
  }
  throw new TokenfilterError('E_OPTION', `not a scoring method: ${JSON.stringify(value)}`);
}

/**
 * A segmentation from the command line: `C[,S[,L[,B]]]` (switch cost, sentence cost, line cost,
 * bias; S defaults to C, L to S, B to 0).
 * @throws TokenfilterError (E_OPTION) for a malformed list.
 */
export function parseSegmentationOption(text: string): ScoreMethod {
  const parts = text.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.length > 4 || parts.some((p) => p === '') || numbers.some((x) => !Number.isFinite(x)))
    throw new TokenfilterError('E_OPTION', `--segmentation takes C[,S[,L[,B]]] (numbers), got '${text}'`);
  const [switchCost, sentenceCost = switchCost, lineCost = sentenceCost, bias = 0] = numbers;
  return parseScoreMethod({ kind: 'segment', switchCost, sentenceCost, lineCost, bias });
}

/** A grid of segmentations: every switch cost × sentence share × line cost (0 or the sentence cost) × bias. */
export interface SegmentationGrid {
  switchCosts: readonly number[];
  /** Sentence cost as a share of the switch cost. */
  sentenceShares: readonly number[];
  /** Whether a switch at a line break is free (true) or costs what a sentence end costs. */
  freeLineBreaks: readonly boolean[];
  biases: readonly number[];
}

/** Segmentation settings tried by default: every switch cost × sentence share × line cost (0 or the sentence cost) × bias. */
export const DEFAULT_SEGMENTATION_GRID = {
  switchCosts: [2, 4, 8, 16, 32, 64, 128],
  /** Sentence cost as a share of the switch cost. */
  sentenceShares: [1, 0.25],
  /** Whether a switch at a line break is free (true) or costs what a sentence end costs. */
  freeLineBreaks: [true, false],
  biases: [-1, 0, 1],
} as const satisfies SegmentationGrid;

/**
 * Segmentations tried with a lexicon's evidence (lexicon.ts): a word's weight is spread over its
 * tokens, so a token's evidence is a small share of its sentence's logit. A bias per token of ±1
 * swamps it (no bias is tried), and sentence ends cheaper than a quarter of the switch cost, down
 * to free, let a lone sentence switch on its own total (28 segmentations: a free sentence end
 * leaves one line cost, 0).
 */
export const LEXICON_SEGMENTATION_GRID = {
  switchCosts: [2, 4, 8, 16],
  sentenceShares: [1, 0.25, 0.125, 0],
  freeLineBreaks: [true, false],
  biases: [0],
} as const satisfies SegmentationGrid;

/** The methods a layer sweep tries: smoothing at each radius (0 = raw) and, unless `segmentation` is false, the segmentation grid (each method once). */
export function candidateMethods(radii: readonly number[], segmentation: boolean | SegmentationGrid = true): ScoreMethod[] {
  const out: ScoreMethod[] = radii.map((radius) => ({ kind: 'smooth', radius }));
  if (segmentation === false) return out;
  const names = new Set(out.map(describeScoreMethod));
  const grid = segmentation === true ? DEFAULT_SEGMENTATION_GRID : segmentation;
  for (const switchCost of grid.switchCosts)
    for (const share of grid.sentenceShares)
      for (const free of grid.freeLineBreaks)
        for (const bias of grid.biases) {
          const sentenceCost = switchCost * share;
          const method: ScoreMethod = { kind: 'segment', switchCost, sentenceCost, lineCost: free ? 0 : sentenceCost, bias };
          // a free sentence end makes both line costs 0: one entry
          const name = describeScoreMethod(method);
          if (names.has(name)) continue;
          names.add(name);
          out.push(method);
        }
  return out;
}
