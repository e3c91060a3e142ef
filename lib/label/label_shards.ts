/**
 * The labelling stage over token shards: labeller LM → residual activations at one layer →
 * exact codes of the selected SAE latents ({@link SparseAutoencoder.selectedCodes}) → {@link labelTokensWithEot} → a Labels side file per shard
 * (`<out>/<stem>.labels.side`, 1 = forget). Per-latent mean and std come from the caller or
 * from a first streaming pass over the same shards. When a shard has a gold label side file
 * beside it (`x.labels.side`, as `tokenfilter tokenize` and the demo write), the summary gives
 * the fraction of tokens labelled per gold domain.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { checkOutputPaths, makeFolder } from '../data/output_path.js';
import { basename, join } from 'node:path';
import { readShard } from '../data/shard.js';
import { findSideFile, readSideFile, sideFilePathFor, SideFileKind, writeSideFile } from '../data/side_file.js';
import type { RecordedContract, TokenizerContract } from '../data/tokenizer_contract.js';
import type { Transformer } from '../model/transformer.js';
import { existsSync } from 'node:fs';
import { readActivations, tokenActivations, type ActivationBlock } from './activations.js';
import { labelTokensWithEot, LABEL_DEFAULTS } from './label_tokens.js';
import { LatentMoments } from './latent_moments.js';
import type { SparseAutoencoder } from './sae.js';
import { CodedRangeError, TokenfilterError } from '../errors.js';

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
  /** Called after each activation block; `pass` is 'stats' or 'label'. */
  onProgress?: (p: LabelShardsProgress) => void;
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

/** What {@link labelShards} returns. */
export interface LabelShardsResult {
  mean: Float32Array;
  std: Float32Array;
  shards: ShardLabelRecord[];
  tokens: number;
  labelled: number;
  byGold?: Record<string, { tokens: number; labelled: number }>;
}

function contractOf(path: string): { tokens: Uint32Array; contract: TokenizerContract; recorded: RecordedContract } {
  const shard = readShard(path);
  const r = shard.header.tokenizer;
  if (r.vocabSize === 0) throw new TokenfilterError('E_FILE_FORMAT', `${path}: the shard records no tokenizer (the <|endoftext|> id is unknown); rewrite it with \`tokenfilter tokenize\``);
  const tokens = shard.tokens instanceof Uint32Array ? shard.tokens : Uint32Array.from(shard.tokens);
  return { tokens, recorded: r, contract: { vocabSize: r.vocabSize, eotId: r.eotId, hiddenId: r.hiddenId, hash: r.hashPrefix } };
}

/**
 * Refuses an output folder where a label file would replace an input: a shard, the gold labels
 * beside it (read after the new labels are written), or an activation file.
 */
async function checkLabelOutputs(shards: readonly string[], out: string, activations: string | undefined): Promise<void> {
  const written = new Set(shards.map((path) => basename(sideFilePathFor(join(out, basename(path)), SideFileKind.Labels))));
  const inputs = shards.flatMap((path) => {
    const stem = basename(path).replace(/\.bin$/, '');
    return [
      { path, role: 'input shard' },
      { path: sideFilePathFor(path, SideFileKind.Labels), role: 'gold labels' },
      ...(activations ? ['npy', 'safetensors'].map((ext) => ({ path: join(activations, `${stem}.${ext}`), role: 'activations' })) : []),
    ];
  });
  await checkOutputPaths([{ folder: out, role: 'out', writes: (name) => written.has(name) || name === 'latents.json' }], inputs);
}

/**
 * Labels every shard; see the module comment.
 * @throws RangeError for bad options; Error naming the file for a bad shard; AbortError when `signal` fires.
 */
