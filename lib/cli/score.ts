/**
 * `tokenfilter score SHARDS... --classifier C --out DIR [--shard I/N] [--device cpu|cuda|auto]`: per-token forget scores
 * for token shards as uint8 score side files (what `tokenfilter filter --scores DIR` reads),
 * resumable and splittable across array-job tasks.
 * @module
 */
import type { Command } from 'commander';
import { readShardHeader } from '../data/shard.js';
import type { ScoreShardsResult } from '../classify/score_shards.js';
import { runScore } from '../stages/score.js';
import { addDeviceOptions, deviceOptionsOf, type DeviceCommandOptions } from './device_option.js';
import { parseTask } from './task_index.js';
import { printTaskSummary, taskSummary } from './task_summary.js';
import { ProgressLine, UsageError, formatCount, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter score`, as the CLI parses them. */
export interface ScoreCommandOptions extends DeviceCommandOptions {
  classifier: string;
  out: string;
  shard: string;
  json?: boolean;
}

/** Runs `score` for one task and prints its summary. */
export async function scoreCommand(shards: string[], options: ScoreCommandOptions, io: CliIO): Promise<ScoreShardsResult> {
  const task = parseTask(options.shard);
  const device = deviceOptionsOf(options);
  for (const shard of shards) {
    try {
      readShardHeader(shard);
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
  }
  const progress = new ProgressLine(io, `score ${task.index}/${task.count}`);
  let result: ScoreShardsResult;
  try {
    result = await runScore({
      shards, classifier: options.classifier, out: options.out, task, device, signal: io.signal,
      onProgress: (p) => progress.update(p.tokens, p.shardTokens, 'tokens', `shard ${p.done + 1}/${p.total}${p.skipped ? ' (done before)' : ''}`),
    });
  } catch (error) {
    progress.finish();
    // A bad classifier file carries its own input code (E_FILE_FORMAT: exit 2); a missing one is a bad argument.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError((error as Error).message, { cause: error });
    throw error;
  }
  progress.finish();
  const summary = taskSummary('score', result, { windowedDocuments: result.windowedDocuments, cutTokens: result.cutTokens });
  printTaskSummary(io, options.json, summary, 'scored', `${summary.windowedDocuments} long documents read in overlapping windows, ${summary.cutTokens} tokens cut`);
  return result;
}

/** Adds `score` to the program. */
export function registerScore(program: Command, io: CliIO): void {
  const command = program
    .command('score')
    .description('score every token of token shards with a token classifier (uint8 score side files)')
    .argument('<shards...>', 'token shards (.bin)')
    .requiredOption('--classifier <path>', 'token classifier file (tokenfilter train-classifier)')
    .requiredOption('--out <dir>', 'output folder: score side files, per-shard records, manifest')
    .option('--shard <I/N>', 'process every N-th shard starting at I; I may be auto (Slurm / Kubernetes index)', '0/1')
    .option('--json', 'print a JSON summary on stdout');
  addDeviceOptions(command).action(async (shards: string[], options: ScoreCommandOptions) => {
    await scoreCommand(shards, options, io);
  });
}
