/**
 * Training checkpoints: one safetensors file holding the parameters (same names as a model
 * file), the AdamW moments (`optimizer.exp_avg.{name}`, `optimizer.exp_avg_sq.{name}`) and, in
 * `__metadata__`, the config, the optimizer step, the data position (`batches_consumed`: how
 * many batches of the training iterable were used) and the trainer's running totals. Training
 * draws no random numbers after initialisation (no dropout, no sampling), so there is no RNG
 * state to store. Written atomically: the previous checkpoint stays intact until the new one
 * is complete.
 * @module
 */
import { readSafetensors, SafetensorsError, writeSafetensors, type SafetensorsContents } from './safetensors.js';
import { checkTransformerTensors } from './expected_tensors.js';
import { configFromMetadata, MODEL_FORMAT_VERSION, parametersFromFile, Transformer } from './transformer.js';
import type { TransformerConfig } from './config.js';
import { TokenfilterError } from '../errors.js';
import { checkSameContract, type RecordedContract } from '../data/tokenizer_contract.js';
import { contractFromMetadata } from './model_contract.js';

/** Format identifier in `__metadata__.format` of checkpoints. */
export const CHECKPOINT_FORMAT = 'tokenfilter.checkpoint';

/** Where training stands: enough to continue exactly. */
export interface TrainingState {
  /** Optimizer steps taken. */
  step: number;
  /** Batches taken from the training iterable (micro-batches, counting accumulation). */
  batchesConsumed: number;
  /** Tokens processed (B × T summed over batches). */
  tokens: number;
  /** Unmasked targets processed. */
  supervisedTokens: number;
  /** Training FLOPs so far (see Transformer.flopsPerToken). */
  flops: number;
  /** Mean loss of every step so far. */
  lossHistory: number[];
  /** Wall-clock seconds spent training so far, over every resumed segment (0 from checkpoints written before it was recorded). */
  seconds: number;
}

/**
 * Writes a checkpoint of `model` (parameters and AdamW state) and `state` to `path`, atomically.
 * `metadata` strings are added (the tokenizer record of lib/model/model_tokenizer.ts, say); the
 * checkpoint's own keys win.
 */
export async function saveCheckpoint(path: string, model: Transformer, state: TrainingState, metadata: Record<string, string> = {}): Promise<void> {
  const { m, v, step } = model.optimizerState();
  if (step !== state.step) throw new TokenfilterError('E_STATE', `checkpoint: optimizer step ${step} disagrees with training state step ${state.step}`);
  const tensors = [
    ...model.namedTensors(model.getParameters(), ''),
    ...model.namedTensors(m, 'optimizer.exp_avg.'),
    ...model.namedTensors(v, 'optimizer.exp_avg_sq.'),
  ];
  await writeSafetensors(path, tensors, {
    ...metadata,
    ...model.fileMetadata(),
    format: CHECKPOINT_FORMAT,
    format_version: MODEL_FORMAT_VERSION,
    step: String(state.step),
    batches_consumed: String(state.batchesConsumed),
    trainer: JSON.stringify({
      tokens: state.tokens,
      supervisedTokens: state.supervisedTokens,
      flops: state.flops,
      lossHistory: state.lossHistory,
      seconds: state.seconds,
    }),
  });
}

