/**
 * `tokenfilter tokenize IN... --out DIR`: documents → token shards (and the tokenizer used).
 * @module
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import { checkOutputPaths, makeFolder } from '../data/output_path.js';
import { writeFileAtomic } from '../data/atomic_file.js';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TOKENIZE_STAGE_DEFAULTS } from '../stages/tokenize.js';
import { Tokenizer } from '../data/tokenizer.js';
import { ShardWriter } from '../data/shard_writer.js';
import { listCorpusFiles, readDocuments } from '../data/read_documents.js';
import { MalformedRecordError } from '../data/document.js';
import { ProgressLine, UsageError, formatCount, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of {@link tokenizeCommand}, as the CLI parses them. */
export interface TokenizeOptions {
  out: string;
  tokenizer?: string;
  trainTokenizer?: boolean;
  vocab?: number;
  textField: string;
  idField: string;
  shardTokens: number;
  prefix: string;
  skipMalformed?: boolean;
  /** JSON Lines lines with invalid UTF-8: 'count' (replace and report) or 'error' (refuse the file). */
  invalidUtf8?: 'count' | 'error';
  overwrite?: boolean;
  json?: boolean;
}

/** What `tokenize` did; printed with `--json` and written to `DIR/tokenize.json`. */
export interface TokenizeSummary {
  command: 'tokenize';
  inputs: string[];
  files: number;
  documents: number;
  skipped: number;
  /** JSON Lines lines read with invalid UTF-8 replaced by U+FFFD. */
  invalidUtf8Lines: number;
  characters: number;
  tokens: number;
  shards: string[];
  /** `path` is the saved tokenizer.json, or 'cl100k' for the built-in one (not saved). */
  tokenizer: { name: string; path: string; vocabSize: number; hash: string; trained: boolean };
  /** Seconds spent loading or training the tokenizer. */
  tokenizerSeconds: number;
  /** Seconds spent reading, encoding and writing (the rates below use these). */
  seconds: number;
  tokensPerSecond: number;
  documentsPerSecond: number;
  /** Characters (UTF-16 code units) of text per second. */
  charactersPerSecond: number;
  /** Input file bytes per second (compressed bytes for gzipped input). */
  inputMegabytesPerSecond: number;
}

/** Documents encoded per native batch call. */
const BATCH_DOCUMENTS = 512;
/** Characters per batch at most (so one giant document does not hold many others). */
const BATCH_CHARACTERS = 8_000_000;