export async function labelShards(options: LabelShardsOptions): Promise<LabelShardsResult> {
  const { shards, out, model, layer, sae, latents, onProgress, signal } = options;
  if ((model === undefined) === (options.activations === undefined)) throw new CodedRangeError('give either model (with layer) or activations');
  if (model && model.config.dModel !== sae.config.dModel)
    throw new CodedRangeError(`the SAE reads ${sae.config.dModel}-wide activations, the model's layer ${layer} is ${model.config.dModel} wide`);
  await checkLabelOutputs(shards, out, options.activations);
  const encoder = sae.encoderFor(latents);
  const codesOf = sae.codesReusing(encoder); // one buffer for both passes
  const S = encoder.latents.length;
  const blocks = async function* (path: string, tokens: Uint32Array): AsyncGenerator<ActivationBlock> {
    if (model) {
      yield* tokenActivations(model, tokens, { layer: layer ?? -1, context: options.context, batch: options.batch });
      return;
    }
    const stem = basename(path).replace(/\.bin$/, '');
    const npy = join(options.activations!, `${stem}.npy`);
    const file = existsSync(npy) ? npy : join(options.activations!, `${stem}.safetensors`);
    const data = await readActivations(file, tokens.length, sae.config.dModel);
    const rows = 8192;
    for (let start = 0; start < tokens.length; start += rows) {
      const count = Math.min(rows, tokens.length - start);
      yield { start, count, activations: data.subarray(start * sae.config.dModel, (start + count) * sae.config.dModel) };
    }
  };
  const abort = () => {
    throwIfAborted(signal, 'labelling');
  };
  let mean: Float32Array;
  let std: Float32Array;
  if (options.mean && options.std) {
    if (options.mean.length !== S || options.std.length !== S) throw new CodedRangeError(`mean and std must hold ${S} values (one per selected latent)`);
    mean = Float32Array.from(options.mean);
    std = Float32Array.from(options.std);
  } else {
    const moments = new LatentMoments(S);
    for (const [i, path] of shards.entries()) {
      const { tokens } = contractOf(path);
      for await (const block of blocks(path, tokens)) {
        abort();
        moments.update(await codesOf(block.activations));
        onProgress?.({ pass: 'stats', shard: i, shards: shards.length, tokens: block.start + block.count });
      }
    }
    mean = moments.meanF32();
    std = moments.std();
  }
  await makeFolder(out, 'out');
  const records: ShardLabelRecord[] = [];
  const total: Record<string, { tokens: number; labelled: number }> = {};
  let anyGold = false;
  for (const [i, path] of shards.entries()) {
    const { tokens, contract, recorded } = contractOf(path);
    const acts = new Float32Array(tokens.length * S);
    for await (const block of blocks(path, tokens)) {
      abort();
      acts.set(await codesOf(block.activations), block.start * S);
      onProgress?.({ pass: 'label', shard: i, shards: shards.length, tokens: block.start + block.count });
    }
    const labels = labelTokensWithEot(acts, tokens, contract.eotId, {
      tokens: tokens.length, latents: S, mean, std, z: options.z ?? LABEL_DEFAULTS.z, minLatents: options.minLatents ?? LABEL_DEFAULTS.minLatents,
    });
    const stem = basename(path).replace(/\.bin$/, '');
    const output = sideFilePathFor(join(out, `${stem}.bin`), SideFileKind.Labels);
    await writeSideFile(output, labels, { kind: SideFileKind.Labels, tokenizer: contract });
    let labelled = 0;
    for (const l of labels) labelled += l;
    const record: ShardLabelRecord = { shard: path, output, tokens: tokens.length, labelled };
    const goldPath = findSideFile(path, SideFileKind.Labels);
    if (goldPath) {
      anyGold = true;
      const gold = readSideFile(goldPath, { expectTokens: tokens.length, shard: { path, tokenizer: recorded } }).values as Uint8Array;
      record.byGold = {};
      for (let t = 0; t < gold.length; t++) {
        const key = String(gold[t]);
        const entry = (record.byGold[key] ??= { tokens: 0, labelled: 0 });
        entry.tokens++;
        entry.labelled += labels[t];
      }
      for (const [key, v] of Object.entries(record.byGold)) {
        const e = (total[key] ??= { tokens: 0, labelled: 0 });
        e.tokens += v.tokens;
        e.labelled += v.labelled;
      }
    }
    records.push(record);
  }
  return {
    mean,
    std,
    shards: records,
    tokens: records.reduce((a, r) => a + r.tokens, 0),
    labelled: records.reduce((a, r) => a + r.labelled, 0),
    ...(anyGold ? { byGold: total } : {}),
  };
}
