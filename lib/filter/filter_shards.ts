/**
 * The filter stage over a corpus of token shards: for each input shard, read its score side
 * file, apply {@link filterTokens}, and write a filtered shard plus a loss-mask side file that
 * the batch sampler consumes directly.
 *
 * Built to run as many independent tasks (a Slurm job array, a Kubernetes Indexed Job): task
 * I of N takes the shards whose position in the sorted input list is ≡ I (mod N). Each finished
 * shard gets a record `<name>.filter.json` (inputs, options, threshold, output sizes and SHA-256
 * checksums, statistics), written last and atomically, so a task killed mid-way and run again
 * skips exactly the shards already done and redoes the rest; every output file appears by
 * atomic rename. A task's summary goes to `manifest.task-I-of-N.json`.
 *
 * Thresholds given as a fraction are global: every task reads all the score side files (one
 * byte or two per token) into a {@link ScoreHistogram} and derives the same threshold, so no
 * coordination is needed.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decodeFloat16 } from '../data/float16.js';
import { readShard, writeShard } from '../data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor, writeSideFile, type SideFile } from '../data/side_file.js';
import type { RecordedContract, TokenizerContract } from '../data/tokenizer_contract.js';
import { documentEnds, filterTokens, meanDocumentScores, type FilterMode, type FilterStats } from './filter_tokens.js';
import { ScoreHistogram } from './score_histogram.js';
import type { TokenScores } from './threshold.js';

/** Options of {@link filterShards}. Give exactly one of `threshold` and `fraction`. */
export interface FilterShardsOptions {
  /** Input token shards (`.bin`). Order does not matter: they are sorted by path. */
  shards: readonly string[];
  /** Output folder (created if missing). */
  out: string;
  mode: FilterMode;
  threshold?: number;
  /** Flag this fraction of all tokens (all shards together); see {@link FilterOptions.fraction}. */
  fraction?: number;
  /**
   * Folder holding the score side files, named `<shard name>.scores8.side` or `.scores16.side`
   * (default: beside each shard, as `tokenfilter score` writes them).
   */
  scoresDir?: string;
  /** This task's index and the number of tasks (default 0 of 1). */
  task?: { index: number; count: number };
  /** Refuse shards and score files written with another tokenizer. */
  expectTokenizer?: TokenizerContract;
  /** Called after each shard. */
  onProgress?: (p: FilterShardsProgress) => void;
  /** Stops before the next shard; the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

/** Progress after each shard of this task. */
export interface FilterShardsProgress {
  shard: string;
  /** Shards of this task finished (done now or skipped as already done). */
  done: number;
  /** Shards of this task. */
  total: number;
  skipped: boolean;
  tokens: number;
}

/** The record of one finished shard (`<name>.filter.json`). */
export interface ShardFilterRecord {
  input: string;
  scores: string;
  /** The options that determine the output; a rerun with other options redoes the shard. */
  settings: { mode: FilterMode; threshold: number; fraction: number | null };
  outputs: { path: string; bytes: number; sha256: string }[];
  stats: FilterStats;
}

/** What one task did. */
export interface FilterShardsResult {
  task: { index: number; count: number };
  /** The threshold applied (to tokens, or to document mean scores in `document` mode). */
  threshold: number;
  processed: ShardFilterRecord[];
  /** Inputs skipped because a matching record showed them done. */
  skipped: string[];
  tokens: number;
  flaggedTokens: number;
  supervisedTokens: number;
  documentsDropped: number;
  manifest: string;
}

/** Runs one task of the filter stage; see the module comment. */
export async function filterShards(options: FilterShardsOptions): Promise<FilterShardsResult> {
  const { out, mode } = options;
  const task = options.task ?? { index: 0, count: 1 };
  if (!Number.isInteger(task.count) || task.count < 1 || !Number.isInteger(task.index) || task.index < 0 || task.index >= task.count)
    throw new RangeError(`task must be {index, count} with 0 <= index < count, got ${task.index}/${task.count}`);
  if (!Array.isArray(options.shards) || options.shards.length === 0) throw new RangeError('shards must be a non-empty array of paths');
  if ((options.threshold === undefined) === (options.fraction === undefined))
    throw new TypeError('give exactly one of threshold and fraction');
  const all = [...new Set(options.shards)].sort();
  const names = new Set<string>();
  for (const s of all) {
    if (names.has(basename(s))) throw new RangeError(`two input shards share the name '${basename(s)}'; outputs are named by input`);
    names.add(basename(s));
  }
  await mkdir(out, { recursive: true });

  const threshold = options.threshold ?? globalThreshold(all, options);
  const settings = { mode, threshold, fraction: options.fraction ?? null };
  const mine = all.filter((_, i) => i % task.count === task.index);
  const result: FilterShardsResult = {
    task, threshold, processed: [], skipped: [], tokens: 0, flaggedTokens: 0, supervisedTokens: 0, documentsDropped: 0,
    manifest: join(out, `manifest.task-${task.index}-of-${task.count}.json`),
  };
  for (const [k, input] of mine.entries()) {
    throwIfAborted(options.signal, 'filtering');
    const recordPath = join(out, `${stem(input)}.filter.json`);
    const previous = await finishedRecord(recordPath, input, settings);
    let record: ShardFilterRecord;
    if (previous) {
      record = previous;
      result.skipped.push(input);
    } else {
      record = await filterOneShard(input, settings, options);
      await writeAtomic(recordPath, JSON.stringify(record, null, 2) + '\n');
      result.processed.push(record);
    }
    result.tokens += record.stats.tokens;
    result.flaggedTokens += record.stats.flaggedTokens;
    result.supervisedTokens += record.stats.supervisedTokens;
    result.documentsDropped += record.stats.documentsDropped;
    options.onProgress?.({ shard: input, done: k + 1, total: mine.length, skipped: previous !== null, tokens: record.stats.tokens });
  }
  await writeAtomic(
    result.manifest,
    JSON.stringify({ ...result, processed: result.processed.map((r) => r.input), shards: mine, settings }, null, 2) + '\n',
  );
  return result;
}

function stem(path: string): string {
  const name = basename(path);
  return name.endsWith('.bin') ? name.slice(0, -4) : name;
}

/** The score side file of a shard: in scoresDir or beside it, uint8 preferred over float16. */
export function scoreFileFor(shard: string, scoresDir?: string): string {
  const base = scoresDir ? join(scoresDir, basename(shard)) : shard;
  for (const kind of [SideFileKind.ScoresUint8, SideFileKind.ScoresFloat16]) {
    const path = sideFilePathFor(base, kind);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `${shard}: no score side file (looked for ${sideFilePathFor(base, SideFileKind.ScoresUint8)} and .scores16.side); ` +
      'run `tokenfilter score` first or pass --scores DIR',
  );
}

function readScores(shard: string, tokens: number, options: FilterShardsOptions): { file: SideFile; scores: TokenScores } {
  const path = scoreFileFor(shard, options.scoresDir);
  const file = readSideFile(path, { expectTokens: tokens, expectTokenizer: options.expectTokenizer });
  if (file.header.kind !== SideFileKind.ScoresUint8 && file.header.kind !== SideFileKind.ScoresFloat16)
    throw new Error(`${path}: expected a score side file`);
  // float16 scores are decoded to float32 probabilities (exact)
  const scores: TokenScores =
    file.header.kind === SideFileKind.ScoresUint8 ? (file.values as Uint8Array) : decodeFloat16(file.values);
  return { file, scores };
}

/** The threshold every task derives for `fraction`, from all shards' scores. */
function globalThreshold(shards: readonly string[], options: FilterShardsOptions): number {
  const fraction = options.fraction!;
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be in [0, 1], got ${fraction}`);
  const histogram = new ScoreHistogram();
  for (const shard of shards) {
    if (options.mode === 'document') {
      const { tokens, header } = readShard(shard, { expectTokenizer: options.expectTokenizer });
      const { scores } = readScores(shard, tokens.length, options);
      const ends = documentEnds(Uint32Array.from(tokens), header.tokenizer.eotId);
      const means = meanDocumentScores(scores, ends);
      for (let d = 0; d < ends.length; d++) histogram.addWeighted(means[d], ends[d] - (d === 0 ? 0 : ends[d - 1]));
    } else {
      const path = scoreFileFor(shard, options.scoresDir);
      const file = readSideFile(path, { expectTokenizer: options.expectTokenizer });
      histogram.add(file.header.kind === SideFileKind.ScoresUint8 ? (file.values as Uint8Array) : { float16Bits: file.values as Uint16Array });
    }
  }
  return histogram.thresholdForFraction(fraction);
}

async function filterOneShard(
  input: string,
  settings: ShardFilterRecord['settings'],
  options: FilterShardsOptions,
): Promise<ShardFilterRecord> {
  const shard = readShard(input, { expectTokenizer: options.expectTokenizer });
  const contract = recordedTokenizer(shard.header.tokenizer, input);
  const { file, scores } = readScores(input, shard.tokens.length, options);
  const tokens = shard.tokens instanceof Uint32Array ? shard.tokens : Uint32Array.from(shard.tokens);
  const filtered = filterTokens(tokens, scores, {
    mode: settings.mode,
    // a threshold above every score (a global fraction of 0) flags nothing, as fraction 0 does
    ...(Number.isFinite(settings.threshold) ? { threshold: settings.threshold } : { fraction: 0 }),
    eotId: contract.eotId,
    ...(settings.mode === 'remove' ? { hiddenId: contract.hiddenId } : {}),
  });
  const outShard = join(options.out, `${stem(input)}.bin`);
  const outMask = sideFilePathFor(outShard, SideFileKind.LossMask);
  await writeShard(outShard, filtered.tokens, { tokenizer: contract, version: shard.header.version });
  await writeSideFile(outMask, filtered.lossMask, { kind: SideFileKind.LossMask, tokenizer: contract });
  const outputs = [];
  for (const path of [outShard, outMask]) outputs.push({ path: basename(path), bytes: (await stat(path)).size, sha256: await sha256(path) });
  return { input, scores: file.path, settings, outputs, stats: filtered.stats };
}

/** The tokenizer contract recorded in a shard, as a contract for the outputs. */
function recordedTokenizer(recorded: RecordedContract, file: string): TokenizerContract {
  if (recorded.vocabSize === 0)
    throw new Error(`${file}: the shard records no tokenizer (eot / hidden ids unknown); rewrite it with \`tokenfilter tokenize\``);
  return { vocabSize: recorded.vocabSize, eotId: recorded.eotId, hiddenId: recorded.hiddenId, hash: recorded.hashPrefix };
}

/**
 * The record of a shard done with the same settings whose outputs are all present with their
 * recorded sizes, else null. (Checksums are recorded for audits, not re-read on every restart.)
 */
async function finishedRecord(path: string, input: string, settings: ShardFilterRecord['settings']): Promise<ShardFilterRecord | null> {
  if (!existsSync(path)) return null;
  let record: ShardFilterRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as ShardFilterRecord;
  } catch {
    return null;
  }
  if (record.input !== input || JSON.stringify(record.settings) !== JSON.stringify(settings)) return null;
  const dir = join(path, '..');
  for (const o of record.outputs ?? []) {
    const file = join(dir, o.path);
    if (!existsSync(file) || (await stat(file)).size !== o.bytes) return null;
  }
  return record;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}
