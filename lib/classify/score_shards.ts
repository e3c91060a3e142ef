/**
 * The scoring stage over a corpus of token shards: for each shard, split it into documents at
 * end-of-text, score every token with a {@link TokenClassifier} (long documents in overlapping
 * windows, so nothing is cut), and write a uint8 score side file that `filterShards` (and
 * `tokenfilter filter --scores DIR`) reads. End-of-text tokens get score 0.
 *
 * Resumable and splittable like the filter stage: task I of N takes the shards whose position
 * in the sorted input list is ≡ I (mod N); each finished shard gets `<name>.score.json` (SHA-256
 * of the shard and the classifier, output size and SHA-256, statistics), written last and
 * atomically. A rerun skips a shard only when its record verifies (lib/data/shard_record.ts) and
 * redoes the rest, removing a killed run's temporary files first. A task's summary goes to
 * `manifest.score.task-I-of-N.json`. The output folder may not hold an input under a name this
 * stage writes (E_OUTPUT_PATH).
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { basename, join } from 'node:path';
import { removeTemporaries, writeFileAtomic } from '../data/atomic_file.js';
import { checkOutputPaths, makeFolder } from '../data/output_path.js';
import { digestFile, digestOutputs, prepareRedo, verifiedRecord, type ShardRecordCore } from '../data/shard_record.js';
import { readShard } from '../data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../data/side_file.js';
import { shardDocuments } from './labels.js';
import { describeScoreMethod, type ScoreMethod } from './score_method.js';
import { TokenClassifier } from './token_classifier.js';
import type { DeviceOptions } from '../device.js';
import { TokenfilterError } from '../errors.js';

/** Options of {@link scoreShards}. */
export interface ScoreShardsOptions {
  shards: readonly string[];
  /** Path of the token classifier file (loaded once). */
  classifier: string;
  /** Output folder for score side files, records and the manifest (created if missing). */
  out: string;
  /** This task's index and the number of tasks (default 0 of 1). */
  task?: { index: number; count: number };
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
  /** Documents longer than the biLM's context, read in overlapping windows. */
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
 * see lib/data/shard_record.ts.
 */
export interface ShardScoreRecord extends ShardRecordCore<ScoreSettings> {
  input: string;
  classifier: { path: string; sha256: string };
  /** What the scores are: the classifier's scoring method (raw probe, smoothed or segmented; score_method.ts) and its short name. */
  scoring: { method: ScoreMethod; name: string };
  stats: ShardScoreStats;
}

/** What shapes a score file besides its inputs (recorded so a change redoes the shard). */
export interface ScoreSettings {
  kind: 'scores8';
}

/** What one task did. */
export interface ScoreShardsResult {
  task: { index: number; count: number };
  processed: ShardScoreRecord[];
  skipped: string[];
  tokens: number;
  windowedDocuments: number;
  cutTokens: number;
  manifest: string;
}

/** Runs one task of the scoring stage; see the module comment. */
export async function scoreShards(options: ScoreShardsOptions): Promise<ScoreShardsResult> {
  const task = options.task ?? { index: 0, count: 1 };
  if (!Number.isInteger(task.count) || task.count < 1 || !Number.isInteger(task.index) || task.index < 0 || task.index >= task.count)
    throw new RangeError(`task must be {index, count} with 0 <= index < count, got ${task.index}/${task.count}`);
  if (!Array.isArray(options.shards) || options.shards.length === 0) throw new RangeError('shards must be a non-empty array of paths');
  const all = [...new Set(options.shards)].sort();
  const names = new Set<string>();
  for (const s of all) {
    if (names.has(basename(s))) throw new TokenfilterError('E_OPTION', `two input shards share the name '${basename(s)}'; outputs are named by input`, { path: s });
    names.add(basename(s));
  }
  const perCall = options.documentsPerCall ?? 64;
  if (!Number.isInteger(perCall) || perCall < 1) throw new RangeError(`documentsPerCall must be a positive integer, got ${perCall}`);
  await checkOutputPaths(
    [{ folder: options.out, role: 'out', writes: (name) => name.endsWith('.scores8.side') || name.endsWith('.score.json') || name.startsWith('manifest.score.') }],
    [...all.map((path) => ({ path, role: 'input shard' })), { path: options.classifier, role: 'classifier' }],
  );
  const classifier = await TokenClassifier.load(options.classifier, options.device);
  const classifierDigest = await digestFile(options.classifier);
  const identity = { path: options.classifier, sha256: classifierDigest.sha256 };
  const settings: ScoreSettings = { kind: 'scores8' };
  await makeFolder(options.out, 'out');
  const mine = all.filter((_, i) => i % task.count === task.index);
  const result: ScoreShardsResult = {
    task, processed: [], skipped: [], tokens: 0, windowedDocuments: 0, cutTokens: 0,
    manifest: join(options.out, `manifest.score.task-${task.index}-of-${task.count}.json`),
  };
  for (const [k, input] of mine.entries()) {
    const recordPath = join(options.out, `${stem(input)}.score.json`);
    const inputs = [await digestFile(input), classifierDigest];
    let record = await verifiedRecord<ShardScoreRecord>(recordPath, { inputs, settings });
    if (record) {
      result.skipped.push(input);
      options.onProgress?.({ shard: input, done: k, total: mine.length, tokens: record.stats.tokens, shardTokens: record.stats.tokens, skipped: true });
    } else {
      await prepareRedo(recordPath, [scoreOutputOf(input, options.out)]);
      record = await scoreOneShard(input, classifier, { inputs, settings, classifier: identity }, options, perCall, (tokens, shardTokens) =>
        options.onProgress?.({ shard: input, done: k, total: mine.length, tokens, shardTokens, skipped: false }));
      await writeFileAtomic(recordPath, JSON.stringify(record, null, 2) + '\n');
      result.processed.push(record);
    }
    result.tokens += record.stats.tokens;
    result.windowedDocuments += record.stats.windowedDocuments;
    result.cutTokens += record.stats.cutTokens;
  }
  await removeTemporaries(result.manifest);
  await writeFileAtomic(
    result.manifest,
    // `inputs` (every task's sorted input list) lets `tokenfilter summary` name the shards of tasks that never ran
    JSON.stringify({ ...result, processed: result.processed.map((r) => r.input), shards: mine, inputs: all, classifier: identity }, null, 2) + '\n',
  );
  return result;
}

/** The score side file written for `input`. */
function scoreOutputOf(input: string, out: string): string {
  return sideFilePathFor(join(out, basename(input)), SideFileKind.ScoresUint8);
}

function stem(path: string): string {
  const name = basename(path);
  return name.endsWith('.bin') ? name.slice(0, -4) : name;
}

async function scoreOneShard(
  input: string,
  classifier: TokenClassifier,
  recorded: Pick<ShardScoreRecord, 'inputs' | 'settings' | 'classifier'>,
  options: ScoreShardsOptions,
  perCall: number,
  progress: (tokens: number, shardTokens: number) => void,
): Promise<ShardScoreRecord> {
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
    throwIfAborted(options.signal, 'scoring');
    const part = documents.slice(first, first + perCall);
    const probabilities = await classifier.scoreDocuments(part.map((d) => d.tokens), { signal: options.signal });
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
    input,
    ...recorded,
    outputs: await digestOutputs([output]),
    scoring: { method: classifier.method, name: describeScoreMethod(classifier.method) },
    stats: {
      tokens: tokens.length,
      documents: documents.length,
      windowedDocuments: documents.filter((d) => d.tokens.length > context).length,
      cutTokens: 0,
      meanScore: scored > 0 ? sum / scored : 0,
      seconds: (performance.now() - started) / 1000,
    },
  };
}
