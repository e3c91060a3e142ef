/**
 * The filter stage over a corpus of token shards: for each input shard, read its score side
 * file, apply {@link filterTokens}, and write a filtered shard plus a loss-mask side file that
 * the batch sampler consumes directly.
 *
 * Built to run as many independent tasks (a Slurm job array, a Kubernetes Indexed Job) through
 * the shard runner (lib/stages/shard_runner.ts): task I of N takes every N-th shard, each
 * finished shard gets a record `<name>.filter.json` (SHA-256 of the shard and its score file,
 * the settings, output sizes and SHA-256, statistics), a rerun redoes only what does not verify,
 * and a task's summary goes to `manifest.task-I-of-N.json`. The output folder may not hold an
 * input under a name this stage writes (E_OUTPUT_PATH), and every score file must record its
 * shard's tokenizer (E_TOKENIZER_MISMATCH).
 *
 * Separators (`<|endoftext|>`) are never flagged in the token modes (see {@link filterTokens}).
 *
 * Thresholds given as a fraction are global: every task reads all the score side files (one
 * byte or two per token) into a {@link ScoreHistogram} and derives the same threshold, so no
 * coordination is needed.
 * @module
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ShardRecordCore } from '../stages/shard_record.js';
import { checkShardTask, runShards, shardStem, type ShardStage, type ShardTask } from '../stages/shard_runner.js';
import { TokenfilterError, CodedRangeError } from '../errors.js';
import { decodeFloat16 } from '../data/float16.js';
import { readShard, shardVersionFor, writeShard, type Shard } from '../data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor, writeSideFile, type SideFile } from '../data/side_file.js';
import type { RecordedContract, TokenizerContract } from '../data/tokenizer_contract.js';
import { documentEnds, filterTokens, meanDocumentScores, zeroAtSeparators, type FilterMode, type FilterStats } from './filter_tokens.js';
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
  task?: ShardTask;
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

/** The settings that shape a filtered shard; a rerun with other settings redoes the shard. */
export interface FilterSettings {
  mode: FilterMode;
  threshold: number;
  fraction: number | null;
}

/**
 * The record of one finished shard (`<name>.filter.json`): the SHA-256 of the shard and its
 * score file (`inputs`), the settings, and the outputs' sizes and SHA-256; see lib/stages/shard_record.ts.
 */
export interface ShardFilterRecord extends ShardRecordCore<FilterSettings> {
  input: string;
  scores: string;
  stats: FilterStats;
}

