/**
 * The scoring stage over a corpus of token shards: for each shard, split it into documents at
 * end-of-text, score every token with a {@link TokenClassifier} (long documents in overlapping
 * windows, so nothing is cut), and write a uint8 score side file that `filterShards` (and
 * `tokenfilter filter --scores DIR`) reads. End-of-text tokens get score 0.
 *
 * Runs through the shard runner (lib/stages/shard_runner.ts), which splits the shards across
 * tasks (I of N), resumes and records: each finished shard gets `<name>.score.json` (SHA-256 of
 * the shard and the classifier, output size and SHA-256, statistics), a task's summary goes to
 * `manifest.score.task-I-of-N.json`, and the output folder may not hold an input under a name
 * this stage writes (E_OUTPUT_PATH).
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { basename, join } from 'node:path';
import { digestFile, type ShardRecordCore } from '../stages/shard_record.js';
import { runShards, type ShardStage, type ShardTask } from '../stages/shard_runner.js';
import { readShard } from '../data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../data/side_file.js';
import { shardDocuments } from './labels.js';
import { describeScoreMethod, type ScoreMethod } from './score_method.js';
import { TokenClassifier } from './token_classifier.js';
import { planReading, type Reading } from './reading.js';
import { boundaryIds } from './segmentation.js';
import type { DeviceOptions } from '../device.js';
import { CodedRangeError } from '../errors.js';

/** Options of {@link scoreShards}. */
export interface ScoreShardsOptions {
  shards: readonly string[];
  /** Path of the token classifier file (loaded once). */
  classifier: string;
  /** Output folder for score side files, records and the manifest (created if missing). */
  out: string;
  /** This task's index and the number of tasks (default 0 of 1). */
  task?: ShardTask;
  /** Documents per feature call (default 64). */
  documentsPerCall?: number;
  /** Where the classifier's biLM runs (default TOKENFILTER_DEVICE, else 'cpu'); scores do not depend on it beyond rounding. */
  device?: DeviceOptions;
  /** Called as tokens are scored (`tokens` of `shardTokens` in shard `done + 1` of `total`). */
  onProgress?: (p: ScoreShardsProgress) => void;
  signal?: AbortSignal;
}

/** Progress of a task. */
export interface ScoreShardsProgress {
  shard: string;
  /** Shards of this task finished before this one. */
  done: number;
  total: number;
  /** Tokens of the current shard scored so far, and its size. */
  tokens: number;
  shardTokens: number;
  skipped: boolean;
}

/** Statistics of one scored shard. */
export interface ShardScoreStats {
  tokens: number;
  documents: number;
  /**
   * Documents read in overlapping windows: under the window reading those longer than the
   * biLM's context, under the sentence reading those with a sentence longer than it.
   */
  windowedDocuments: number;
  /** Tokens left without a score: always 0 (recorded so audits can check). */
  cutTokens: number;
  /** Mean score over document tokens. */
  meanScore: number;
  seconds: number;
}

/**
 * The record of one finished shard (`<name>.score.json`): SHA-256 of the shard and the
 * classifier (`inputs`), settings, the score file's size and SHA-256 (`outputs`) and statistics;
 * see lib/stages/shard_record.ts.
 */
export interface ShardScoreRecord extends ShardRecordCore<ScoreSettings> {
  input: string;
  classifier: { path: string; sha256: string };
  /**
   * What the scores are: the classifier's scoring method (raw probe, smoothed or segmented;
   * score_method.ts), its short name, how the biLM read the documents (reading.ts), and the
   * share of the probe's logit beside a lexicon (lexicon.ts; null: the probe alone).
   */
  scoring: { method: ScoreMethod; name: string; reading: Reading; lexicon: { probeWeight: number } | null };
  stats: ShardScoreStats;
}

/** What shapes a score file besides its inputs (recorded so a change redoes the shard). */
export interface ScoreSettings {
  kind: 'scores8';
}

/** What one task did. */
export interface ScoreShardsResult {
  task: ShardTask;
  processed: ShardScoreRecord[];
  skipped: string[];
  tokens: number;
  windowedDocuments: number;
  cutTokens: number;
  manifest: string;
}

/** The fields a score record adds to the runner's (lib/stages/shard_runner.ts). */
type ScoreFields = Omit<ShardScoreRecord, 'inputs' | 'settings' | 'outputs' | 'input'>;

