/**
 * Binary classification metrics for per-token (or per-document) scores against 0/1 labels:
 * precision, recall and F1 at a threshold, the exact precision-recall curve, and the threshold of
 * maximum F1 (the threshold that flags a requested fraction is `thresholdForFraction`).
 * Labels other than 0 and 1 (e.g. 255 = unlabelled) are ignored everywhere.
 * @module
 */
import { CodedTypeError, CodedRangeError } from '../errors.js';
/** Counts and rates at one threshold (a score ≥ threshold is flagged). */
export interface BinaryMetrics {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
  /** Share of labelled items flagged. */
  flaggedFraction: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
}

/** One point of a precision-recall curve. */
export interface PrPoint {
  threshold: number;
  precision: number;
  recall: number;
  f1: number;
}

function check(scores: ArrayLike<number>, labels: Uint8Array): void {
  if (!(labels instanceof Uint8Array)) throw new CodedTypeError('labels must be a Uint8Array');
  if (scores.length !== labels.length) throw new CodedRangeError(`scores has length ${scores.length}, labels ${labels.length}`);
}

/** Precision, recall and F1 of one set of flags. */
export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Precision, recall and F1 from counts of true positives, false positives and false negatives:
 * the one implementation in the package, and its one rule for the empty cases. A rate whose
 * denominator is zero is 1 (nothing was flagged, so nothing was flagged wrongly; there was
 * nothing to find, so nothing was missed). F1 is 2·tp / (2·tp + fp + fn), the harmonic mean of
 * the two without the rounding of computing them first; with tp = 0 it is 1 when fp = fn = 0
 * (nothing to find and nothing flagged) and 0 otherwise.
 * @throws RangeError for a negative or non-integer count.
 */
export function precisionRecallF1(tp: number, fp: number, fn: number): PrecisionRecallF1 {
  for (const [name, n] of [['tp', tp], ['fp', fp], ['fn', fn]] as const)
    if (!Number.isSafeInteger(n) || n < 0) throw new CodedRangeError(`${name} must be a non-negative integer count, got ${n}`);
  return {
    precision: tp + fp > 0 ? tp / (tp + fp) : 1,
    recall: tp + fn > 0 ? tp / (tp + fn) : 1,
    f1: tp > 0 ? (2 * tp) / (2 * tp + fp + fn) : fp === 0 && fn === 0 ? 1 : 0,
  };
}

function rates(threshold: number, tp: number, fp: number, fn: number, tn: number): BinaryMetrics {
  const { precision, recall, f1 } = precisionRecallF1(tp, fp, fn);
  const total = tp + fp + fn + tn;
  return { threshold, precision, recall, f1, flaggedFraction: total > 0 ? (tp + fp) / total : 0, truePositives: tp, falsePositives: fp, falseNegatives: fn, trueNegatives: tn };
}

/**
 * Metrics at `threshold` (flag when score ≥ threshold), by {@link precisionRecallF1}'s rule:
 * precision 1 when nothing is flagged, recall 1 when there are no positives.
 * @throws RangeError for mismatched lengths.
 */
export function binaryMetrics(scores: ArrayLike<number>, labels: Uint8Array, threshold: number): BinaryMetrics {
  check(scores, labels);
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y > 1) continue;
    const flagged = scores[i] >= threshold;
    if (y === 1) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  }
  return rates(threshold, tp, fp, fn, tn);
}

/**
 * The exact precision-recall curve: one point per distinct score (as threshold), from the
 * highest score down, plus `maxF1` (the point with the largest F1; ties to the higher threshold).
 * @throws RangeError for mismatched lengths or no labelled item.
 */
export function precisionRecallCurve(scores: ArrayLike<number>, labels: Uint8Array): { points: PrPoint[]; maxF1: BinaryMetrics } {
  check(scores, labels);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos.push(scores[i]);
    else if (labels[i] === 0) neg.push(scores[i]);
  }
  if (pos.length + neg.length === 0) throw new CodedRangeError('no labelled items (labels 0 or 1)');
  const p = Float64Array.from(pos).sort().reverse();
  const q = Float64Array.from(neg).sort().reverse();
  const points: PrPoint[] = [];
  let i = 0, j = 0;
  let best: BinaryMetrics | null = null;
  while (i < p.length || j < q.length) {
    const t = Math.max(i < p.length ? p[i] : -Infinity, j < q.length ? q[j] : -Infinity);
    while (i < p.length && p[i] === t) i++;
    while (j < q.length && q[j] === t) j++;
    const m = rates(t, i, j, p.length - i, q.length - j);
    points.push({ threshold: t, precision: m.precision, recall: m.recall, f1: m.f1 });
    if (!best || m.f1 > best.f1) best = m;
  }
  return { points, maxF1: best! };
}

/** Thins a curve to at most `count` points evenly spread in recall (for reports and plots). */
export function thinCurve(points: readonly PrPoint[], count = 50): PrPoint[] {
  if (points.length <= count) return [...points];
  const out: PrPoint[] = [];
  let next = 0;
  for (const point of points) {
    if (point.recall >= next) {
      out.push(point);
      next = point.recall + 1 / count;
    }
  }
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (rank-sum form, O(n log n)). Labels above 1 are ignored.
 * @throws RangeError for mismatched lengths or when either class is absent.
 */
export function auroc(scores: ArrayLike<number>, labels: Uint8Array): number {
  check(scores, labels);
  const items: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] <= 1) items.push(i);
  items.sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < items.length; ) {
    let end = start;
    while (end + 1 < items.length && scores[items[end + 1]] === scores[items[start]]) end++;
    const midRank = (start + end) / 2 + 1; // ranks are 1-based; tied items share the mean rank
    for (let j = start; j <= end; j++)
      if (labels[items[j]] === 1) {
        positives++;
        rankSum += midRank;
      }
    start = end + 1;
  }
  const negatives = items.length - positives;
  if (positives === 0 || negatives === 0) throw new CodedRangeError(`auroc needs both classes (${positives} positive, ${negatives} negative)`);
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
