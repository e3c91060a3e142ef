/**
 * `tokenfilter label SHARDS... (--model LM --layer L | --activations DIR) --sae SAE (--latents IDS | --select K) --out DIR`:
 * weak token labels from SAE latents, on a labeller LM run here or on activations computed
 * elsewhere (a big model's residual stream saved as .npy / safetensors, one file per shard). Writes `<out>/<stem>.labels.side` per shard (1 = forget)
 * and prints a summary, with the fraction of tokens labelled per gold domain when the shards
 * have gold label side files beside them. `--select K` picks the K latents that fire most
 * specifically on gold label 1 of those side files and prints their top contexts for audit.
 * `--shard I/N` labels every N-th shard (a job array's task; each task still reads every shard
 * for the corpus statistics and `--select`), and a rerun skips the shards whose records verify.
 * @module
 */
import type { Command } from 'commander';
import { errorCode, TokenfilterError } from '../errors.js';
import { checkModelAgainstShard } from '../model/model_contract.js';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../data/atomic_file.js';
import { join } from 'node:path';
import { readShard } from '../data/shard.js';
import { findSideFile, readSideFile, SideFileKind } from '../data/side_file.js';
import { readJsonFile } from '../data/json_file.js';
import { Tokenizer } from '../data/tokenizer.js';
import { tokenActivations } from '../label/activations.js';
import type { LabelShardsResult } from '../label/label_shards.js';
import { SparseAutoencoder } from '../label/sae.js';
import { LatentSelector, SELECT_DEFAULTS, type LatentRanking, type LatentScore } from '../label/select_latents.js';
import { LABEL_STAGE_DEFAULTS, resolveLabel, runLabel } from '../stages/label.js';
import { Transformer } from '../model/transformer.js';
import { parseTask } from './task_index.js';
import { addDeviceOptions, deviceOptionsOf, type DeviceCommandOptions } from './device_option.js';
import { ProgressLine, UsageError, formatCount, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter label`, as the CLI parses them. */
export interface LabelCommandOptions extends DeviceCommandOptions {
  model?: string;
  layer?: number;
  activations?: string;
  sae: string;
  out: string;
  latents?: string;
  select?: number;
  rank: LatentRanking;
  z: number;
  /** Default: the label stage's (2, the paper's) with --latents; its log rule with --select K (see selectMinLatents). */
  minLatents?: number;
  context?: number;
  batch: number;
  tokenizer?: string;
  /** `I/N` or `auto/N` (lib/cli/task_index.ts); default 0/1. */
  shard?: string;
  json?: boolean;
}

/** Parses `--latents`: comma-separated ids, or a JSON file holding `{latents: number[]}` or `number[]`. */
async function parseLatents(value: string): Promise<number[]> {
  let ids: unknown;
  if (/^[\d,\s]+$/.test(value)) ids = value.split(',').filter((s) => s.trim() !== '').map(Number);
  else {
    try {
      const parsed = await readJsonFile(value);
      ids = Array.isArray(parsed) ? parsed : (parsed as { latents?: unknown }).latents;
    } catch (error) {
      throw new UsageError(`--latents ${value}: not a list of ids nor a readable JSON file (${(error as Error).message})`);
    }
  }
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i) => Number.isInteger(i) && i >= 0))
    throw new UsageError('--latents must name at least one non-negative integer latent id');
  return ids as number[];
}

/** Parses `--rank`. */
function parseRanking(value: string): LatentRanking {
  if (value !== 'auroc' && value !== 'ratio') throw new UsageError(`--rank must be auroc or ratio, got ${value}`);
  return value;
}

/** Ranks latents on the shards' gold labels (1 = forget) and returns the best `k` with contexts. */
async function selectLatents(shards: string[], model: Transformer, sae: SparseAutoencoder, options: LabelCommandOptions & { layer: number }, progress: ProgressLine) {
  const selector = new LatentSelector(sae.config.dSae, { contexts: SELECT_DEFAULTS.contexts });
  const sources: { shard: string; tokens: Uint32Array; origin: number }[] = [];
  let origin = 0;
  const codesOf = sae.codesReusing();
  for (const [i, shard] of shards.entries()) {
    const goldPath = findSideFile(shard, SideFileKind.Labels);
    if (!goldPath) throw new UsageError(`--select needs gold labels: ${shard} has no label side file beside it`);
    const s = readShard(shard);
    const tokens = s.tokens instanceof Uint32Array ? s.tokens : Uint32Array.from(s.tokens);
    const gold = readSideFile(goldPath, { expectTokens: tokens.length, shard: { path: shard, tokenizer: s.header.tokenizer } }).values as Uint8Array;
    for await (const block of tokenActivations(model, tokens, { layer: options.layer, context: options.context, batch: options.batch })) {
      selector.add(await codesOf(block.activations), gold.subarray(block.start, block.start + block.count), origin + block.start);
      progress.update(i, shards.length, 'shards', `selecting: ${formatCount(block.start + block.count)} tokens`);
    }
    sources.push({ shard, tokens, origin });
    origin += tokens.length;
  }
  const chosen = selector.select({ top: options.select, by: options.rank });
  if (chosen.length === 0) throw new TokenfilterError('E_OPTION', `no latent fires specifically on gold label 1 (score >= ${SELECT_DEFAULTS.minScore}, support >= ${SELECT_DEFAULTS.minSupport}): more data or another layer?`);
  const tokenizer = options.tokenizer ? await Tokenizer.load(options.tokenizer) : undefined;
  const audit = chosen.map((s: LatentScore) => ({
    ...s,
    contexts: selector.topContexts(s.latent).map((c) => {
      const src = [...sources].reverse().find((x) => x.origin <= c.position)!;
      const at = c.position - src.origin;
      const window = src.tokens.subarray(Math.max(0, at - 10), at + 4);
      return { shard: src.shard, position: at, activation: c.activation, text: tokenizer ? tokenizer.decode(window) : Array.from(window).join(' ') };
    }),
  }));
  return audit;
}

/** Runs `label` and prints its summary. */
export async function labelCommand(shards: string[], options: LabelCommandOptions, io: CliIO): Promise<LabelShardsResult> {
  if ((options.latents === undefined) === (options.select === undefined)) throw new UsageError('give exactly one of --latents IDS and --select K');
  if ((options.model === undefined) === (options.activations === undefined))
    throw new UsageError('give either --model LM (with --layer) or --activations DIR (activations computed elsewhere)');
  if (options.model !== undefined && options.layer === undefined) throw new UsageError('--model needs --layer');
  if (options.select !== undefined && options.model === undefined) throw new UsageError('--select runs the labeller LM: give --model and --layer');
  const task = parseTask(options.shard ?? '0/1');
  const device = deviceOptionsOf(options);
  let model: Transformer | undefined;
  let sae: SparseAutoencoder;
  try {
    if (options.model) model = await Transformer.load(options.model, device);
    sae = await SparseAutoencoder.load(options.sae, device);
    for (const shard of shards) {
      const { header } = readShard(shard, { validateIds: false });
      if (model && header.tokenizer.vocabSize !== model.config.vocabSize)
        throw new UsageError(`${shard}: vocabulary of ${header.tokenizer.vocabSize} does not match the model's ${model.config.vocabSize}`, { code: 'E_TOKENIZER_MISMATCH' });
      if (options.model) await checkModelAgainstShard(options.model, { path: shard, tokenizer: header.tokenizer });
    }
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error, code: errorCode(error) ?? 'E_FILE_FORMAT' });
  }
  if (model && options.layer! > model.config.layers + 1) throw new UsageError(`--layer must be in [0, ${model.config.layers + 1}] for this model`);
  const progress = new ProgressLine(io, 'label');
  let result: LabelShardsResult;
  let audit: unknown;
  try {
    let latents: number[];
    if (options.latents !== undefined) latents = await parseLatents(options.latents);
    else {
      const chosen = await selectLatents(shards, model!, sae, { ...options, layer: options.layer! }, progress);
      latents = chosen.map((c) => c.latent);
      audit = chosen;
    }
    for (const id of latents) if (id >= sae.config.dSae) throw new UsageError(`latent ${id} is outside the SAE's ${sae.config.dSae} latents`);
    // with many selected latents, minLatents follows the log rule of the label stage (selectMinLatents)
    const stage = resolveLabel({
      shards, out: options.out, model, layer: options.layer, activations: options.activations, sae, latents, z: options.z, minLatents: options.minLatents,
      selected: options.select, context: options.context, batch: options.batch,
      task, sources: [...(options.model ? [options.model] : []), options.sae], signal: io.signal,
      onProgress: (p) => progress.update(p.shard, p.shards, 'shards', `${p.pass}: ${formatCount(p.tokens)} tokens`),
    });
    result = await runLabel(stage);
    await writeFileAtomic(join(options.out, 'latents.json'), JSON.stringify({ latents, mean: [...result.mean], std: [...result.std], z: stage.z, minLatents: stage.minLatents, audit }, null, 1));
  } finally {
    progress.finish();
  }
  const byGold = result.byGold
    ? Object.fromEntries(Object.entries(result.byGold).map(([k, v]) => [k, { tokens: v.tokens, labelledFraction: v.tokens ? v.labelled / v.tokens : 0 }]))
    : undefined;
  const summary = { command: 'label', task: result.task, shards: result.shards.length, skipped: result.skipped.length, manifest: result.manifest, tokens: result.tokens, labelled: result.labelled, labelledFraction: result.tokens ? result.labelled / result.tokens : 0, byGold, latents: join(options.out, 'latents.json'), audit };
  if (options.json) writeJson(io, summary);
  else {
    io.stdout.write(
      `labelled ${formatCount(result.labelled)} of ${formatCount(result.tokens)} tokens (${(100 * summary.labelledFraction).toFixed(2)}%) in ${result.shards.length} shard(s) ` +
        `(${result.skipped.length} already done); manifest ${result.manifest}\n`,
    );
    if (byGold) for (const [k, v] of Object.entries(byGold)) io.stdout.write(`  gold label ${k}: ${(100 * v.labelledFraction).toFixed(2)}% of ${formatCount(v.tokens)} tokens labelled\n`);
    io.stdout.write(`latents, mean and std: ${summary.latents}\n`);
  }
  return result;
}

