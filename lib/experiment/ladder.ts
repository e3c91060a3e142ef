/**
 * The experiment's ladder: at every size, for every seed, the unfiltered baseline and each
 * filtering mode, every mode flagging the same share of training tokens (the token flags' share
 * at the threshold); the baseline fits and slowdowns are refreshed after each size.
 * @module
 */
import { updateFits } from './baseline_fits.js';
import type { ExperimentContext } from './experiment_context.js';
import { sizeName } from './model_size.js';
import { trainRun } from './train_run.js';

/** Trains (or skips, when done) every ladder run. */
export async function runLadder(x: ExperimentContext): Promise<void> {
  for (const size of x.o.sizes) {
    for (const seed of x.o.seeds)
      for (const mode of ['baseline', ...x.o.modes] as const)
        await trainRun(x, {
          id: `${mode}-${sizeName(size)}-s${seed}`, series: 'ladder', mode, size, seed,
          filter: mode === 'baseline' ? null : mode === 'document' ? { fraction: x.ladderFraction } : { threshold: x.threshold },
        });
    updateFits(x.results);
    await x.save();
  }
}
