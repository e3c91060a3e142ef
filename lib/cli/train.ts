/**
 * `tokenfilter train SHARDS... --out MODEL`: train a transformer on token shards with their
 * loss-mask side files (as `tokenfilter filter` writes them), resumable from a checkpoint.
 * @module
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { errorCode } from '../errors.js';
import { prepareFileOutputs } from '../data/output_path.js';
import { tokenizerMetadata } from '../model/model_tokenizer.js';
import { trainingTokenizer } from './training_tokenizer.js';
import { readShardHeader } from '../data/shard.js';
import { SideFileKind, findSideFile } from '../data/side_file.js';
import { checkSameContract, type RecordedContract } from '../data/tokenizer_contract.js';
import { BatchSampler } from '../data/sampler.js';
import { ladderConfig, resolveTransformerConfig, type TransformerConfig } from '../model/config.js';
import { Transformer } from '../model/transformer.js';
import { Tokenizer } from '../data/tokenizer.js';
import { TRAIN_DEFAULTS, trainMasked, type TrainSummary } from '../model/train.js';
import { TRAIN_STAGE_DEFAULTS } from '../stages/train.js';
import { backendInfo } from '../native.js';
import { ProgressLine, UsageError, formatCount, numberOption, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter train`, as the CLI parses them. */
export interface TrainCommandOptions {
  out: string;
  depth?: number;
  layers?: number;
  dim?: number;
  heads?: number;
  context: number;
  batch: number;
  steps: number;
  lr: number;
  warmup?: number;
  accumulation: number;
  seed: number;
  checkpoint?: string;
  checkpointEvery: number;
  resume?: boolean;
  /** The shards' tokenizer.json (or 'cl100k') to embed; default: found beside the shards. */
  tokenizer?: string;
  /** False (--no-embed-tokenizer): record the tokenizer contract only. Default true. */
  embedTokenizer?: boolean;
  json?: boolean;
}

function modelConfig(vocabSize: number, o: TrainCommandOptions): TransformerConfig {
  try {
    if (o.depth !== undefined) {
      if (o.layers !== undefined || o.dim !== undefined || o.heads !== undefined)
        throw new UsageError('give either --depth (the width = 64 × depth ladder) or --layers/--dim/--heads');
      return ladderConfig(o.depth, { vocabSize, context: o.context, seed: o.seed });
    }
    const shape = TRAIN_STAGE_DEFAULTS.model;
    return resolveTransformerConfig({ vocabSize, context: o.context, layers: o.layers ?? shape.layers, dModel: o.dim ?? shape.dModel, heads: o.heads ?? shape.heads, seed: o.seed });
  } catch (error) {
    throw error instanceof UsageError ? error : new UsageError((error as Error).message, { cause: error });
  }
}

/**
 * Refuses a model or checkpoint path that is one of the shards or their loss-mask side files,
 * or one path for both; creates their folders.
 */
async function checkTrainOutputs(shards: readonly string[], options: TrainCommandOptions): Promise<void> {
  const inputs = shards.flatMap((path) => {
    const mask = findSideFile(path, SideFileKind.LossMask);
    return [{ path, role: 'input shard' }, ...(mask ? [{ path: mask, role: 'loss mask' }] : [])];
  });
  const outputs = [{ path: options.out, role: '--out' }, ...(options.checkpoint ? [{ path: options.checkpoint, role: '--checkpoint' }] : [])];
  await prepareFileOutputs(outputs, inputs);
}

