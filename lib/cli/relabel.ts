/**
 * `tokenfilter relabel IN... --tokenizer tok.json --out DIR`: labels or scores made under another
 * tokenizer (JSONL records of text, offsets and one value per token) → our token shards with a
 * labels or scores side file. See {@link writeRelabelledShards} for the record layout.
 * @module
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TOKENIZE_STAGE_DEFAULTS } from '../stages/tokenize.js';
import { writeFileAtomic } from '../data/atomic_file.js';
import { checkOutputPaths, makeFolder } from '../data/output_path.js';
import { listCorpusFiles, readDocuments } from '../data/read_documents.js';
import { writeRelabelledShards, type ForeignLabelledDocument, type RelabelledShardSummary } from '../data/relabelled_shards.js';
import { Tokenizer } from '../data/tokenizer.js';
import type { OffsetUnit, TransferRule } from '../data/transfer_labels.js';
import { UsageError, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of {@link relabelCommand}, as the CLI parses them. */
export interface RelabelOptions {
  out: string;
  tokenizer: string;
  offsetUnit: OffsetUnit;
  rule: TransferRule;
  shardTokens: number;
  prefix: string;
  json?: boolean;
}

function choice<T extends string>(name: string, allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${name} must be one of ${allowed.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/**
 * Runs `relabel`; writes shards, side files and `relabel.json` into `--out`.
 * @throws UsageError for bad options, an unreadable tokenizer, a folder already holding shards;
 *   TokenfilterError E_FILE_FORMAT for a malformed record.
 */
export async function relabelCommand(inputs: string[], options: RelabelOptions, io: CliIO): Promise<RelabelledShardSummary & { command: 'relabel' }> {
  const files = await listCorpusFiles(inputs);
  if (files.length === 0) throw new UsageError(`no .jsonl or .jsonl.gz files found in ${inputs.join(', ')}`);
  let tokenizer: Tokenizer;
  try {
    tokenizer = await Tokenizer.load(options.tokenizer);
  } catch (error) {
    throw new UsageError(`--tokenizer ${options.tokenizer}: ${(error as Error).message}`, { cause: error });
  }
  const written = (name: string) => /\.(bin|side)$/.test(name) || name === 'relabel.json';
  await checkOutputPaths([{ folder: options.out, role: '--out', writes: written }], [...files, options.tokenizer].map((path) => ({ path, role: 'input' })));
  await makeFolder(options.out, '--out');
  if ((await readdir(options.out)).some((name) => name.endsWith('.bin')))
    throw new UsageError(`--out ${options.out} already holds shards; choose an empty folder`, { code: 'E_OUTPUT_PATH' });
  const records = readDocuments(files) as AsyncIterable<unknown> as AsyncIterable<ForeignLabelledDocument>;
  const summary = await writeRelabelledShards(records, {
    tokenizer,
    dir: options.out,
    sourceUnit: options.offsetUnit,
    rule: options.rule,
    prefix: options.prefix,
    shardTokens: options.shardTokens,
  });
  const result = { command: 'relabel' as const, ...summary };
  await writeFileAtomic(join(options.out, 'relabel.json'), `${JSON.stringify({ ...result, inputs, tokenizer: tokenizer.hash, offsetUnit: options.offsetUnit, rule: options.rule }, null, 2)}\n`);
  if (options.json) writeJson(io, result);
  else
    io.stderr.write(
      `relabel: ${summary.documents} documents, ${summary.sourceTokens} source tokens → ${summary.tokens} tokens in ` +
        `${summary.paths.length} shard(s) with ${summary.kind} side files in ${options.out}\n`,
    );
  return result;
}

/** Adds the `relabel` subcommand to the program. */
export function registerRelabel(program: Command, io: CliIO): void {
  program
    .command('relabel')
    .description("move token labels or scores made under another tokenizer onto this tokenizer's shards")
    .argument('<inputs...>', 'JSONL files or folders of {text, offsets, labels | scores} records')
    .requiredOption('--tokenizer <path>', 'tokenizer.json of the shards to write')
    .requiredOption('--out <dir>', 'output folder (empty) for shards, side files and relabel.json')
    .option('--offset-unit <unit>', 'unit of the records\' offsets: codepoint (Python str), utf16 or utf8', choice('--offset-unit', ['codepoint', 'utf16', 'utf8'] as const), 'codepoint')
    .option('--rule <rule>', 'any: a token is flagged when any of its characters was (scores: max); majority: more than half (scores: mean)', choice('--rule', ['any', 'majority'] as const), 'any')
    .option('--shard-tokens <n>', 'tokens per shard (as given to tokenize)', (v) => parseIntegerOption('--shard-tokens', v, 1, 0x7fffffff), TOKENIZE_STAGE_DEFAULTS.shardTokens)
    .option('--prefix <name>', 'shard file prefix (as given to tokenize)', 'shard')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (inputs: string[], options: RelabelOptions) => {
      await relabelCommand(inputs, options, io);
    });
}
