/**
 * The labelling stage over token shards: labeller LM → residual activations at one layer →
 * exact codes of the selected SAE latents ({@link SparseAutoencoder.selectedCodes}) → {@link labelTokensWithEot} → a Labels side file per shard
 * (`<out>/<stem>.labels.side`, 1 = forget). Per-latent mean and std come from the caller or
 * from a first streaming pass over all the shards (every task makes the same pass, so split
 * tasks label alike). When a shard has a gold label side file beside it (`x.labels.side`, as
 * `tokenfilter tokenize` and the demo write), the summary gives the fraction of tokens labelled
 * per gold domain.
 *
 * Runs through the shard runner (lib/stages/shard_runner.ts): task I of N labels every N-th
 * shard, each finished shard gets `<stem>.label.json` (SHA-256 of the shard, its gold labels,
 * its activation file and `sources`; the settings including mean and std; the output's SHA-256),
 * a task's summary goes to `manifest.label.task-I-of-N.json`, and a rerun redoes only the shards
 * whose record does not verify. Without `sources` a rerun redoes every shard: the runner cannot
 * tell a changed model or SAE from the objects alone.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { join } from 'node:path';
import { TokenfilterError, CodedRangeError } from '../errors.js';
import { runShards, shardStem, type ShardEvent, type ShardTask, type TaskShard, type ShardStage } from '../stages/shard_runner.js';
import { readShard } from '../data/shard.js';
import { findSideFile, readSideFile, sideFilePathFor, SideFileKind, writeSideFile } from '../data/side_file.js';
import type { RecordedContract, TokenizerContract } from '../data/tokenizer_contract.js';
import type { Transformer } from '../model/transformer.js';
import { existsSync } from 'node:fs';
import { readActivations, tokenActivations, type ActivationBlock } from './activations.js';
import { labelTokensWithEot, LABEL_DEFAULTS } from './label_tokens.js';
import { LatentMoments } from './latent_moments.js';
import type { SparseAutoencoder } from './sae.js';

/** Options of {@link labelShards}. */
export interface LabelShardsOptions {
  shards: readonly string[];
  /** Output folder for the label side files (created). */
  out: string;
  /**
   * The labeller LM and the layer whose residual stream the SAE reads; or, instead of a model,
   * `activations`: a folder holding `<stem>.npy` or `<stem>.safetensors` per shard with
   * activations computed elsewhere ([tokens, dModel], see {@link readActivations}).
   */
  model?: Transformer;
  layer?: number;
  activations?: string;
  sae: SparseAutoencoder;
  /** Selected latent ids. */
  latents: readonly number[];
  /** Per-latent mean and std over the corpus; computed from `shards` when omitted. */
  mean?: ArrayLike<number>;
  std?: ArrayLike<number>;
  /** Rule parameters (defaults 4 and 2). */
  z?: number;
  minLatents?: number;
  /** Window length and windows per forward pass (defaults: the model's context, 8). */
  context?: number;
  batch?: number;
  /** This task's index and the number of tasks (default 0 of 1). */
  task?: ShardTask;
  /**
   * The files the model and SAE were loaded from (the CLI gives `--model` and `--sae`): hashed
   * into every shard's record, so a changed file redoes the shard. Without them nothing is skipped.
   */
  sources?: readonly string[];
  /** Called after each activation block; `pass` is 'stats' or 'label'. */
  onProgress?: (p: LabelShardsProgress) => void;
  /** Called after each shard of this task, labelled now or found done. */
  onShard?: (event: ShardEvent<ShardLabelRecord, LabelSettings>) => void;
  signal?: AbortSignal;
}

/** Progress of {@link labelShards}. */
export interface LabelShardsProgress {
  pass: 'stats' | 'label';
  shard: number;
  shards: number;
  tokens: number;
}

/** Per-shard outcome. */
export interface ShardLabelRecord {
  shard: string;
  output: string;
  tokens: number;
  labelled: number;
  /** By gold label value (when a gold label side file exists): tokens and tokens labelled. */
  byGold?: Record<string, { tokens: number; labelled: number }>;
}

/** What {@link labelShards} returns (for this task's shards). */
export interface LabelShardsResult {
  task: ShardTask;
  mean: Float32Array;
  std: Float32Array;
  /** Every shard of this task, labelled now or before. */
  shards: ShardLabelRecord[];
  /** The shards found done (their records verified) and not labelled again. */
  skipped: string[];
  /** This task's manifest. */
  manifest: string;
  tokens: number;
  labelled: number;
  byGold?: Record<string, { tokens: number; labelled: number }>;
}