/** Adds `label` to the program. */
export function registerLabel(program: Command, io: CliIO): void {
  const d = LABEL_STAGE_DEFAULTS;
  const floor = d.minLatents;
  const command = program
    .command('label')
    .description('weak token labels from SAE latents on a labeller LM (writes label side files)')
    .argument('<shards...>', 'token shards (.bin)')
    .option('--model <path>', 'labeller LM (safetensors from `tokenfilter train`)')
    .option('--activations <dir>', 'instead of --model: <stem>.npy or <stem>.safetensors per shard, [tokens, d_model], computed elsewhere')
    .option('--layer <n>', 'residual stream the SAE reads (0 = embeddings, l = after block l)', (v) => parseIntegerOption('--layer', v, 0, 1024))
    .requiredOption('--sae <path>', 'SAE: safetensors saved by tokenfilter, or the Gemma Scope layout (.npz / safetensors)')
    .requiredOption('--out <dir>', 'output folder for <stem>.labels.side and latents.json')
    .option('--latents <ids|file>', 'selected latents: comma-separated ids, or a JSON file with {latents: [...]}')
    .option('--select <k>', 'choose the k latents most specific to gold label 1 (needs gold label side files)', (v) => parseIntegerOption('--select', v, 1, 1 << 20))
    .option('--rank <method>', 'how --select orders latents: auroc (coverage of the forget tokens) or ratio (firing-rate ratio)', parseRanking, d.select.by)
    .option('--z <x>', 'standard deviations above the mean', numberOption('--z', -100, 100), d.z)
    .option('--min-latents <n>', `latents that must pass for a seed token (default ${floor}; with --select K, max(${floor}, round(2·log2 K) − 6), at most max(${floor}, round(k / 3)) for a TopK SAE)`, (v) => parseIntegerOption('--min-latents', v, 1, 1 << 20))
    .option('--context <n>', 'window length (default: the model context)', (v) => parseIntegerOption('--context', v, 1, 1 << 20))
    .option('--batch <n>', 'windows per forward pass', (v) => parseIntegerOption('--batch', v, 1, 4096), d.batch)
    .option('--tokenizer <path>', 'tokenizer.json, to print audit contexts as text')
    .option('--shard <I/N>', 'label every N-th shard starting at I; I may be auto (Slurm / Kubernetes index)', '0/1')
    .option('--json', 'print the summary as JSON');
  addDeviceOptions(command).action(async (shards: string[], options: LabelCommandOptions) => {
    await labelCommand(shards, options, io);
  });
}