async function chooseTokenizer(inputs: string[], options: TokenizeOptions, io: CliIO): Promise<{ tokenizer: Tokenizer; trained: boolean }> {
  if (options.trainTokenizer) {
    if (options.tokenizer !== undefined) throw new UsageError('give either --tokenizer or --train-tokenizer, not both');
    if (options.vocab === undefined) throw new UsageError('--train-tokenizer needs --vocab N');
    const progress = new ProgressLine(io, 'training tokenizer');
    progress.update(0, null, 'docs', '', true);
    const texts = async function* () {
      let n = 0;
      for await (const doc of readDocuments(inputs, { textField: options.textField, idField: options.idField, skipMalformed: options.skipMalformed, invalidUtf8: options.invalidUtf8 })) {
        progress.update(++n, null, 'docs');
        yield doc.text;
      }
    };
    const tokenizer = await Tokenizer.train(texts(), {
      vocabSize: options.vocab,
      onProgress: (p) => progress.update(p.done, p.total, p.phase === 'count' ? 'texts counted' : 'merges'),
    });
    progress.finish();
    return { tokenizer, trained: true };
  }
  if (options.vocab !== undefined) throw new UsageError('--vocab only applies with --train-tokenizer');
  const spec = options.tokenizer ?? 'cl100k';
  if (spec === 'cl100k') return { tokenizer: Tokenizer.cl100k(), trained: false };
  try {
    return { tokenizer: await Tokenizer.load(spec), trained: false };
  } catch (error) {
    throw new UsageError(`--tokenizer ${spec}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Refuses an output folder that would write over a corpus file (or is a file), creates it, and
 * refuses to mix new shards with old ones of the same prefix unless asked to remove them. (A
 * `--tokenizer` file inside `--out` is saved back unchanged, so it is not treated as an input.)
 */
async function prepareOutput(dir: string, prefix: string, overwrite: boolean, inputs: readonly string[]): Promise<void> {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const written = new RegExp(`^(${escaped}_\\d{6}(\\.bin|\\.\\w+\\.side)|tokenize\\.json|tokenizer\\.json)$`);
  await checkOutputPaths([{ folder: dir, role: '--out', writes: (name) => written.test(name) }], inputs.map((path) => ({ path, role: 'input' })));
  await makeFolder(dir, '--out');
  const pattern = new RegExp(`^${escaped}_\\d{6}\\.bin$`);
  const old = (await readdir(dir)).filter((name) => pattern.test(name));
  if (old.length === 0) return;
  if (!overwrite) throw new UsageError(`${dir} already holds ${old.length} shard(s) named ${prefix}_NNNNNN.bin; pass --overwrite to replace them`);
  await Promise.all(old.map((name) => unlink(join(dir, name))));
}

/**
 * Runs `tokenize`: reads documents, encodes them in batches on the native tokenizer, streams
 * them into shards (`<|endoftext|>` before each document), saves `tokenizer.json` and a summary.
 * @throws UsageError for bad options, missing inputs, malformed records (unless skipped) or an
 *   unreadable tokenizer; other errors for failures while running.
 */
export async function tokenizeCommand(inputs: string[], options: TokenizeOptions, io: CliIO): Promise<TokenizeSummary> {
  if (!/^[\w.-]+$/.test(options.prefix)) throw new UsageError(`--prefix must be letters, digits, '_', '.' or '-', got '${options.prefix}'`);
  let files: string[];
  try {
    files = await listCorpusFiles(inputs);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (files.length === 0) throw new UsageError(`no corpus files (.jsonl, .jsonl.gz, .parquet, .txt, .md) found in ${inputs.join(', ')}`);
  await prepareOutput(options.out, options.prefix, Boolean(options.overwrite), files);
  const setupStarted = Date.now();
  const { tokenizer, trained } = await chooseTokenizer(inputs, options, io);
  // cl100k is named, not saved: `Tokenizer.cl100k()` rebuilds it (same hash) without a 100k-merge file
  const builtIn = !trained && (options.tokenizer ?? 'cl100k') === 'cl100k';
  const tokenizerPath = builtIn ? 'cl100k' : join(options.out, 'tokenizer.json');
  if (!builtIn) await tokenizer.save(tokenizerPath);
  const started = Date.now();

  const totalBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);
  const writer = new ShardWriter({ dir: options.out, prefix: options.prefix, shardTokens: options.shardTokens, tokenizer });
  const stream = readDocuments(files, {
    textField: options.textField,
    idField: options.idField,
    skipMalformed: options.skipMalformed,
    invalidUtf8: options.invalidUtf8,
    signal: io.signal, // Ctrl-C in the CLI (main.ts): the shard in progress is discarded
  });
  const progress = new ProgressLine(io, 'tokenize');
  // % and ETA by input bytes read (on-disk bytes, so compressed for .gz) against their total
  const showProgress = (force = false) =>
    progress.update(stream.bytesRead, totalBytes || null, 'bytes', `${formatCount(writer.documents)} docs · ${formatCount(writer.tokens)} tokens · ${writer.paths.length} shards · file ${filesDone}/${files.length}`, force);
  let characters = 0;
  let filesDone = 0;
  let batch: string[] = [];
  let batchChars = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const encoded = await tokenizer.encodeBatch(batch);
    for (const ids of encoded) await writer.writeDocument(ids);
    batch = [];
    batchChars = 0;
    showProgress();
  };
  try {
    for await (const doc of stream) {
      filesDone = stream.files;
      batch.push(doc.text);
      batchChars += doc.text.length;
      characters += doc.text.length;
      if (batch.length >= BATCH_DOCUMENTS || batchChars >= BATCH_CHARACTERS) await flush();
    }
    await flush();
  } catch (error) {
    await writer.abort();
    progress.finish();
    if (error instanceof MalformedRecordError) throw new UsageError(`${error.message} (pass --skip-malformed to skip such records)`, { cause: error });
    throw error;
  }
  const shards = await writer.close();
  filesDone = stream.files;
  showProgress(true);
  progress.finish();
  const seconds = (Date.now() - started) / 1000;
  const summary: TokenizeSummary = {
    command: 'tokenize',
    inputs,
    files: files.length,
    documents: writer.documents,
    skipped: stream.skipped,
    invalidUtf8Lines: stream.invalidUtf8Lines,
    characters,
    tokens: writer.tokens,
    shards,
    tokenizer: { name: tokenizer.name, path: tokenizerPath, vocabSize: tokenizer.vocabSize, hash: tokenizer.hash, trained },
    tokenizerSeconds: (started - setupStarted) / 1000,
    seconds,
    tokensPerSecond: seconds > 0 ? writer.tokens / seconds : 0,
    documentsPerSecond: seconds > 0 ? writer.documents / seconds : 0,
    charactersPerSecond: seconds > 0 ? characters / seconds : 0,
    inputMegabytesPerSecond: seconds > 0 ? totalBytes / 1e6 / seconds : 0,
  };
  await writeFileAtomic(join(options.out, 'tokenize.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (options.json) writeJson(io, summary);
  else
    io.stderr.write(
      `tokenize: ${summary.documents} documents${summary.skipped ? ` (${summary.skipped} skipped)` : ''}` +
        `${summary.invalidUtf8Lines ? ` (${summary.invalidUtf8Lines} lines with invalid UTF-8 replaced)` : ''} → ${summary.tokens} tokens in ` +
        `${shards.length} shard(s) in ${options.out} (${tokenizer.name}, ${formatCount(summary.tokensPerSecond)} tokens/s)\n`,
    );
  return summary;
}

/** Adds the `tokenize` subcommand to the program. */
export function registerTokenize(program: Command, io: CliIO): void {
  program
    .command('tokenize')
    .description('tokenize documents (JSONL, .jsonl.gz, Parquet, text files or folders) into token shards')
    .argument('<inputs...>', 'input files or folders')
    .requiredOption('--out <dir>', 'output folder for shards, tokenizer.json (unless cl100k) and tokenize.json')
    .option('--tokenizer <path|cl100k>', 'tokenizer.json to use, or cl100k (default: cl100k)')
    .option('--train-tokenizer', 'train a byte-level BPE tokenizer on the inputs first')
    .option('--vocab <n>', 'vocabulary size of the trained tokenizer', (v) => parseIntegerOption('--vocab', v, 258, 1 << 24))
    .option('--text-field <name>', 'field holding the text', 'text')
    .option('--id-field <name>', 'field holding the document id', 'id')
    .option('--shard-tokens <n>', 'tokens per shard', (v) => parseIntegerOption('--shard-tokens', v, 1, 0x7fffffff), TOKENIZE_STAGE_DEFAULTS.shardTokens)
    .option('--prefix <name>', 'shard file prefix', TOKENIZE_STAGE_DEFAULTS.prefix)
    .option('--skip-malformed', 'skip malformed records instead of stopping')
    .option('--invalid-utf8 <mode>', "JSON Lines lines that are not valid UTF-8: 'count' (replace bad bytes, report the count) or 'error' (stop)", (v) => {
      if (v !== 'count' && v !== 'error') throw new UsageError(`--invalid-utf8 must be count or error, got '${v}'`);
      return v;
    }, 'count')
    .option('--overwrite', 'replace existing shards with the same prefix in --out')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (inputs: string[], options: TokenizeOptions) => {
      await tokenizeCommand(inputs, options, io);
    });
}
