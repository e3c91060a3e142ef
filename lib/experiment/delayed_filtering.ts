/**
 * Delayed filtering at the sweep size: the first share of the baseline's steps trains on the
 * unfiltered stream, the rest on the filtered one (the paper's `begin_filter_step`).
 * @module
 */
import type { ExperimentContext } from './experiment_context.js';
import { sizeName } from './model_size.js';
import { trainRun } from './train_run.js';

/** Trains (or skips, when done) one seed's delayed-filtering runs, one per share. */
export async function runDelayedFiltering(x: ExperimentContext, seed: number): Promise<void> {
  const { o } = x;
  const size = o.sizes[o.sweepSize];
  for (const delay of o.delayShares)
    await trainRun(x, {
      id: `delay-${o.noiseMode}-${delay}-${sizeName(size)}-s${seed}`, series: 'delay', mode: o.noiseMode, size, seed,
      filter: o.noiseMode === 'document' ? { fraction: x.ladderFraction, delay } : { threshold: x.threshold, delay },
    });
}