function contractOf(path: string): { tokens: Uint32Array; contract: TokenizerContract; recorded: RecordedContract } {
  const shard = readShard(path);
  const r = shard.header.tokenizer;
  if (r.vocabSize === 0) throw new TokenfilterError('E_TOKENIZER_MISMATCH', `${path}: the shard records no tokenizer (the <|endoftext|> id is unknown); rewrite it with \`tokenfilter tokenize\``, { path });
  const tokens = shard.tokens instanceof Uint32Array ? shard.tokens : Uint32Array.from(shard.tokens);
  return { tokens, recorded: r, contract: { vocabSize: r.vocabSize, eotId: r.eotId, hiddenId: r.hiddenId, hash: r.hashPrefix } };
}

/** What one shard's labelling needs besides the shard: activation blocks, the rule's numbers. */
interface Labeller {
  blocks: (path: string, tokens: Uint32Array) => AsyncGenerator<ActivationBlock>;
  codesOf: (activations: Float32Array) => Promise<Float32Array>;
  latents: number;
}

function labellerFor(options: LabelShardsOptions): Labeller {
  const { model, layer, sae } = options;
  const encoder = sae.encoderFor(options.latents);
  const blocks = async function* (path: string, tokens: Uint32Array): AsyncGenerator<ActivationBlock> {
    if (model) {
      yield* tokenActivations(model, tokens, { layer: layer ?? -1, context: options.context, batch: options.batch });
      return;
    }
    const data = await readActivations(activationFileOf(path, options.activations!), tokens.length, sae.config.dModel);
    const rows = 8192;
    for (let start = 0; start < tokens.length; start += rows) {
      const count = Math.min(rows, tokens.length - start);
      yield { start, count, activations: data.subarray(start * sae.config.dModel, (start + count) * sae.config.dModel) };
    }
  };
  // one buffer for both passes
  return { blocks, codesOf: sae.codesReusing(encoder), latents: encoder.latents.length };
}

/** The activation file of a shard in folder `dir`: `<stem>.npy`, else `<stem>.safetensors`. */
function activationFileOf(shard: string, dir: string): string {
  const npy = join(dir, `${shardStem(shard)}.npy`);
  return existsSync(npy) ? npy : join(dir, `${shardStem(shard)}.safetensors`);
}

/** Per-latent mean and std: given, or from a streaming pass over every shard (in sorted order). */
async function corpusMoments(shards: readonly string[], labeller: Labeller, options: LabelShardsOptions): Promise<{ mean: Float32Array; std: Float32Array }> {
  const S = labeller.latents;
  if (options.mean && options.std) {
    if (options.mean.length !== S || options.std.length !== S) throw new CodedRangeError(`mean and std must hold ${S} values (one per selected latent)`);
    return { mean: Float32Array.from(options.mean), std: Float32Array.from(options.std) };
  }
  const moments = new LatentMoments(S);
  for (const [i, path] of shards.entries()) {
    const { tokens } = contractOf(path);
    for await (const block of labeller.blocks(path, tokens)) {
      throwIfAborted(options.signal, 'labelling');
      moments.update(await labeller.codesOf(block.activations));
      options.onProgress?.({ pass: 'stats', shard: i, shards: shards.length, tokens: block.start + block.count });
    }
  }
  return { mean: moments.meanF32(), std: moments.std() };
}

/** Counts, per gold label value, the tokens and the tokens labelled. */
function goldCounts(gold: Uint8Array, labels: Uint8Array): Record<string, { tokens: number; labelled: number }> {
  const byGold: Record<string, { tokens: number; labelled: number }> = {};
  for (let t = 0; t < gold.length; t++) {
    const entry = (byGold[String(gold[t])] ??= { tokens: 0, labelled: 0 });
    entry.tokens++;
    entry.labelled += labels[t];
  }
  return byGold;
}

/** Sums per-gold counts over shards; undefined when no shard had gold labels. */
function sumGold(records: readonly ShardLabelRecord[]): Record<string, { tokens: number; labelled: number }> | undefined {
  let total: Record<string, { tokens: number; labelled: number }> | undefined;
  for (const r of records) {
    for (const [key, v] of Object.entries(r.byGold ?? {})) {
      const e = ((total ??= {})[key] ??= { tokens: 0, labelled: 0 });
      e.tokens += v.tokens;
      e.labelled += v.labelled;
    }
  }
  return total;
}

/** The settings recorded with every labelled shard: a change of any redoes the shard. */
export interface LabelSettings {
  layer: number | null;
  context: number | null;
  latents: number[];
  z: number;
  minLatents: number;
  mean: number[];
  std: number[];
}

