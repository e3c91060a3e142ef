/**
 * `tokenfilter eval --model M SHARDS...`: a model's held-out loss per domain, from the label
 * side files beside the shards.
 * @module
 */
import type { Command } from 'commander';
import { readShard, readShardHeader } from '../data/shard.js';
import { checkSameContract } from '../data/tokenizer_contract.js';
import { errorCode } from '../errors.js';
import { checkModelAgainstShard } from '../model/model_contract.js';
import { SideFileKind, findSideFile, readSideFile } from '../data/side_file.js';
import { domainLosses, type DomainLoss } from '../eval/domain_loss.js';
import { Transformer } from '../model/transformer.js';
import { UsageError, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter eval`, as the CLI parses them. */
export interface EvalCommandOptions {
  model: string;
  labelNames: string;
  batch: number;
  maxWindows?: number;
  json?: boolean;
}

/** Runs `eval`: per-domain loss over the shards' tokens (windows of the model's context). */
export async function evalCommand(shards: string[], options: EvalCommandOptions, io: CliIO): Promise<Record<string, DomainLoss>> {
  const names = options.labelNames.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0 || names.length > 255) throw new UsageError('--label-names must list 1 to 255 names, comma-separated');
  let model: Transformer;
  try {
    model = await Transformer.load(options.model);
  } catch (error) {
    throw new UsageError(`--model ${options.model}: ${(error as Error).message}`, { cause: error });
  }
  const tokenParts: Uint32Array[] = [];
  const labelParts: Uint8Array[] = [];
  for (const [i, path] of shards.entries()) {
    try {
      const shard = readShard(path);
      const recorded = shard.header.tokenizer;
      if (recorded.vocabSize !== model.config.vocabSize)
        throw new UsageError(`${path}: vocabulary of ${recorded.vocabSize} does not match the model's ${model.config.vocabSize}`, { code: 'E_TOKENIZER_MISMATCH' });
      if (i > 0) checkSameContract(readShardHeader(shards[0]).tokenizer, shards[0], recorded, path);
      await checkModelAgainstShard(options.model, { path, tokenizer: recorded });
      tokenParts.push(Uint32Array.from(shard.tokens));
      const labelsPath = findSideFile(path, SideFileKind.Labels);
      // without labels every token counts for the first name
      const labelOptions = { expectKind: SideFileKind.Labels, expectTokens: shard.tokens.length, shard: { path, tokenizer: recorded } };
      labelParts.push(labelsPath ? (readSideFile(labelsPath, labelOptions).values as Uint8Array) : new Uint8Array(shard.tokens.length));
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error, code: errorCode(error) ?? 'E_FILE_FORMAT' });
    }
  }
  const total = tokenParts.reduce((n, p) => n + p.length, 0);
  const tokens = new Uint32Array(total);
  const labels = new Uint8Array(total);
  let at = 0;
  tokenParts.forEach((p, i) => {
    tokens.set(p, at);
    labels.set(labelParts[i], at);
    at += p.length;
  });
  const losses = await domainLosses(model, { tokens, labels }, { labelNames: names, batch: options.batch, maxWindows: options.maxWindows });
  if (options.json) writeJson(io, { command: 'eval', model: options.model, shards, losses });
  else
    for (const [name, l] of Object.entries(losses))
      io.stdout.write(`${name.padEnd(12)} loss ${l.loss.toFixed(4)}  95% CI [${l.ci95[0].toFixed(4)}, ${l.ci95[1].toFixed(4)}]  ${l.tokens} tokens\n`);
  return losses;
}

/** Adds `eval` to the program. */
export function registerEval(program: Command, io: CliIO): void {
  program
    .command('eval')
    .description("a model's held-out loss per domain (labels from the shards' .labels.side files)")
    .argument('<shards...>', 'held-out token shards')
    .requiredOption('--model <path>', 'model (safetensors) saved by tokenfilter')
    .option('--label-names <names>', 'names of label values 0, 1, 2, … (comma-separated)', 'general,medical,biology')
    .option('--batch <n>', 'windows per forward pass', (v) => parseIntegerOption('--batch', v, 1, 4096), 8)
    .option('--max-windows <n>', 'score at most this many windows', (v) => parseIntegerOption('--max-windows', v, 1))
    .option('--json', 'print a JSON summary on stdout')
    .action(async (shards: string[], options: EvalCommandOptions) => {
      await evalCommand(shards, options, io);
    });
}
