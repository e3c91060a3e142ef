/**
 * One model of the experiment: filter the training stream (lib/stages/filtered_run.ts), train it
 * for the baseline's steps or until it has learned from the baseline's supervised tokens (with
 * delayed filtering, on the unfiltered stream first), evaluate it, and record it; done runs are
 * skipped.
 * @module
 */
import { join } from 'node:path';
import type { Batch } from '../data/batch.js';
import { DOMAINS, FORGET_LABEL } from '../data/domains.js';
import { flagErrorRate, flipFlagsAtFraction } from '../eval/label_noise.js';
import { stripUndefined } from '../options.js';
import { BINARY_SCORE_THRESHOLD } from '../stages/filter.js';
import { runFilteredModel } from '../stages/filtered_run.js';
import { openStream, type TrainingStream } from '../stages/train.js';
import type { ExperimentContext, RunSpec } from './experiment_context.js';
import type { ExperimentRun } from './experiment_results.js';
import { trainTokensFor, type ModelSize } from './model_size.js';
import { delayedBatches, stepsForSupervisedTokens } from './training_schedule.js';

/** Trains one model (filter → train → evaluate → save, lib/stages/filtered_run.ts) unless it is done; records it. */
export async function trainRun(x: ExperimentContext, spec: RunSpec): Promise<ExperimentRun> {
  const { o, results } = x;
  const { id, mode, size, seed, filter } = spec;
  if (results.runs[id]) return results.runs[id];
  const started = performance.now();
  const noisy = filter?.noise !== undefined ? flipFlagsAtFraction(x.train.scores as Float32Array, filter.threshold ?? x.threshold, filter.noise, seed, x.eligible) : null;
  const switchAt = Math.round((filter?.delay ?? 0) * baselineSteps(x, size));
  const modelDir = join(o.out, 'models');
  const r = await runFilteredModel({
    mode, rule: noisy ? { threshold: BINARY_SCORE_THRESHOLD } : stripUndefined({ threshold: filter?.threshold, fraction: filter?.fraction }), scores: noisy ?? undefined,
    filterOptions: mode === 'document' && !noisy && x.documentScores ? { documentScores: x.documentScores } : undefined,
    stream: x.train, tokenizer: x.tokenizer, filteredShard: join(o.out, 'filtered', id, 'train.bin'), keepFiltered: false,
    trainStream: (shard) => runStream(x, shard, switchAt),
    steps: (_flagged, shard) => runSteps(x, spec, runStream(x, shard, switchAt)),
    train: {
      name: `${id}:`, model: size, context: o.context, batch: o.batch, lr: o.lr, seed,
      checkpoint: join(modelDir, `${id}.checkpoint.safetensors`), checkpointEvery: o.checkpointEvery,
      save: { path: join(modelDir, `${id}.safetensors`), metadata: { experiment_run: id } }, logEvery: 100, onLog: x.log, signal: o.signal,
    },
    evaluate: [
      { heldOut: x.val, labelNames: DOMAINS, seed },
      ...(x.valMixed ? [{ heldOut: x.valMixed, labelNames: ['mixed_retain', 'mixed_medical'], seed }] : []),
    ],
  });
  const stats = r.filtered?.stats ?? null;
  const errorRate = r.filtered && mode !== 'document' ? flagErrorRate(Float32Array.from(r.filtered.lossMask, (m) => 1 - m), x.train.labels, FORGET_LABEL) : null;
  const { summary } = r;
  const run: ExperimentRun = {
    id, series: spec.series, mode, size, seed, params: r.params.total, nonEmbeddingParams: r.params.nonEmbedding, filter, match: o.match, flagErrorRate: errorRate,
    flaggedFraction: stats ? stats.flaggedFraction : 0,
    filterStats: stats, steps: summary.steps, trainTokens: summary.tokens, trainSupervisedTokens: summary.supervisedTokens,
    trainFlops: summary.flops, finalTrainLoss: summary.finalLoss, loss: r.loss, ci95: r.ci95,
    // a resumed run counts the training time of its earlier segments too (from the checkpoint)
    seconds: (performance.now() - started) / 1000 + summary.totalSeconds - summary.elapsedMs / 1000,
    trainSeconds: summary.totalSeconds, modelPath: join(modelDir, `${id}.safetensors`),
  };
  results.runs[id] = run;
  await x.save();
  x.log(`${id}: ${Object.entries(run.loss).map(([d, l]) => `${d} ${l.toFixed(4)}`).join(', ')} (${run.steps} steps, ${run.seconds.toFixed(0)} s)`);
  return run;
}

/**
 * The training stream of a run on `shard`: the shard alone, or (delayed filtering) the unfiltered
 * stream for the first `switchAt` batches and then the shard.
 */
function runStream(x: ExperimentContext, shard: string, switchAt: number): TrainingStream {
  if (switchAt === 0 || shard === x.train.shard) return { shards: [shard] };
  return {
    open: (settings) => {
      const before = openStream({ shards: [x.train.shard] }, settings);
      const after = openStream({ shards: [shard] }, settings);
      return { batches: delayedBatches(before.batches as Iterable<Batch>, after.batches as Iterable<Batch>, switchAt), close: () => { before.close(); after.close(); } };
    },
  };
}

/** The baseline's steps at a size: tokensPerParameter × parameters, in batches. */
function baselineSteps(x: ExperimentContext, size: ModelSize): number {
  return Math.max(1, Math.ceil(trainTokensFor(size, x.o, x.tokenizer.vocabSize) / (x.o.batch * x.o.context)));
}

/**
 * Steps of a run: the baseline's, or with `match: 'supervised'` for a filtered run, the fewest
 * steps of its own batches that hold the baseline's supervised tokens (within one batch).
 */
function runSteps(x: ExperimentContext, spec: RunSpec, stream: TrainingStream): number {
  const { o } = x;
  const baseSteps = baselineSteps(x, spec.size);
  if (spec.mode === 'baseline' || o.match === 'steps') return baseSteps;
  const scan = openStream(stream, { batch: o.batch, context: o.context, seed: spec.seed, expectTokenizer: x.tokenizer });
  try {
    return stepsForSupervisedTokens(scan.batches as Iterable<Batch>, baseSteps * o.batch * o.context, baseSteps * 100);
  } finally {
    scan.close();
  }
}
