/**
 * The Pareto sweep at the sweep size: every filtering mode at each target flagged fraction
 * (forget loss against retain loss as less or more is flagged).
 * @module
 */
import type { ExperimentContext } from './experiment_context.js';
import { sizeName } from './model_size.js';
import { trainRun } from './train_run.js';

/** Trains (or skips, when done) one seed's sweep runs. */
export async function runParetoSweep(x: ExperimentContext, seed: number): Promise<void> {
  const size = x.o.sizes[x.o.sweepSize];
  for (const fraction of x.o.sweepFractions)
    for (const mode of x.o.modes)
      await trainRun(x, { id: `sweep-${mode}-${fraction}-${sizeName(size)}-s${seed}`, series: 'sweep', mode, size, seed, filter: { fraction } });
}
