/**
 * `tokenfilter export --format nanogpt --out DIR SHARDS... [--val SHARDS...]`: token shards →
 * headerless uint16 `train.bin` / `val.bin` for karpathy/nanoGPT, each with a uint8 loss mask
 * beside it and a `meta.json` (see {@link exportNanoGpt}).
 * @module
 */
import type { Command } from 'commander';
import { exportNanoGpt, type NanoGptExport } from '../data/nanogpt_export.js';
import { UsageError, formatCount, writeJson, type CliIO } from './output.js';

/** Formats `export` writes. */
export const EXPORT_FORMATS = ['nanogpt'] as const;

/** Options of {@link exportCommand}, as the CLI parses them. */
export interface ExportOptions {
  format: string;
  out: string;
  val?: string[];
  json?: boolean;
}

/**
 * Runs `export`.
 * @throws UsageError (exit 2) for an unknown format or a shard that cannot be opened; the coded
 *   errors of {@link exportNanoGpt} otherwise (E_OPTION for a vocabulary over 65,536 ids).
 */
export async function exportCommand(shards: string[], options: ExportOptions, io: CliIO): Promise<NanoGptExport> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format))
    throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${options.format}'`);
  let result: NanoGptExport;
  try {
    result = await exportNanoGpt({ train: shards, val: options.val ?? [], out: options.out });
  } catch (error) {
    // a shard or mask that cannot be opened (missing, a folder) is a bad argument
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') throw new UsageError((error as Error).message, { cause: error });
    throw error;
  }
  if (options.json) writeJson(io, { command: 'export', format: options.format, ...result });
  else {
    const splits = [result.train, ...(result.val ? [result.val] : [])];
    const parts = splits.map((s) => `${s.file} (${formatCount(s.tokens)} tokens, ${s.shardsWithMask}/${s.shards.length} shards with a loss mask)`);
    io.stderr.write(`export: ${parts.join(', ')}; ${result.meta}\n`);
  }
  return result;
}

/** Adds the `export` subcommand to the program. */
export function registerExport(program: Command, io: CliIO): void {
  program
    .command('export')
    .description('write token shards in another trainer\'s format (nanogpt: headerless uint16 train.bin / val.bin, a uint8 loss mask beside each, meta.json)')
    .argument('<shards...>', 'token shards (.bin) for train.bin, in order')
    .requiredOption('--format <format>', `output format: ${EXPORT_FORMATS.join(', ')}`)
    .requiredOption('--out <dir>', 'output folder')
    .option('--val <shards...>', 'token shards for val.bin, in order')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (shards: string[], options: ExportOptions) => {
      await exportCommand(shards, options, io);
    });
}
