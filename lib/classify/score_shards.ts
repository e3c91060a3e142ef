/**
 * The scoring stage over a corpus of token shards: for each shard, split it into documents at
 * end-of-text, score every token with a {@link TokenClassifier} (long documents in overlapping
 * windows, so nothing is cut), and write a uint8 score side file that `filterShards` (and
 * `tokenfilter filter --scores DIR`) reads. End-of-text tokens get score 0.
 *
 * Resumable and splittable like the filter stage: task I of N takes the shards whose position
 * in the sorted input list is ≡ I (mod N); each finished shard gets `<name>.score.json` (input,
 * classifier checksum, output size and SHA-256, statistics), written last and atomically, so a
 * rerun skips exactly the shards already done. A task's summary goes to
 * `manifest.score.task-I-of-N.json`.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readShard } from '../data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../data/side_file.js';
import { shardDocuments } from './labels.js';
import { fileSha256 } from './probe_file.js';
import { describeScoreMethod, type ScoreMethod } from './score_method.js';
import { TokenClassifier } from './token_classifier.js';

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

/** The record of one finished shard (`<name>.score.json`). */
export interface ShardScoreRecord {
  input: string;
  classifier: { path: string; sha256: string };
  output: { path: string; bytes: number; sha256: string };
  /** What the scores are: the classifier's scoring method (raw probe, smoothed or segmented; score_method.ts) and its short name. */
  scoring: { method: ScoreMethod; name: string };
  stats: ShardScoreStats;
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
    if (names.has(basename(s))) throw new RangeError(`two input shards share the name '${basename(s)}'; outputs are named by input`);
    names.add(basename(s));
  }
  const perCall = options.documentsPerCall ?? 64;
  if (!Number.isInteger(perCall) || perCall < 1) throw new RangeError(`documentsPerCall must be a positive integer, got ${perCall}`);
  const classifier = await TokenClassifier.load(options.classifier);
  const identity = { path: options.classifier, sha256: await fileSha256(options.classifier) };
  await mkdir(options.out, { recursive: true });
  const mine = all.filter((_, i) => i % task.count === task.index);
  const result: ScoreShardsResult = {
    task, processed: [], skipped: [], tokens: 0, windowedDocuments: 0, cutTokens: 0,
    manifest: join(options.out, `manifest.score.task-${task.index}-of-${task.count}.json`),
  };
  for (const [k, input] of mine.entries()) {
    const recordPath = join(options.out, `${stem(input)}.score.json`);
    let record = await finishedRecord(recordPath, input, identity.sha256);
    if (record) {
      result.skipped.push(input);
      options.onProgress?.({ shard: input, done: k, total: mine.length, tokens: record.stats.tokens, shardTokens: record.stats.tokens, skipped: true });
    } else {
      record = await scoreOneShard(input, classifier, identity, options, perCall, (tokens, shardTokens) =>
        options.onProgress?.({ shard: input, done: k, total: mine.length, tokens, shardTokens, skipped: false }));
      await writeAtomic(recordPath, JSON.stringify(record, null, 2) + '\n');
      result.processed.push(record);
    }
    result.tokens += record.stats.tokens;
    result.windowedDocuments += record.stats.windowedDocuments;
    result.cutTokens += record.stats.cutTokens;
  }
  await writeAtomic(
    result.manifest,
    JSON.stringify({ ...result, processed: result.processed.map((r) => r.input), shards: mine, classifier: identity }, null, 2) + '\n',
  );
  return result;
}

function stem(path: string): string {
  const name = basename(path);
  return name.endsWith('.bin') ? name.slice(0, -4) : name;
}

async function scoreOneShard(
  input: string,
  classifier: TokenClassifier,
  identity: ShardScoreRecord['classifier'],
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
  const output = sideFilePathFor(join(options.out, basename(input)), SideFileKind.ScoresUint8);
  await writeSideFile(output, scores, { kind: SideFileKind.ScoresUint8, tokenizer });
  return {
    input,
    classifier: identity,
    output: { path: basename(output), bytes: (await stat(output)).size, sha256: await fileSha256(output) },
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

/** The record of a shard scored by the same classifier whose output is present with its recorded size, else null. */
async function finishedRecord(path: string, input: string, classifierSha: string): Promise<ShardScoreRecord | null> {
  if (!existsSync(path)) return null;
  let record: ShardScoreRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as ShardScoreRecord;
  } catch {
    return null;
  }
  if (record.input !== input || record.classifier?.sha256 !== classifierSha) return null;
  const file = join(path, '..', record.output.path);
  if (!existsSync(file) || (await stat(file)).size !== record.output.bytes) return null;
  return record;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}
