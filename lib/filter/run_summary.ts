/**
 * `summarizeRun(dir)`: one report over the per-task manifests and per-shard records that the
 * shard runner (lib/stages/shard_runner.ts) leaves in an output folder for `label`
 * (`manifest.label.task-I-of-N.json`, `<name>.label.json`), `score`
 * (`manifest.score.task-I-of-N.json`, `<name>.score.json`) and `filter`
 * (`manifest.task-I-of-N.json`, `<name>.filter.json`) — which tasks are done, missing or
 * failed, which shards they still owe, and the totals (labelled share, flagged share,
 * per-label counts where records have them, mean score).
 *
 * It reads JSON only (no shard is opened or rehashed: that is what a rerun's verification does).
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TokenfilterError } from '../errors.js';
import { shardRecordPath } from '../stages/shard_runner.js';
import type { LabelStats } from './filter_tokens.js';

/** The stages that write task manifests. */
export type RunStage = 'label' | 'score' | 'filter';

/** One task of a stage. */
export interface TaskSummary {
  task: number;
  /**
   * `done`: its manifest is present and every shard it owns has a record made with the run's
   * settings. `missing`: no manifest and none of its shards has a record (it never ran, or ran
   * nothing). `failed`: anything between — no manifest but some shards finished (killed or
   * failed part way), or a manifest whose shards' records are absent or from other settings.
   */
  status: 'done' | 'missing' | 'failed';
  /** The inputs this task owns (position in the sorted input list ≡ task mod N). */
  shards: string[];
  /** How many of them have a record made with the run's settings. */
  shardsDone: number;
  /** The inputs it owns that have no such record. */
  shardsMissing: string[];
  /** Why a task is `failed`. */
  reason?: string;
}

/** The report for one stage. */
export interface StageSummary {
  stage: RunStage;
  /** N of `--shard I/N`. */
  taskCount: number;
  tasks: TaskSummary[];
  complete: boolean;
  shards: { total: number; done: number; missing: number };
  /** Tokens of the finished shards. */
  tokens: number;
  /** filter: tokens no longer learned from, and their share of `tokens`. */
  flaggedTokens?: number;
  flaggedShare?: number;
  documentsDropped?: number;
  /** filter: per label name, summed over the records that carry per-label counts. */
  perLabel?: Record<string, LabelStats>;
  /** score: the token-weighted mean score of the finished shards. */
  meanScore?: number;
  /** label: tokens labelled (1 = forget), and their share of `tokens`. */
  labelledTokens?: number;
  labelledShare?: number;
  /** The settings the run's records are compared with (label: the rule and statistics; filter: mode, threshold; score: classifier). */
  settings: unknown;
}

/** The report for a folder: one entry per stage that left manifests there. */
export interface RunSummary {
  dir: string;
  stages: StageSummary[];
  complete: boolean;
}

const MANIFEST = {
  label: /^manifest\.label\.task-(\d+)-of-(\d+)\.json$/,
  score: /^manifest\.score\.task-(\d+)-of-(\d+)\.json$/,
  filter: /^manifest\.task-(\d+)-of-(\d+)\.json$/,
} as const;

interface Manifest {
  task: { index: number; count: number };
  shards: string[];
  inputs?: string[];
  settings?: unknown;
  classifier?: { sha256: string };
}

interface ShardRecord {
  input: string;
  settings?: unknown;
  classifier?: { sha256: string };
  stats: { tokens: number; flaggedTokens?: number; documentsDropped?: number; perLabel?: Record<string, LabelStats>; meanScore?: number; labelled?: number };
}

/** A label record keeps its counts at the top level; the others under `stats`. */
function withStats(stage: RunStage, record: ShardRecord & { tokens?: unknown; labelled?: unknown }): ShardRecord {
  if (stage !== 'label' || record === null || typeof record !== 'object') return record;
  return { ...record, stats: { tokens: record.tokens as number, labelled: record.labelled as number } };
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw new TokenfilterError('E_FILE_FORMAT', `${path}: not a readable JSON manifest or record (${(error as Error).message})`, { path, cause: error });
  }
}

/** What a stage's records are compared with: the label or filter settings, or the classifier's hash. */
function identity(stage: RunStage, item: { settings?: unknown; classifier?: { sha256: string } }): string {
  return JSON.stringify(stage === 'score' ? item.classifier?.sha256 ?? null : item.settings ?? null);
}

/** The manifests of one stage, by task; all must agree on N. */
async function readManifests(dir: string, names: string[], stage: RunStage): Promise<Map<number, Manifest> | null> {
  const found = names.map((name) => ({ name, m: MANIFEST[stage].exec(name) })).filter((x) => x.m !== null);
  if (found.length === 0) return null;
  const counts = [...new Set(found.map((x) => Number(x.m![2])))];
  if (counts.length > 1)
    throw new TokenfilterError('E_MISMATCH', `${dir}: ${stage} manifests of runs split ${counts.join(' and ')} ways; remove the stale ones`, { path: dir });
  const manifests = new Map<number, Manifest>();
  for (const { name, m } of found) {
    const manifest = await readJson<Manifest>(join(dir, name));
    if (!Array.isArray(manifest?.shards) || manifest.task?.index !== Number(m![1]))
      throw new TokenfilterError('E_FILE_FORMAT', `${join(dir, name)}: not a ${stage} task manifest`, { path: join(dir, name) });
    manifests.set(Number(m![1]), manifest);
  }
  return manifests;
}

