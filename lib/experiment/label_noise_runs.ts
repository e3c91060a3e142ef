/**
 * Label noise at the sweep size: before filtering, a share of the ladder's flags is moved off
 * and as many on (lib/eval/label_noise.ts), so the flagged share stays the ladder's and only the
 * error rate changes.
 * @module
 */
import type { ExperimentContext } from './experiment_context.js';
import { sizeName } from './model_size.js';
import { trainRun } from './train_run.js';

/** Trains (or skips, when done) one seed's label-noise runs, one per rate. */
export async function runLabelNoise(x: ExperimentContext, seed: number): Promise<void> {
  const { o } = x;
  const size = o.sizes[o.sweepSize];
  for (const noise of o.noiseRates)
    await trainRun(x, { id: `noise-${o.noiseMode}-${noise}-${sizeName(size)}-s${seed}`, series: 'noise', mode: o.noiseMode, size, seed, filter: { threshold: x.threshold, noise } });
}
