/**
 * Choosing a classifier setting (layer, scoring method, threshold, preset) on a blend of
 * validation kinds, e.g. paragraph mixes and sentence-level mixes, so no choice is tuned to how
 * one validation set happens to be built.
 *
 * A setting's threshold is the one that maximises the blend's objective at one common threshold
 * ({@link blendThreshold}): the mean F1 over the kinds, or (`worst`) the F1 of the worst kind,
 * ties to the better mean; `worst` suits a target every kind must reach. Among settings,
 * {@link selectOnBlend} keeps the best objective, but never a setting that is the worst of all on
 * some kind while another setting is not the worst on any kind: a blend must not buy one kind
 * with the other.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import { binaryMetrics, precisionRecallF1, type BinaryMetrics } from './metrics.js';

/** One validation kind's labelled scores (labels 0 / 1; others ignored). */
export interface KindScores {
  name: string;
  scores: Float32Array;
  labels: Uint8Array;
}

/** What a blend maximises: the mean F1 over its kinds, or the F1 of its worst kind. */
export type BlendObjective = 'mean' | 'worst';

/** A threshold and what it gives on each kind. */
export interface BlendResult {
  threshold: number;
  /** The objective at `threshold`: the mean F1 over the kinds, or the worst kind's F1. */
  objective: number;
  /** Metrics of each kind at `threshold`, in the order given. */
  kinds: (BinaryMetrics & { name: string })[];
}

/** Scores of positives and negatives, sorted descending. */
function sortedByLabel(k: KindScores): { pos: Float64Array; neg: Float64Array } {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < k.labels.length; i++) {
    if (k.labels[i] === 1) pos.push(k.scores[i]);
    else if (k.labels[i] === 0) neg.push(k.scores[i]);
  }
  return { pos: Float64Array.from(pos).sort().reverse(), neg: Float64Array.from(neg).sort().reverse() };
}

/** How many entries of `desc` (sorted descending) are ≥ t. */
function countAtLeast(desc: Float64Array, t: number): number {
  let lo = 0;
  let hi = desc.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (desc[mid] >= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The threshold maximising the objective over `kinds` (flag when score ≥ threshold): the mean F1,
 * or (`worst`) the lowest F1 of a kind, ties to the better mean. Searched over up to `candidates`
 * distinct scores spread evenly over the pooled scores (all of them when fewer), ties to the
 * higher threshold.
 * @throws TokenfilterError (E_OPTION) for no kinds, a kind without labelled items, mismatched lengths or an unknown objective.
 */
export function blendThreshold(kinds: readonly KindScores[], candidates = 1024, objective: BlendObjective = 'mean'): BlendResult {
  if (kinds.length === 0) throw new TokenfilterError('E_OPTION', 'at least one validation kind is needed');
  checkBlendObjective(objective);
  const sorted = kinds.map((k) => {
    if (k.scores.length !== k.labels.length) throw new TokenfilterError('E_OPTION', `${k.name}: ${k.scores.length} scores for ${k.labels.length} labels`);
    const s = sortedByLabel(k);
    if (s.pos.length + s.neg.length === 0) throw new TokenfilterError('E_OPTION', `${k.name}: no labelled items`);
    return s;
  });
  const pooled = Float64Array.from(kinds.flatMap((k) => Array.from(k.scores))).sort();
  const distinct: number[] = [];
  for (let i = 0; i < pooled.length; i++) if (i === 0 || pooled[i] !== pooled[i - 1]) distinct.push(pooled[i]);
  const step = Math.max(1, distinct.length / candidates);
  let best = { threshold: distinct[distinct.length - 1], objective: -1, mean: -1 };
  for (let x = distinct.length - 1; x >= 0; x -= step) {
    const t = distinct[Math.floor(x)];
    let sum = 0;
    let worst = 1;
    for (const { pos, neg } of sorted) {
      const tp = countAtLeast(pos, t);
      const fp = countAtLeast(neg, t);
      const f1 = precisionRecallF1(tp, fp, pos.length - tp).f1;
      sum += f1;
      worst = Math.min(worst, f1);
    }
    const mean = sum / kinds.length;
    const value = objective === 'worst' ? worst : mean;
    if (value > best.objective || (value === best.objective && mean > best.mean)) best = { threshold: t, objective: value, mean };
  }
  return {
    threshold: best.threshold,
    objective: best.objective,
    kinds: kinds.map((k) => ({ name: k.name, ...binaryMetrics(k.scores, k.labels, best.threshold) })),
  };
}

/** @throws TokenfilterError (E_OPTION) unless `objective` is 'mean' or 'worst'. */
export function checkBlendObjective(objective: unknown): asserts objective is BlendObjective {
  if (objective !== 'mean' && objective !== 'worst') throw new TokenfilterError('E_OPTION', `the blend's objective must be 'mean' or 'worst', got ${JSON.stringify(objective)}`);
}

/**
 * The index of the setting to keep among `settings`, each given by its F1 on every kind (same
 * order in each) and its blend objective: the best objective among the settings that are not the
 * worst on any kind (all settings when every one is the worst somewhere); ties to the first.
 * @throws TokenfilterError (E_OPTION) for no settings or settings with different kind counts.
 */
export function selectOnBlend(settings: readonly { f1: readonly number[]; objective: number }[]): number {
  if (settings.length === 0) throw new TokenfilterError('E_OPTION', 'no settings to select from');
  const kinds = settings[0].f1.length;
  if (settings.some((s) => s.f1.length !== kinds)) throw new TokenfilterError('E_OPTION', 'every setting needs an F1 for each kind');
  const worst = Array.from({ length: kinds }, (_, k) => Math.min(...settings.map((s) => s.f1[k])));
  const isWorst = (s: { f1: readonly number[] }) => settings.length > 1 && s.f1.some((f, k) => f <= worst[k]);
  const allowed = settings.some((s) => !isWorst(s)) ? (s: { f1: readonly number[] }) => !isWorst(s) : () => true;
  let chosen = -1;
  settings.forEach((s, i) => {
    if (allowed(s) && (chosen < 0 || s.objective > settings[chosen].objective)) chosen = i;
  });
  return chosen;
}
