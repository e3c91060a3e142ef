/**
 * Stage **train**: create a Transformer, draw batches from a training stream, `trainMasked`,
 * save the model. One job per model; every composition that trains a language model (the
 * demo's four runs and its labeller LM, the filtering experiment's ladder, the mixture study)
 * goes through {@link runTrain}.
 *
 * The training stream is a plain value ({@link TrainingStream}): shards, or weighted sources, and
 * how their loss-mask side files are read. A composition that builds another stream (a mix of
 * documents, another share of a domain) passes it here and nothing else changes.
 * @module
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolder } from '../data/output_path.js';
import type { Batch } from '../data/batch.js';
import { BatchSampler, type SamplerSource } from '../data/sampler.js';
import type { LossMaskMode } from '../data/shard_windows.js';
import type { TokenizerContract } from '../data/tokenizer_contract.js';
import { TokenfilterError } from '../errors.js';
import { TRAIN_DEFAULTS, trainMasked, type TrainSummary } from '../model/train.js';
import { Transformer } from '../model/transformer.js';
import { withDefaults } from './option_keys.js';
import { Tokenizer } from '../data/tokenizer.js';
import { tokenizerHashPrefix } from '../data/tokenizer_contract.js';
import { tokenizerMetadata } from '../model/model_tokenizer.js';

/** The batch settings of a training run, handed to a stream that makes its own batches. */
export interface BatchSettings {
  batch: number;
  context: number;
  seed: number;
  expectTokenizer: TokenizerContract;
}

/** Batches a stream opened for one run, and how to release what they read. */
export interface OpenedBatches {
  batches: Iterable<Batch> | AsyncIterable<Batch>;
  close: () => void;
}

/**
 * What a model trains on: one source of shards, or weighted sources (`lossMask` as
 * {@link BatchSampler}), or `open`, which makes the batches itself from the run's settings (e.g. a
 * schedule that switches streams part-way).
 */
export type TrainingStream =
  | { shards: readonly string[]; sources?: undefined; open?: undefined; lossMask?: LossMaskMode }
  | { sources: readonly SamplerSource[]; shards?: undefined; open?: undefined; lossMask?: LossMaskMode }
  | { open: (settings: BatchSettings) => OpenedBatches; shards?: undefined; sources?: undefined };

/** Opens a stream's batches with a run's settings. */
export function openStream(stream: TrainingStream, settings: BatchSettings): OpenedBatches {
  if (stream.open) return stream.open(settings);
  const sampler = new BatchSampler({ ...stream, ...settings });
  return { batches: sampler, close: () => sampler.close() };
}

/** A model's shape (the vocabulary comes from the tokenizer, the context from the options). */
export interface ModelShape {
  layers: number;
  dModel: number;
  heads: number;
}