/** What one task did. */
export interface FilterShardsResult {
  task: ShardTask;
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

/** The fields a filter record adds to the runner's (lib/stages/shard_runner.ts). */
type FilterFields = Pick<ShardFilterRecord, 'scores' | 'stats'>;

/** The filter stage as the shard runner runs it; `prepare` derives the (global) threshold. */
function filterStage(options: FilterShardsOptions): ShardStage<FilterFields, FilterSettings> {
  let settings: FilterSettings;
  return {
    name: 'filter',
    // the name filter manifests had before the runner; `tokenfilter summary` reads it
    manifestPrefix: 'manifest.',
    outputs: (input) => filterOutputsOf(input, options.out),
    inputs: (input) => [scoreFileFor(input, options.scoresDir)],
    guards: (shards) =>
      shards.flatMap((path) => SCORE_KINDS.map((kind) => ({ path: sideFilePathFor(options.scoresDir ? join(options.scoresDir, basename(path)) : path, kind), role: 'score file' }))),
    async prepare(shards) {
      const threshold = options.threshold ?? globalThreshold(shards, options);
      settings = { mode: options.mode, threshold, fraction: options.fraction ?? null };
      return settings;
    },
    run: (shard) => filterOneShard(shard.path, settings, options),
    trusts: (record) => typeof record.stats?.tokens === 'number' && typeof record.stats.flaggedTokens === 'number',
    manifest: (records) => ({ threshold: settings.threshold, ...filterTotals(records) }),
  };
}

function filterTotals(records: readonly ShardFilterRecord[]): Pick<FilterShardsResult, 'tokens' | 'flaggedTokens' | 'supervisedTokens' | 'documentsDropped'> {
  const sum = (key: 'tokens' | 'flaggedTokens' | 'supervisedTokens' | 'documentsDropped') => records.reduce((n, r) => n + r.stats[key], 0);
  return { tokens: sum('tokens'), flaggedTokens: sum('flaggedTokens'), supervisedTokens: sum('supervisedTokens'), documentsDropped: sum('documentsDropped') };
}

/** Runs one task of the filter stage; see the module comment. */
export async function filterShards(options: FilterShardsOptions): Promise<FilterShardsResult> {
  if (options.task !== undefined) checkShardTask(options.task);
  if ((options.threshold === undefined) === (options.fraction === undefined))
    throw new TokenfilterError('E_OPTION', 'give exactly one of threshold and fraction');
  const run = await runShards(filterStage(options), {
    shards: options.shards, out: options.out, task: options.task, signal: options.signal,
    onShard: (e) => options.onProgress?.({ shard: e.shard, done: e.done, total: e.total, skipped: e.skipped, tokens: e.record.stats.tokens }),
  });
  return { task: run.task, threshold: run.settings.threshold, processed: run.processed, skipped: run.skipped, ...filterTotals(run.records), manifest: run.manifest };
}

/** The filtered shard and loss mask written for `input`. */
function filterOutputsOf(input: string, out: string): [string, string] {
  const shard = join(out, `${shardStem(input)}.bin`);
  return [shard, sideFilePathFor(shard, SideFileKind.LossMask)];
}

/** Score side-file kinds, in the order they are looked for. */
const SCORE_KINDS = [SideFileKind.ScoresUint8, SideFileKind.ScoresFloat16] as const;

/** The score side file of a shard: in scoresDir or beside it, uint8 preferred over float16. */
export function scoreFileFor(shard: string, scoresDir?: string): string {
  const base = scoresDir ? join(scoresDir, basename(shard)) : shard;
  for (const kind of SCORE_KINDS) {
    const path = sideFilePathFor(base, kind);
    if (existsSync(path)) return path;
  }
  throw new TokenfilterError(
    'E_MISMATCH',
    `${shard}: no score side file (looked for ${sideFilePathFor(base, SideFileKind.ScoresUint8)} and .scores16.side); ` +
      'run `tokenfilter score` first or pass --scores DIR',
    { path: shard },
  );
}

/** A shard's score side file, checked against the shard: same token count, same tokenizer, a score kind. */
function readScores(shard: Shard, shardPath: string, options: FilterShardsOptions): { file: SideFile; scores: TokenScores } {
  const path = scoreFileFor(shardPath, options.scoresDir);
  const file = readSideFile(path, {
    expectTokens: shard.tokens.length,
    expectTokenizer: options.expectTokenizer,
    shard: { path: shardPath, tokenizer: shard.header.tokenizer },
  });
  if (file.header.kind !== SideFileKind.ScoresUint8 && file.header.kind !== SideFileKind.ScoresFloat16)
    throw new TokenfilterError('E_MISMATCH', `${path}: expected a score side file, found side-file kind ${file.header.kind}`, { path });
  // float16 scores are decoded to float32 probabilities (exact)
  const scores: TokenScores =
    file.header.kind === SideFileKind.ScoresUint8 ? (file.values as Uint8Array) : decodeFloat16(file.values);
  return { file, scores };
}

/**
 * The threshold every task derives for `fraction`, from all shards' scores.
 * @throws TokenfilterError E_MISMATCH when token modes meet both uint8 and float16 score files
 *   (their levels are not comparable in one exact histogram).
 */
function globalThreshold(shards: readonly string[], options: FilterShardsOptions): number {
  const fraction = options.fraction!;
  if (!(fraction >= 0 && fraction <= 1)) throw new CodedRangeError(`fraction must be in [0, 1], got ${fraction}`);
  const histogram = new ScoreHistogram();
  let firstKind: { kind: SideFileKind; path: string } | null = null;
  for (const path of shards) {
    const shard = readShard(path, { expectTokenizer: options.expectTokenizer });
    const { file, scores } = readScores(shard, path, options);
    const tokens = shard.tokens instanceof Uint32Array ? shard.tokens : Uint32Array.from(shard.tokens);
    const eot = shard.header.tokenizer.eotId;
    if (options.mode === 'document') {
      const ends = documentEnds(tokens, eot);
      const means = meanDocumentScores(scores, ends);
      for (let d = 0; d < ends.length; d++) histogram.addWeighted(means[d], ends[d] - (d === 0 ? 0 : ends[d - 1]));
      continue;
    }
    firstKind ??= { kind: file.header.kind, path: file.path };
    if (file.header.kind !== firstKind.kind)
      throw new TokenfilterError(
        'E_MISMATCH',
        `a fraction threshold needs score files of one encoding: ${firstKind.path} holds ${kindName(firstKind.kind)}, ` +
          `${file.path} holds ${kindName(file.header.kind)}; rescore them alike or give a threshold instead`,
        { path: file.path },
      );
    // separators are never flagged in token modes: they count as score 0 here
    const values = zeroAtSeparators(file.values, tokens, eot);
    histogram.add(file.header.kind === SideFileKind.ScoresUint8 ? (values as Uint8Array) : { float16Bits: values as Uint16Array });
  }
  return histogram.thresholdForFraction(fraction);
}

function kindName(kind: SideFileKind): string {
  return kind === SideFileKind.ScoresUint8 ? 'uint8 scores (scores8)' : 'float16 scores (scores16)';
}

async function filterOneShard(input: string, settings: FilterSettings, options: FilterShardsOptions): Promise<FilterFields> {
  const shard = readShard(input, { expectTokenizer: options.expectTokenizer });
  const contract = recordedTokenizer(shard.header.tokenizer, input);
  const { file, scores } = readScores(shard, input, options);
  const tokens = shard.tokens instanceof Uint32Array ? shard.tokens : Uint32Array.from(shard.tokens);
  const filtered = filterTokens(tokens, scores, {
    mode: settings.mode,
    // a threshold above every score (a global fraction of 0) flags nothing, as fraction 0 does
    ...(Number.isFinite(settings.threshold) ? { threshold: settings.threshold } : { fraction: 0 }),
    eotId: contract.eotId,
    ...(settings.mode === 'remove' ? { hiddenId: contract.hiddenId } : {}),
  });
  const [outShard, outMask] = filterOutputsOf(input, options.out);
  await writeShard(outShard, filtered.tokens, { tokenizer: contract, version: shardVersionFor(shard.header.tokenBytes) });
  await writeSideFile(outMask, filtered.lossMask, { kind: SideFileKind.LossMask, tokenizer: contract });
  return { scores: file.path, stats: filtered.stats };
}

/** The tokenizer contract recorded in a shard, as a contract for the outputs. */
function recordedTokenizer(recorded: RecordedContract, file: string): TokenizerContract {
  if (recorded.vocabSize === 0)
    throw new TokenfilterError(
      'E_TOKENIZER_MISMATCH',
      `${file}: the shard records no tokenizer (eot / hidden ids unknown); rewrite it with \`tokenfilter tokenize\``,
      { path: file },
    );
  return { vocabSize: recorded.vocabSize, eotId: recorded.eotId, hiddenId: recorded.hiddenId, hash: recorded.hashPrefix };
}