/** Reads the records of `inputs` that were made with `reference` settings (others count as not done). */
async function readRecords(dir: string, names: Set<string>, stage: RunStage, inputs: string[], reference: string): Promise<Map<string, ShardRecord>> {
  const records = new Map<string, ShardRecord>();
  for (const input of inputs) {
    const name = basename(shardRecordPath(dir, input, stage));
    if (!names.has(name)) continue;
    const record = withStats(stage, await readJson<ShardRecord>(join(dir, name)));
    if (record?.input === input && identity(stage, record) === reference && typeof record.stats?.tokens === 'number') records.set(input, record);
  }
  return records;
}

/** Each task's status from its manifest (if any) and its shards' records. */
function taskStatus(task: number, shards: string[], manifest: Manifest | undefined, records: Map<string, ShardRecord>, reference: string, stage: RunStage): TaskSummary {
  const shardsMissing = shards.filter((s) => !records.has(s));
  const base = { task, shards, shardsDone: shards.length - shardsMissing.length, shardsMissing };
  if (manifest === undefined) {
    if (base.shardsDone === 0) return { ...base, status: 'missing' };
    return { ...base, status: 'failed', reason: `no manifest, but ${base.shardsDone} of ${shards.length} shards finished: stopped part way` };
  }
  if (identity(stage, manifest) !== reference) return { ...base, status: 'failed', reason: 'its manifest records other settings than the run' };
  if (shardsMissing.length > 0)
    return { ...base, status: 'failed', reason: `manifest present, but ${shardsMissing.length} of its shards have no record with the run's settings` };
  return { ...base, status: 'done' };
}

/** Sums the finished shards' statistics. */
function totals(stage: RunStage, records: ShardRecord[]): Pick<StageSummary, 'tokens' | 'flaggedTokens' | 'flaggedShare' | 'documentsDropped' | 'perLabel' | 'meanScore' | 'labelledTokens' | 'labelledShare'> {
  const tokens = records.reduce((n, r) => n + r.stats.tokens, 0);
  if (stage === 'label') {
    const labelledTokens = records.reduce((n, r) => n + (r.stats.labelled ?? 0), 0);
    return { tokens, labelledTokens, labelledShare: tokens ? labelledTokens / tokens : 0 };
  }
  if (stage === 'score') {
    const weighted = records.reduce((n, r) => n + (r.stats.meanScore ?? 0) * r.stats.tokens, 0);
    return { tokens, meanScore: tokens ? weighted / tokens : 0 };
  }
  const flaggedTokens = records.reduce((n, r) => n + (r.stats.flaggedTokens ?? 0), 0);
  const documentsDropped = records.reduce((n, r) => n + (r.stats.documentsDropped ?? 0), 0);
  let perLabel: Record<string, LabelStats> | undefined;
  for (const r of records) {
    for (const [label, s] of Object.entries(r.stats.perLabel ?? {})) {
      perLabel ??= {};
      const sum = (perLabel[label] ??= { tokens: 0, filtered: 0 });
      sum.tokens += s.tokens;
      sum.filtered += s.filtered;
    }
  }
  return { tokens, flaggedTokens, flaggedShare: tokens ? flaggedTokens / tokens : 0, documentsDropped, ...(perLabel ? { perLabel } : {}) };
}

/** The report for one stage, or null when the folder holds none of its manifests. */
async function summarizeStage(dir: string, names: string[], stage: RunStage): Promise<StageSummary | null> {
  const manifests = await readManifests(dir, names, stage);
  if (manifests === null) return null;
  const ordered = [...manifests.entries()].sort((a, b) => a[0] - b[0]);
  const [, first] = ordered[0];
  const taskCount = first.task.count;
  // every task's sorted input list; manifests older than this field give only their own shards
  const inputs = first.inputs ?? ordered.flatMap(([, m]) => m.shards).sort();
  const reference = identity(stage, first);
  const records = await readRecords(dir, new Set(names), stage, inputs, reference);
  const tasks: TaskSummary[] = [];
  for (let t = 0; t < taskCount; t++) {
    const shards = first.inputs ? inputs.filter((_, i) => i % taskCount === t) : (manifests.get(t)?.shards ?? []);
    tasks.push(taskStatus(t, shards, manifests.get(t), records, reference, stage));
  }
  const done = tasks.reduce((n, t) => n + t.shardsDone, 0);
  const total = tasks.reduce((n, t) => n + t.shards.length, 0);
  return {
    stage, taskCount, tasks, complete: tasks.every((t) => t.status === 'done'),
    shards: { total, done, missing: total - done },
    ...totals(stage, [...records.values()]),
    settings: stage === 'score' ? first.classifier : first.settings,
  };
}

/**
 * Merges the task manifests and shard records of `label`, `score` and `filter` in `dir` into one report.
 * @throws TokenfilterError E_IO when `dir` cannot be read, E_OPTION when it holds no task
 *   manifest, E_MISMATCH when one stage's manifests come from runs with different N,
 *   E_FILE_FORMAT for a manifest or record that is not valid JSON.
 */
export async function summarizeRun(dir: string): Promise<RunSummary> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    throw new TokenfilterError('E_IO', `${dir}: cannot read the folder (${(error as Error).message})`, { path: dir, cause: error });
  }
  const stages: StageSummary[] = [];
  for (const stage of ['label', 'score', 'filter'] as const) {
    const summary = await summarizeStage(dir, names, stage);
    if (summary) stages.push(summary);
  }
  if (stages.length === 0)
    throw new TokenfilterError('E_OPTION', `${dir}: no task manifests (manifest.task-I-of-N.json, manifest.score.task-I-of-N.json or manifest.label.task-I-of-N.json); is it the --out of label, score or filter?`, { path: dir });
  return { dir, stages, complete: stages.every((s) => s.complete) };
}