/** Labels one shard: codes of the selected latents, the rule, a label side file, gold counts. */
async function labelOneShard(shard: TaskShard, labeller: Labeller, settings: LabelSettings, options: LabelShardsOptions): Promise<ShardLabelRecord> {
  const { path } = shard;
  const S = labeller.latents;
  const { tokens, contract, recorded } = contractOf(path);
  const acts = new Float32Array(tokens.length * S);
  for await (const block of labeller.blocks(path, tokens)) {
    throwIfAborted(options.signal, 'labelling');
    acts.set(await labeller.codesOf(block.activations), block.start * S);
    options.onProgress?.({ pass: 'label', shard: shard.index, shards: shard.total, tokens: block.start + block.count });
  }
  const labels = labelTokensWithEot(acts, tokens, contract.eotId, {
    tokens: tokens.length, latents: S, mean: Float32Array.from(settings.mean), std: Float32Array.from(settings.std), z: settings.z, minLatents: settings.minLatents,
  });
  const output = labelOutputOf(path, options.out);
  await writeSideFile(output, labels, { kind: SideFileKind.Labels, tokenizer: contract });
  let labelled = 0;
  for (const l of labels) labelled += l;
  const record: ShardLabelRecord = { shard: path, output, tokens: tokens.length, labelled };
  const goldPath = findSideFile(path, SideFileKind.Labels);
  if (goldPath) record.byGold = goldCounts(readSideFile(goldPath, { expectTokens: tokens.length, shard: { path, tokenizer: recorded } }).values as Uint8Array, labels);
  return record;
}

/** The label side file written for `shard`. */
function labelOutputOf(shard: string, out: string): string {
  return sideFilePathFor(join(out, `${shardStem(shard)}.bin`), SideFileKind.Labels);
}

/** The labelling stage as the shard runner runs it; `prepare` finds the corpus statistics. */
function labelStage(options: LabelShardsOptions): ShardStage<ShardLabelRecord, LabelSettings> {
  const labeller = labellerFor(options);
  let settings: LabelSettings;
  return {
    name: 'label',
    outputs: (shard) => [labelOutputOf(shard, options.out)],
    inputs: (shard) => {
      const gold = findSideFile(shard, SideFileKind.Labels);
      return [...(options.sources ?? []), ...(options.activations ? [activationFileOf(shard, options.activations)] : []), ...(gold ? [gold] : [])];
    },
    guards: (shards) =>
      shards.flatMap((path) => [
        { path: sideFilePathFor(path, SideFileKind.Labels), role: 'gold labels' },
        ...(options.activations ? ['npy', 'safetensors'].map((ext) => ({ path: join(options.activations!, `${shardStem(path)}.${ext}`), role: 'activations' })) : []),
      ]),
    async prepare(shards) {
      const { mean, std } = await corpusMoments(shards, labeller, options);
      settings = {
        layer: options.layer ?? null, context: options.context ?? null, latents: [...options.latents],
        z: options.z ?? LABEL_DEFAULTS.z, minLatents: options.minLatents ?? LABEL_DEFAULTS.minLatents, mean: [...mean], std: [...std],
      };
      return settings;
    },
    run: (shard) => labelOneShard(shard, labeller, settings, options),
    // without the files the model and SAE came from, a changed model could not be told: redo
    trusts: (record) => options.sources !== undefined && typeof record.tokens === 'number' && typeof record.labelled === 'number',
    manifest: (records) => labelTotals(records),
  };
}

function labelTotals(records: readonly ShardLabelRecord[]): Pick<LabelShardsResult, 'tokens' | 'labelled' | 'byGold'> {
  const byGold = sumGold(records);
  return { tokens: records.reduce((a, r) => a + r.tokens, 0), labelled: records.reduce((a, r) => a + r.labelled, 0), ...(byGold ? { byGold } : {}) };
}

/**
 * Labels this task's shards; see the module comment.
 * @throws RangeError for bad options; TokenfilterError naming the file for a bad shard; AbortError when `signal` fires.
 */
export async function labelShards(options: LabelShardsOptions): Promise<LabelShardsResult> {
  const { model, layer, sae } = options;
  if ((model === undefined) === (options.activations === undefined)) throw new CodedRangeError('give either model (with layer) or activations');
  if (model && model.config.dModel !== sae.config.dModel)
    throw new CodedRangeError(`the SAE reads ${sae.config.dModel}-wide activations, the model's layer ${layer} is ${model.config.dModel} wide`);
  const run = await runShards(labelStage(options), {
    shards: options.shards, out: options.out, task: options.task, signal: options.signal, onShard: options.onShard,
  });
  return {
    task: run.task, mean: Float32Array.from(run.settings.mean), std: Float32Array.from(run.settings.std),
    shards: run.records, skipped: run.skipped, ...labelTotals(run.records), manifest: run.manifest,
  };
}
