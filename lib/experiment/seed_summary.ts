/**
 * Seed means and spreads of the experiment's comparisons: for every (series, size, mode,
 * setting) the Δ held-out loss against the baseline of the same size and seed, and the compute
 * slowdown per domain, as mean ± half the range over seeds (with two seeds: the two values are
 * mean − spread and mean + spread).
 * @module
 */
import type { ExperimentRun, FilteringExperimentResults } from './experiment_results.js';
import { sizeName } from './model_size.js';

/** A mean over seeds and half the range of the values (0 with one seed). */
export interface Spread {
  mean: number;
  spread: number;
  n: number;
}

/** One row: a group of runs that differ only by seed. */
export interface SeedGroup {
  series: ExperimentRun['series'];
  size: string;
  mode: string;
  /** The filter setting that defines the group (threshold, fraction, noise rate, delay), as text. */
  setting: string;
  seeds: number[];
  flagged: Spread;
  supervised: Spread;
  flops: Spread;
  /** Δ loss against the same seed's baseline, per held-out loss. */
  delta: Record<string, Spread>;
  /** Compute slowdown per held-out loss (only where every seed has one). */
  slowdown: Record<string, Spread>;
}

/** Mean and half-range of `xs` (null when empty or when any value is not finite). */
export function spreadOf(xs: number[]): Spread | null {
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, spread: (Math.max(...xs) - Math.min(...xs)) / 2, n: xs.length };
}

/** `mean ± spread` with `digits` decimals (or as a multiple with `×`). */
export function spreadText(s: Spread | null | undefined, digits = 3, suffix = ''): string {
  if (!s) return '';
  const sign = suffix === '' && s.mean >= 0 ? '+' : '';
  return s.n > 1 ? `${sign}${s.mean.toFixed(digits)}${suffix} ± ${s.spread.toFixed(digits)}` : `${sign}${s.mean.toFixed(digits)}${suffix}`;
}

function settingOf(run: ExperimentRun): string {
  const f = run.filter;
  if (!f) return '';
  if (run.series === 'noise') return `noise ${f.noise}`;
  if (run.series === 'delay') return `delay ${f.delay}`;
  if (run.series === 'sweep') return `fraction ${f.fraction}`;
  return '';
}

/** Groups the filtered runs by everything but the seed, with Δs and slowdowns over seeds. */
export function seedGroups(results: FilteringExperimentResults): SeedGroup[] {
  const groups = new Map<string, ExperimentRun[]>();
  for (const run of Object.values(results.runs)) {
    if (run.mode === 'baseline') continue;
    const key = [run.series, sizeName(run.size), run.mode, settingOf(run)].join('|');
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const slowdowns = new Map(results.slowdowns.map((s) => [`${s.id}|${s.domain ?? 'medical'}`, s.slowdown]));
  const out: SeedGroup[] = [];
  for (const runs of groups.values()) {
    runs.sort((a, b) => a.seed - b.seed);
    const pairs = runs.map((r) => [r, results.runs[`baseline-${sizeName(r.size)}-s${r.seed}`]] as const).filter(([, b]) => b !== undefined);
    const domains = Object.keys(runs[0].loss);
    const delta: Record<string, Spread> = {};
    const slowdown: Record<string, Spread> = {};
    for (const d of domains) {
      const s = pairs.length === runs.length ? spreadOf(pairs.map(([r, b]) => r.loss[d] - b.loss[d])) : null;
      if (s) delta[d] = s;
      const sd = spreadOf(runs.map((r) => slowdowns.get(`${r.id}|${d}`) ?? Number.NaN));
      if (sd) slowdown[d] = sd;
    }
    const r0 = runs[0];
    out.push({
      series: r0.series, size: sizeName(r0.size), mode: r0.mode, setting: settingOf(r0), seeds: runs.map((r) => r.seed),
      flagged: spreadOf(runs.map((r) => r.flaggedFraction))!, supervised: spreadOf(runs.map((r) => r.trainSupervisedTokens))!,
      flops: spreadOf(runs.map((r) => r.trainFlops))!, delta, slowdown,
    });
  }
  const order = ['ladder', 'sweep', 'noise', 'delay'];
  const params = (g: SeedGroup) => runsOfSize(results, g.size);
  const value = (g: SeedGroup) => Number(g.setting.split(' ').pop() || 0);
  return out.sort((a, b) => order.indexOf(a.series) - order.indexOf(b.series) || params(a) - params(b) || value(b) - value(a) || a.mode.localeCompare(b.mode));
}

function runsOfSize(results: FilteringExperimentResults, size: string): number {
  return Object.values(results.runs).find((r) => sizeName(r.size) === size)?.nonEmbeddingParams ?? 0;
}
