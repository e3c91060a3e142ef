/**
 * The baseline's scaling fits (held-out loss against training FLOPs, one power law per held-out
 * loss, seed means per size) and every filtered run's relative compute slowdown read from them.
 * @module
 */
import { fitPowerLaw, relativeComputeSlowdown, type PowerLawFit } from '../eval/scaling.js';
import type { FilterMode } from '../filter/filter_tokens.js';
import type { ExperimentRun, FilteringExperimentResults, SlowdownRecord } from './experiment_results.js';
import { sizeName } from './model_size.js';

/** Refits the baseline per held-out loss (seed means per size) and recomputes every filtered run's slowdown on each. */
export function updateFits(results: FilteringExperimentResults): void {
  const ladder = Object.values(results.runs).filter((r) => r.series === 'ladder');
  const bySize = new Map<string, ExperimentRun[]>();
  for (const r of ladder.filter((r) => r.mode === 'baseline')) bySize.set(sizeName(r.size), [...(bySize.get(sizeName(r.size)) ?? []), r]);
  if (bySize.size < 2) return;
  const baselines = [...bySize.values()].flat();
  const domains = Object.keys(baselines[0].loss).filter((d) => baselines.every((r) => Number.isFinite(r.loss[d])));
  const fits: Record<string, PowerLawFit> = {};
  for (const domain of domains)
    fits[domain] = fitPowerLaw([...bySize.values()].map((runs) => ({ compute: mean(runs.map((r) => r.trainFlops)), loss: mean(runs.map((r) => r.loss[domain])) })));
  results.fits = fits;
  results.slowdowns = Object.values(results.runs)
    .filter((r) => r.mode !== 'baseline' && r.series !== 'sweep')
    .flatMap((r) => domains.filter((d) => Number.isFinite(r.loss[d])).map((domain) => {
      const record: SlowdownRecord = {
        id: r.id, domain, mode: r.mode as FilterMode, nonEmbeddingParams: r.nonEmbeddingParams, compute: r.trainFlops,
        loss: r.loss[domain], slowdown: null, baselineCompute: null, extrapolation: null,
      };
      try {
        const s = relativeComputeSlowdown(fits[domain], { compute: r.trainFlops, loss: r.loss[domain] });
        record.slowdown = s.slowdown;
        record.baselineCompute = s.baselineCompute;
        record.extrapolation = s.extrapolation;
      } catch (error) {
        record.note = (error as Error).message;
      }
      return record;
    }));
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
