/**
 * The filtering experiment of the paper at CPU scale: on a data folder's domain corpus, train
 * an unfiltered baseline and filtered models (document filtering, token masking, token removal)
 * at several sizes with compute-optimal tokens, measure held-out loss per domain, fit the
 * baseline's loss against compute, and read each filtered model's relative compute slowdown;
 * then sweep the flagged fraction at one size (the Pareto picture), with label noise and
 * delayed filtering beside it, attacks and multiple choice at the largest size.
 *
 * This file only sequences the stages; each lives in its own file (experiment_options.ts,
 * experiment_streams.ts, forget_scores.ts, ladder.ts, pareto_sweep.ts, label_noise_runs.ts,
 * delayed_filtering.ts, ladder_attacks.ts, mcq_stage.ts, train_run.ts, baseline_fits.ts).
 *
 * Work is written as it goes and skipped when done: `results.json` in the output folder holds
 * every finished run, each training run checkpoints, so an interrupted experiment (or one
 * continued in a later session with more sizes) picks up where it stopped.
 *
 * Scores: a token classifier's probabilities (`labels: 'classifier'`, the method), or the
 * documents' own domains (`labels: 'domain'`: every token of a forget-domain document is
 * flagged; an oracle at document level, useful as a reference and for tests).
 * @module
 */
import { join } from 'node:path';
import { UNLABELLED } from '../data/domains.js';
import { makeFolder } from '../data/output_path.js';
import { filterTokens } from '../filter/filter_tokens.js';
import { BINARY_SCORE_THRESHOLD } from '../stages/filter.js';
import { updateFits } from './baseline_fits.js';
import { documentClassifierPathFor, documentClassifierScores } from './document_scores.js';
import { runDelayedFiltering } from './delayed_filtering.js';
import type { ExperimentContext } from './experiment_context.js';
import { resolveOptions, type FilteringExperimentOptions } from './experiment_options.js';
import { openResults, writeExperimentResults, type FilteringExperimentResults } from './experiment_results.js';
import { experimentStreams } from './experiment_streams.js';
import { experimentTokenizer, forgetScores } from './forget_scores.js';
import { runLabelNoise } from './label_noise_runs.js';
import { runLadder } from './ladder.js';
import { runAttackStage } from './ladder_attacks.js';
import { runMcqStage } from './mcq_stage.js';
import { runParetoSweep } from './pareto_sweep.js';

// the experiment's public names, kept importable from this module
export { EXPERIMENT_DEFAULTS, type FilteringExperimentOptions } from './experiment_options.js';
export { readExperimentResults, writeExperimentResults, type ExperimentRun, type FilteringExperimentResults, type SlowdownRecord } from './experiment_results.js';
export { parseModelSize, sizeName, type ModelSize } from './model_size.js';
export { updateFits } from './baseline_fits.js';

/** Runs (or continues) the experiment; returns the results, also in `out/results.json`. */
export async function runFilteringExperiment(options: FilteringExperimentOptions): Promise<FilteringExperimentResults> {
  const o = resolveOptions(options);
  const log = options.onLog ?? (() => {});
  await makeFolder(o.out);
  const results = await openResults(o);
  const save = () => writeExperimentResults(o.out, results);
  const { tokenizer, classifier } = await experimentTokenizer(o, results);
  const threshold = o.threshold ?? classifier?.threshold ?? BINARY_SCORE_THRESHOLD;
  results.threshold = threshold;
  const streams = await experimentStreams(o, results, tokenizer, save, log);
  const scores = await forgetScores(o, classifier, streams.train.shard, streams.train.labels, log);
  const documentScores = classifier && o.documentScores === 'classifier'
    ? await documentClassifierScores({
      classifierPath: documentClassifierPathFor(o.classifier!), tokens: streams.train.tokens, eotId: tokenizer.eotId, tokenizerHash: tokenizer.hash,
      cachePath: join(o.out, 'scores', 'documents.json'), onLog: log, signal: o.signal,
    })
    : undefined;
  // every mode of the ladder flags the share the token classifier flags at the threshold
  const ladderFraction = filterTokens(streams.train.tokens, scores, { mode: 'mask', threshold, eotId: tokenizer.eotId }).stats.flaggedFraction;
  results.extra.ladder_fraction = ladderFraction;
  const eligible = Uint8Array.from(streams.train.labels, (l) => (l === UNLABELLED ? 0 : 1));
  const x: ExperimentContext = {
    o, results, save, log, tokenizer, threshold, train: { ...streams.train, scores }, val: streams.val, valMixed: streams.valMixed,
    documentScores, ladderFraction, eligible,
  };

  await runLadder(x);
  if (o.attack) await runAttackStage(x);
  if (o.sweepSize >= 0) await runSweepSizeStages(x);
  await runMcqStage(x);
  return results;
}

/** At the sweep size, seed by seed: the Pareto sweep, label noise at the ladder's flagged share, delayed filtering; then the fits. */
async function runSweepSizeStages(x: ExperimentContext): Promise<void> {
  for (const seed of x.o.seeds) {
    await runParetoSweep(x, seed);
    await runLabelNoise(x, seed);
    await runDelayedFiltering(x, seed);
  }
  updateFits(x.results);
  await x.save();
}