/** Runs `train` and returns the training summary. */
export async function trainCommand(shards: string[], options: TrainCommandOptions, io: CliIO): Promise<TrainSummary> {
  let first: RecordedContract | undefined;
  for (const shard of shards) {
    let recorded: RecordedContract;
    try {
      recorded = readShardHeader(shard).tokenizer;
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error, code: errorCode(error) ?? 'E_FILE_FORMAT' });
    }
    if (recorded.vocabSize === 0) throw new UsageError(`${shard}: the shard records no tokenizer, so the vocabulary size is unknown`);
    if (first) checkSameContract(first, shards[0], recorded, shard);
    first ??= recorded;
  }
  const tokenizer = await trainingTokenizer(shards, first!, options, io);
  await checkTrainOutputs(shards, options);
  const config = modelConfig(first!.vocabSize, options);
  if (options.resume && !options.checkpoint) throw new UsageError('--resume needs --checkpoint PATH');
  const resumeFrom = options.resume && options.checkpoint && existsSync(options.checkpoint) ? options.checkpoint : undefined;
  const model = await Transformer.create(config);
  const counts = model.parameterCount();
  const backend = backendInfo();
  io.stderr.write(
    `model: ${config.layers} layers, width ${config.dModel}, ${config.heads} heads, ${formatCount(counts.total)} parameters ` +
      `(${formatCount(counts.nonEmbedding)} non-embedding); backend ${backend.threads} threads, ${backend.simd}` +
      `${resumeFrom ? `; resuming from ${resumeFrom}` : ''}\n`,
  );
  const sampler = new BatchSampler({ shards, batch: options.batch, context: options.context, seed: options.seed });
  const progress = new ProgressLine(io, 'train');
  let summary: TrainSummary;
  try {
    summary = await trainMasked(model, sampler, {
      steps: options.steps,
      lr: options.lr,
      warmupSteps: options.warmup,
      accumulation: options.accumulation,
      checkpointPath: options.checkpoint,
      checkpointEvery: options.checkpoint ? options.checkpointEvery : 0,
      resumeFrom,
      tokenizer,
      embedTokenizer: options.embedTokenizer,
      signal: io.signal, // Ctrl-C in the CLI (main.ts)
      onProgress: (p) => progress.update(p.step, options.steps, 'steps', `loss ${p.loss.toFixed(3)} · ${formatCount(p.tokensPerSecond)} tok/s`),
    });
  } finally {
    progress.finish();
    sampler.close();
  }
  await model.save(options.out, tokenizerMetadata(tokenizer, { embedTokenizer: options.embedTokenizer }));
  const { lossHistory, ...rest } = summary;
  const tokenizerEmbedded = tokenizer instanceof Tokenizer && options.embedTokenizer !== false;
  const result = {
    command: 'train', model: options.out, config, params: counts, tokenizerEmbedded, ...rest, lossFirst: lossHistory[0], lossLast: summary.finalLoss,
  };
  if (options.json) writeJson(io, result);
  else
    io.stdout.write(
      `trained ${summary.steps} steps on ${formatCount(summary.tokens)} tokens (${formatCount(summary.supervisedTokens)} supervised), ` +
        `loss ${lossHistory[0]?.toFixed(3)} → ${summary.finalLoss.toFixed(3)}, ${(summary.flops / 1e12).toFixed(2)} TFLOPs; saved ${options.out}\n`,
    );
  return summary;
}

/** Adds `train` to the program. */
export function registerTrain(program: Command, io: CliIO): void {
  const int = (name: string, min: number, max?: number) => (v: string) => parseIntegerOption(name, v, min, max);
  const d = TRAIN_STAGE_DEFAULTS;
  program
    .command('train')
    .description('train a transformer on token shards, learning only where their loss-mask side files say 1')
    .argument('<shards...>', 'token shards (.bin), with .mask.side files where filtered')
    .requiredOption('--out <path>', 'where to save the model (safetensors)')
    .option('--depth <n>', 'size from the paper ladder: width 64 × depth, head size 64', int('--depth', 1, 256))
    .option('--layers <n>', `layers (default ${d.model.layers})`, int('--layers', 1, 256))
    .option('--dim <n>', `width (default ${d.model.dModel})`, int('--dim', 8, 1 << 15))
    .option('--heads <n>', `attention heads (default ${d.model.heads})`, int('--heads', 1, 1024))
    .option('--context <n>', 'context length', int('--context', 2, 1 << 16), d.context)
    .option('--batch <n>', 'sequences per micro-batch', int('--batch', 1, 1 << 16), d.batch)
    .option('--accumulation <n>', 'micro-batches per optimizer step', int('--accumulation', 1, 1 << 16), 1)
    .requiredOption('--steps <n>', 'optimizer steps', int('--steps', 1))
    .option('--lr <x>', `peak learning rate (cosine decay to ${TRAIN_DEFAULTS.minLrRatio}×)`, numberOption('--lr', 0, 10), d.lr)
    .option('--warmup <n>', 'warm-up steps (default 10% of --steps)', int('--warmup', 0))
    .option('--seed <n>', 'seed of initialisation and batch order', int('--seed', 0), d.seed)
    .option('--checkpoint <path>', 'checkpoint file (written atomically at the end and every --checkpoint-every steps)')
    .option('--checkpoint-every <n>', 'steps between checkpoints', int('--checkpoint-every', 1), d.checkpointEvery)
    .option('--resume', 'continue from --checkpoint when it exists (same shards, seed and options)')
    .option('--tokenizer <path>', "the shards' tokenizer.json (or cl100k) to embed in the model (default: tokenizer.json beside the first shard)")
    .option('--no-embed-tokenizer', "record the tokenizer's contract only, not its JSON")
    .option('--json', 'print a JSON summary on stdout')
    .action(async (shards: string[], options: TrainCommandOptions) => {
      await trainCommand(shards, options, io);
    });
}