/** Options of {@link runTrain}; defaults in {@link TRAIN_STAGE_DEFAULTS}. */
export interface TrainStageOptions {
  /** Name of the run in progress lines. */
  name: string;
  stream: TrainingStream;
  /** The tokenizer of the stream (vocabulary size and the contract every shard must match). */
  tokenizer: TokenizerContract;
  /** Optimizer steps. */
  steps: number;
  model?: ModelShape;
  /** Context length T, sequences per step B, peak learning rate. */
  context?: number;
  batch?: number;
  lr?: number;
  /** Seed of the initialisation and of the batch order. */
  seed?: number;
  /** Checkpoint file: resumed from when it exists, written every `checkpointEvery` steps, removed once the model is saved. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Where the trained model is saved (safetensors), with string metadata. */
  save?: { path: string; metadata?: Record<string, string> };
  /** A progress line every this many steps (and at the last). */
  logEvery?: number;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Defaults of {@link TrainStageOptions}: the only place the train stage's numbers are written
 * (`tokenfilter train` reads its help from here; the peak learning rate is `trainMasked`'s).
 * The demo, the experiment and the mixture study state their own values in their configurations.
 */
export const TRAIN_STAGE_DEFAULTS = Object.freeze({
  model: Object.freeze({ layers: 4, dModel: 256, heads: 4 }) as ModelShape,
  context: 256,
  batch: 8,
  lr: TRAIN_DEFAULTS.lr,
  seed: 0,
  checkpointEvery: 100,
  logEvery: 100,
});

/** {@link TrainStageOptions} with every default applied. */
export type ResolvedTrainOptions = TrainStageOptions & typeof TRAIN_STAGE_DEFAULTS;

const REQUIRED = ['name', 'stream', 'tokenizer', 'steps'] as const;

/**
 * Applies defaults and checks the options once.
 * @throws TokenfilterError E_OPTION for an unknown key (naming the nearest valid one), a missing
 *   stream, tokenizer or step count, or a count that is not a positive integer.
 */
export function resolveTrain(options: TrainStageOptions): ResolvedTrainOptions {
  const o = withDefaults('train', TRAIN_STAGE_DEFAULTS, options, [...REQUIRED, 'checkpoint', 'save', 'onLog', 'signal']);
  for (const key of REQUIRED) if (o[key] === undefined) throw new TokenfilterError('E_OPTION', `stage train needs '${key}'`);
  if ([o.stream.shards, o.stream.sources, o.stream.open].filter((x) => x !== undefined).length !== 1)
    throw new TokenfilterError('E_OPTION', 'the training stream needs exactly one of shards, sources and open');
  for (const [key, value] of Object.entries({ context: o.context, batch: o.batch, steps: o.steps, checkpointEvery: o.checkpointEvery, logEvery: o.logEvery }))
    if (!Number.isInteger(value) || value < 1) throw new TokenfilterError('E_OPTION', `stage train: ${key} must be a positive integer, got ${value}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new TokenfilterError('E_OPTION', `stage train: seed must be a non-negative integer, got ${o.seed}`);
  if (!(o.lr >= 0 && Number.isFinite(o.lr))) throw new TokenfilterError('E_OPTION', `stage train: lr must be a finite number >= 0, got ${o.lr}`);
  return o;
}

/** What {@link runTrain} returns. */
export interface TrainStageResult {
  model: Transformer;
  summary: TrainSummary;
  /** Parameter counts of the model. */
  params: { total: number; nonEmbedding: number };
}

/** Trains one model on the stream (resuming from its checkpoint when there is one) and saves it. */
export async function runTrain(options: TrainStageOptions): Promise<TrainStageResult> {
  const o = resolveTrain(options);
  const log = o.onLog ?? (() => {});
  const model = await Transformer.create({ vocabSize: o.tokenizer.vocabSize, ...o.model, context: o.context, seed: o.seed });
  const counts = model.parameterCount();
  if (o.checkpoint) await makeFolder(dirname(o.checkpoint));
  const source = openStream(o.stream, { batch: o.batch, context: o.context, seed: o.seed, expectTokenizer: o.tokenizer });
  // checkpoints and the saved model record the tokenizer (its JSON too when it is a Tokenizer)
  const recorded = o.tokenizer instanceof Tokenizer ? o.tokenizer
    : { vocabSize: o.tokenizer.vocabSize, eotId: o.tokenizer.eotId, hiddenId: o.tokenizer.hiddenId, hashPrefix: tokenizerHashPrefix(o.tokenizer.hash) };
  let summary: TrainSummary;
  try {
    summary = await trainMasked(model, source.batches, {
      steps: o.steps, lr: o.lr, signal: o.signal, tokenizer: recorded,
      ...(o.checkpoint ? { checkpointPath: o.checkpoint, checkpointEvery: o.checkpointEvery, resumeFrom: existsSync(o.checkpoint) ? o.checkpoint : undefined } : {}),
      onProgress: (p) => {
        if (p.step % o.logEvery === 0 || p.step === o.steps) log(`  ${o.name} step ${p.step}/${o.steps} loss ${p.loss.toFixed(3)} (${Math.round(p.tokensPerSecond)} tokens/s)`);
      },
    });
  } finally {
    source.close();
  }
  if (o.save) {
    await makeFolder(dirname(o.save.path));
    await model.save(o.save.path, { ...o.save.metadata, ...tokenizerMetadata(recorded) });
    if (o.checkpoint) await rm(o.checkpoint, { force: true });
  }
  return { model, summary, params: { total: counts.total, nonEmbedding: counts.nonEmbedding } };
}