function nonNegativeInteger(value: string | undefined, name: string, source: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isSafeInteger(n) || n < 0)
    throw new SafetensorsError(`${source}: metadata '${name}' must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/** AdamW's second moments are running means of squares: a negative one means a corrupt file. */
function checkSecondMoments(model: Transformer, v: Float32Array, path: string): void {
  for (const t of model.tensorInfo())
    for (let i = t.offset; i < t.offset + t.size; i++)
      if (v[i] < 0)
        throw new SafetensorsError(`${path}: tensor 'optimizer.exp_avg_sq.${t.name}' has a negative value at index ${i - t.offset} (second moments are never negative)`);
}

function sameArchitecture(a: TransformerConfig, b: TransformerConfig): boolean {
  const keys: (keyof TransformerConfig)[] = ['vocabSize', 'dModel', 'layers', 'heads', 'context', 'hidden', 'tieEmbeddings', 'ropeBase', 'normEps'];
  return keys.every((k) => a[k] === b[k]);
}

/**
 * Restores a checkpoint into `model` (parameters and AdamW state) and returns the training
 * state. The architecture must match (the seed may differ: it only chose the initial values).
 * @throws SafetensorsError (E_FILE_FORMAT) for a malformed file, a different architecture, or any
 *   bad tensor (a negative second moment included) or metadata field; `model` is unchanged when
 *   it throws.
 */
export async function restoreCheckpoint(path: string, model: Transformer, options: RestoreOptions = {}): Promise<TrainingState> {
  return restoreFromContents(await readSafetensors(path), path, model, options);
}

/** Options of {@link restoreCheckpoint}. */
export interface RestoreOptions {
  /**
   * The tokenizer the training data was written with: a checkpoint recording another one is
   * refused (TokenfilterError E_TOKENIZER_MISMATCH); one recording none is accepted.
   */
  expectTokenizer?: { contract: RecordedContract; source: string };
}

function restoreFromContents(file: SafetensorsContents, path: string, model: Transformer, options: RestoreOptions = {}): TrainingState {
  if (file.metadata.format !== CHECKPOINT_FORMAT)
    throw new SafetensorsError(`${path}: not a training checkpoint (metadata format = ${JSON.stringify(file.metadata.format)})`);
  const recorded = contractFromMetadata(file.metadata);
  if (recorded && options.expectTokenizer) checkSameContract(recorded, path, options.expectTokenizer.contract, options.expectTokenizer.source);
  const config = configFromMetadata(file, path);
  if (!sameArchitecture(config, model.config))
    throw new SafetensorsError(`${path}: checkpoint config ${JSON.stringify(config)} does not match the model's ${JSON.stringify(model.config)}`);
  const params = parametersFromFile(model, file, path, '');
  const m = parametersFromFile(model, file, path, 'optimizer.exp_avg.');
  const v = parametersFromFile(model, file, path, 'optimizer.exp_avg_sq.');
  checkSecondMoments(model, v, path);
  const step = nonNegativeInteger(file.metadata.step, 'step', path);
  const batchesConsumed = nonNegativeInteger(file.metadata.batches_consumed, 'batches_consumed', path);
  let trainer: Record<string, unknown>;
  try {
    trainer = JSON.parse(file.metadata.trainer ?? '');
  } catch {
    throw new SafetensorsError(`${path}: metadata 'trainer' is not valid JSON`);
  }
  const { tokens, supervisedTokens, flops, lossHistory, seconds = 0 } = trainer as Record<string, unknown>;
  const numbers = [tokens, supervisedTokens, flops, seconds];
  if (!numbers.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) || !Array.isArray(lossHistory) ||
      lossHistory.length !== step || !lossHistory.every((x) => typeof x === 'number'))
    throw new SafetensorsError(`${path}: metadata 'trainer' is malformed`);
  model.setOptimizerState({ m, v, step });
  model.setParameters(params);
  return {
    step,
    batchesConsumed,
    tokens: tokens as number,
    supervisedTokens: supervisedTokens as number,
    flops: flops as number,
    lossHistory: lossHistory as number[],
    seconds: seconds as number,
  };
}

/**
 * Loads a checkpoint as a new model plus its training state (throws as {@link restoreCheckpoint},
 * and TokenfilterError E_TOO_LARGE for a config beyond MAX_LOAD_PARAMETERS); the tensors are
 * checked against the config before the model is allocated.
 */
export async function loadCheckpoint(path: string): Promise<{ model: Transformer; state: TrainingState }> {
  const file = await readSafetensors(path);
  const config = configFromMetadata(file, path);
  for (const prefix of ['', 'optimizer.exp_avg.', 'optimizer.exp_avg_sq.']) checkTransformerTensors(file, config, path, prefix);
  const model = Transformer.uninitialized(config);
  const state = restoreFromContents(file, path, model);
  return { model, state };
}