/** The scoring stage as the shard runner runs it; the classifier is loaded by `prepare`. */
function scoreStage(options: ScoreShardsOptions, perCall: number): ShardStage<ScoreFields, ScoreSettings> {
  let classifier: TokenClassifier;
  let identity: { path: string; sha256: string };
  return {
    name: 'score',
    outputs: (input) => [scoreOutputOf(input, options.out)],
    inputs: () => [options.classifier],
    guards: () => [{ path: options.classifier, role: 'classifier' }],
    async prepare() {
      classifier = await TokenClassifier.load(options.classifier, options.device);
      identity = { path: options.classifier, sha256: (await digestFile(options.classifier)).sha256 };
      return { kind: 'scores8' };
    },
    run: (shard, signal) =>
      scoreOneShard(shard.path, classifier, identity, options, perCall, signal, (tokens, shardTokens) =>
        options.onProgress?.({ shard: shard.path, done: shard.index, total: shard.total, tokens, shardTokens, skipped: false })),
    trusts: (record) => typeof record.stats?.tokens === 'number' && typeof record.classifier?.sha256 === 'string',
    manifest: (records) => ({ ...scoreTotals(records), classifier: identity }),
  };
}

function scoreTotals(records: readonly ShardScoreRecord[]): Pick<ScoreShardsResult, 'tokens' | 'windowedDocuments' | 'cutTokens'> {
  const sum = (key: 'tokens' | 'windowedDocuments' | 'cutTokens') => records.reduce((n, r) => n + r.stats[key], 0);
  return { tokens: sum('tokens'), windowedDocuments: sum('windowedDocuments'), cutTokens: sum('cutTokens') };
}

/** Runs one task of the scoring stage; see the module comment. */
export async function scoreShards(options: ScoreShardsOptions): Promise<ScoreShardsResult> {
  const perCall = options.documentsPerCall ?? 64;
  if (!Number.isInteger(perCall) || perCall < 1) throw new CodedRangeError(`documentsPerCall must be a positive integer, got ${perCall}`);
  const run = await runShards(scoreStage(options, perCall), {
    shards: options.shards, out: options.out, task: options.task, signal: options.signal,
    onShard: (e) => {
      if (e.skipped) options.onProgress?.({ shard: e.shard, done: e.done - 1, total: e.total, tokens: e.record.stats.tokens, shardTokens: e.record.stats.tokens, skipped: true });
    },
  });
  return { task: run.task, processed: run.processed, skipped: run.skipped, ...scoreTotals(run.records), manifest: run.manifest };
}

/** The score side file written for `input`. */
function scoreOutputOf(input: string, out: string): string {
  return sideFilePathFor(join(out, basename(input)), SideFileKind.ScoresUint8);
}

async function scoreOneShard(
  input: string,
  classifier: TokenClassifier,
  identity: { path: string; sha256: string },
  options: ScoreShardsOptions,
  perCall: number,
  signal: AbortSignal | undefined,
  progress: (tokens: number, shardTokens: number) => void,
): Promise<ScoreFields> {
  const started = performance.now();
  const tokenizer = classifier.bilm.tokenizer;
  const shard = readShard(input, { expectTokenizer: tokenizer });
  const tokens = Uint32Array.from(shard.tokens);
  const scores = new Float32Array(tokens.length);
  const documents = shardDocuments(tokens, tokenizer.eotId);
  const context = classifier.bilm.forward.config.context;
  let scored = 0;
  let sum = 0;
  for (let first = 0; first < documents.length; first += perCall) {
    throwIfAborted(signal, 'scoring');
    const part = documents.slice(first, first + perCall);
    const probabilities = await classifier.scoreDocuments(part.map((d) => d.tokens), { signal });
    part.forEach((d, j) => {
      scores.set(probabilities[j], d.start);
      for (const p of probabilities[j]) sum += p;
      scored += d.tokens.length;
    });
    progress(part[part.length - 1].start + part[part.length - 1].tokens.length, tokens.length);
  }
  const output = scoreOutputOf(input, options.out);
  await writeSideFile(output, scores, { kind: SideFileKind.ScoresUint8, tokenizer });
  return {
    classifier: identity,
    scoring: {
      method: classifier.method, name: describeScoreMethod(classifier.method), reading: classifier.reading,
      lexicon: classifier.lexicon ? { probeWeight: classifier.lexicon.probeWeight } : null,
    },
    stats: {
      tokens: tokens.length,
      documents: documents.length,
      windowedDocuments: windowedDocuments(documents, context, classifier.reading, tokenizer),
      cutTokens: 0,
      meanScore: scored > 0 ? sum / scored : 0,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/** Documents the biLM reads in overlapping windows under `reading`: some piece keeps fewer positions than it reads. */
function windowedDocuments(documents: readonly { tokens: Uint32Array }[], context: number, reading: Reading, tokenizer: TokenClassifier['bilm']['tokenizer']): number {
  const table = reading === 'sentence' ? boundaryIds(tokenizer) : undefined;
  return documents.filter((d) => planReading(d.tokens, context, reading, table).some((p) => p.keepTo - p.keepFrom < p.length)).length;
}
