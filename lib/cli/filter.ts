/**
 * `tokenfilter filter SHARDS... --mode M (--threshold X | --fraction F) --out DIR [--shard I/N]`:
 * the filter stage over token shards, resumable and splittable across array-job tasks.
 * @module
 */
import type { Command } from 'commander';
import { readShardHeader } from '../data/shard.js';
import { errorCode } from '../errors.js';
import { readSideFileHeader } from '../data/side_file.js';
import { scoreFileFor, type FilterShardsResult } from '../filter/filter_shards.js';
import { runFilter } from '../stages/filter.js';
import type { FilterMode } from '../filter/filter_tokens.js';
import { ProgressLine, UsageError, formatCount, numberOption, writeJson, type CliIO } from './output.js';
import { parseTask } from './task_index.js';
import { printTaskSummary, taskSummary } from './task_summary.js';

/** Options of `tokenfilter filter`, as the CLI parses them. */
export interface FilterCommandOptions {
  out: string;
  mode: string;
  threshold?: number;
  fraction?: number;
  scores?: string;
  shard: string;
  json?: boolean;
}

/**
 * Reads every input's shard header and score side-file header (cheap), so bad or missing files
 * are reported as the user's to fix (exit code 2) before any work starts.
 */
function checkInputs(shards: string[], scoresDir: string | undefined): void {
  for (const shard of shards) {
    try {
      const header = readShardHeader(shard);
      readSideFileHeader(scoreFileFor(shard, scoresDir), { expectTokens: header.tokenCount, shard: { path: shard, tokenizer: header.tokenizer } });
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error, code: errorCode(error) ?? 'E_FILE_FORMAT' });
    }
  }
}

/** Runs `filter` for one task and prints its summary. */
export async function filterCommand(shards: string[], options: FilterCommandOptions, io: CliIO): Promise<FilterShardsResult> {
  const mode = options.mode as FilterMode;
  if (!['mask', 'remove', 'document'].includes(mode)) throw new UsageError(`--mode must be mask, remove or document, got '${options.mode}'`);
  if ((options.threshold === undefined) === (options.fraction === undefined))
    throw new UsageError('give exactly one of --threshold X and --fraction F');
  const task = parseTask(options.shard);
  checkInputs(shards, options.scores);
  const progress = new ProgressLine(io, `filter ${task.index}/${task.count}`);
  let result: FilterShardsResult;
  try {
    result = await runFilter({
      shards,
      out: options.out,
      mode,
      threshold: options.threshold,
      fraction: options.fraction,
      scoresDir: options.scores,
      task,
      signal: io.signal,
      onProgress: (p) => progress.update(p.done, p.total, 'shards', `${formatCount(p.tokens)} tokens${p.skipped ? ' (done before)' : ''}`, true),
    });
  } catch (error) {
    progress.finish();
    throw error;
  }
  progress.finish();
  const summary = taskSummary('filter', result, {
    mode,
    threshold: result.threshold,
    flaggedTokens: result.flaggedTokens,
    flaggedFraction: result.tokens ? result.flaggedTokens / result.tokens : 0,
    supervisedTokens: result.supervisedTokens,
    documentsDropped: result.documentsDropped,
  });
  printTaskSummary(io, options.json, summary, 'filtered',
    `${(100 * summary.flaggedFraction).toFixed(2)}% flagged at threshold ${summary.threshold.toPrecision(4)}, ${summary.documentsDropped} documents dropped`);
  return result;
}

/** Adds `filter` to the program. */
export function registerFilter(program: Command, io: CliIO): void {
  program
    .command('filter')
    .description('filter token shards by their per-token scores (loss mask, removal or document dropping)')
    .argument('<shards...>', 'token shards (.bin) with score side files')
    .requiredOption('--out <dir>', 'output folder: filtered shards, loss-mask side files, per-shard records, manifest')
    .requiredOption('--mode <mode>', 'mask | remove | document')
    .option('--threshold <x>', 'flag tokens (documents, by mean score) with score >= x', numberOption('--threshold', 0, 1))
    .option('--fraction <f>', 'flag this fraction of all tokens instead (global over all shards)', numberOption('--fraction', 0, 1))
    .option('--scores <dir>', 'folder of the score side files (default: beside each shard)')
    .option('--shard <I/N>', 'process every N-th shard starting at I; I may be auto (Slurm / Kubernetes index)', '0/1')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (shards: string[], options: FilterCommandOptions) => {
      await filterCommand(shards, options, io);
    });
}
