/**
 * The shard runner: the one loop behind every per-shard stage (label, score, filter, and any
 * stage added later; see docs/stages.md).
 *
 * A stage plugs in as a small {@link ShardStage} object: its name, the outputs it writes for a
 * shard, and `run(shard, signal)` that writes them (through lib/data/atomic_file.ts). The runner
 * owns everything around it:
 * - **task split**: task I of N takes the shards whose position in the sorted, de-duplicated
 *   input list is ≡ I (mod N) (`--shard I/N | auto/N` in the CLI, lib/cli/task_index.ts), so
 *   independent array-job tasks need no coordinator;
 * - **checks** before any work: task and input list valid, input names unique (outputs are
 *   named by input), no output would write over an input (E_OUTPUT_PATH);
 * - **records**: each finished shard gets `<stem>.<stage>.json` with the SHA-256 of its inputs,
 *   the stage's settings and the size and SHA-256 of its outputs (lib/stages/shard_record.ts),
 *   written last and atomically;
 * - **resume**: a rerun skips a shard only when its record verifies (inputs and outputs rehashed,
 *   settings equal, the outputs the stage writes now); any other shard is redone after its stale record, stale outputs and a
 *   killed run's temporary files are removed; a shard whose `run` fails has its outputs removed,
 *   so no partial or stale file is left under a final name;
 * - **a manifest per task**: `<prefix>task-I-of-N.json` (what `tokenfilter summary` reads),
 *   removed when the task starts and written when it ends, so it only stands for a finished task.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { basename, dirname, join, resolve } from 'node:path';
import { removeTemporaries, writeFileAtomic } from '../data/atomic_file.js';
import { checkOutputPaths, makeFolder, type RolePath } from '../data/output_path.js';
import { TokenfilterError } from '../errors.js';
import { digestFile, digestOutputs, prepareRedo, removeIfPresent, verifiedRecord, type ShardRecordCore } from './shard_record.js';

/** Task `index` of `count` (0 <= index < count): which shards one process of an N-task run takes. */
export interface ShardTask {
  index: number;
  count: number;
}

/** The shard handed to {@link ShardStage.run}: its path and its place in this task's list. */
export interface TaskShard {
  path: string;
  /** Position in this task's shards (0-based), and how many this task has. */
  index: number;
  total: number;
}

/** A finished shard's record: the stage's own fields `E` beside the verified core. */
export type StageRecord<E, S> = ShardRecordCore<S> & { input: string } & E;

/**
 * A per-shard stage, as the runner sees it. `E` is what `run` adds to a shard's record
 * (statistics, names), `S` the settings recorded with every shard.
 */
export interface ShardStage<E extends object, S> {
  /** Names the records (`<stem>.<name>.json`) and, by default, the manifests. */
  readonly name: string;
  /** Manifest file names are `<prefix>task-I-of-N.json` (default `manifest.<name>.`). */
  readonly manifestPrefix?: string;
  /** The final paths `run` writes for `shard`, all in the runner's output folder. */
  outputs(shard: string): string[];
  /** Files besides the shard that its outputs are computed from (hashed into its record). */
  inputs?(shard: string): string[];
  /** Files the output folder must not write over, besides the shards (classifier, score files). */
  guards?(shards: readonly string[]): RolePath[];
  /**
   * Called once after the checks, before the first shard, with every task's shards (load a model,
   * derive a global threshold); returns the settings recorded with each shard (default null).
   */
  prepare?(shards: readonly string[], signal?: AbortSignal): Promise<S>;
  /** Writes the outputs of one shard and returns the stage's fields of its record. */
  run(shard: TaskShard, signal?: AbortSignal): Promise<E>;
  /** Whether a record that verified may be trusted (e.g. its statistics are well-formed). */
  trusts?(record: StageRecord<E, S>): boolean;
  /** Fields added to the task's manifest (totals, identities), from all its shards' records. */
  manifest?(records: readonly StageRecord<E, S>[]): Record<string, unknown>;
}

/** After each shard of the task: done now (`skipped` false) or found done before. */
export interface ShardEvent<E, S> {
  shard: string;
  /** Shards of this task finished so far (this one included), and the task's total. */
  done: number;
  total: number;
  skipped: boolean;
  record: StageRecord<E, S>;
}

/** Options of {@link runShards}. */
export interface ShardRunOptions<E, S> {
  /** Input shards; order and repeats do not matter (sorted, de-duplicated). */
  shards: readonly string[];
  /** Output folder for outputs, records and the manifest (created if missing). */
  out: string;
  /** Default task 0 of 1. */
  task?: ShardTask;
  /** Checked before each shard (and handed to `run`); the promise rejects with an AbortError. */
  signal?: AbortSignal;
  onShard?: (event: ShardEvent<E, S>) => void;
}

/** What one task did. */
export interface ShardRunResult<E, S> {
  task: ShardTask;
  settings: S;
  /** Every task's sorted input list, and this task's part of it. */
  inputs: string[];
  shards: string[];
  /** The records of this task's shards, in the order of `shards`. */
  records: StageRecord<E, S>[];
  /** Records written now, and the inputs skipped as already done. */
  processed: StageRecord<E, S>[];
  skipped: string[];
  manifest: string;
}

/** A shard's file name without `.bin`: outputs and records are named by it. */
export function shardStem(path: string): string {
  const name = basename(path);
  return name.endsWith('.bin') ? name.slice(0, -4) : name;
}

/** The record file of `shard` for stage `name` in folder `out`. */
export function shardRecordPath(out: string, shard: string, name: string): string {
  return join(out, `${shardStem(shard)}.${name}.json`);
}

/** The manifest file of `task` with manifest prefix `prefix` in folder `out`. */
export function taskManifestPath(out: string, prefix: string, task: ShardTask): string {
  return join(out, `${prefix}task-${task.index}-of-${task.count}.json`);
}

/**
 * Refuses a task that is not `{index, count}` with integers 0 <= index < count.
 * @throws TokenfilterError E_OPTION.
 */
export function checkShardTask(task: ShardTask): void {
  if (!Number.isInteger(task?.count) || task.count < 1 || !Number.isInteger(task.index) || task.index < 0 || task.index >= task.count)
    throw new TokenfilterError('E_OPTION', `task must be {index, count} with 0 <= index < count, got ${task?.index}/${task?.count}`);
}

/** The shards of task `task`: those at positions ≡ index (mod count) of `all` (sorted). */
export function taskShards(all: readonly string[], task: ShardTask): string[] {
  return all.filter((_, i) => i % task.count === task.index);
}

/**
 * The sorted, de-duplicated input list.
 * @throws TokenfilterError E_OPTION for an empty list or two inputs with one file name.
 */
export function sortedShards(shards: readonly string[]): string[] {
  if (!Array.isArray(shards) || shards.length === 0) throw new TokenfilterError('E_OPTION', 'shards must be a non-empty array of paths');
  const all = [...new Set(shards)].sort();
  const names = new Set<string>();
  for (const s of all) {
    if (names.has(basename(s))) throw new TokenfilterError('E_OPTION', `two input shards share the name '${basename(s)}'; outputs are named by input`, { path: s });
    names.add(basename(s));
  }
  return all;
}

/** Refuses an output folder holding an input under a name the stage writes, then creates it. */
async function prepareFolder<E extends object, S>(stage: ShardStage<E, S>, all: readonly string[], out: string): Promise<void> {
  const written = new Set<string>();
  for (const shard of all) {
    for (const path of stage.outputs(shard)) {
      if (resolve(dirname(path)) !== resolve(out))
        throw new TokenfilterError('E_STATE', `stage ${stage.name}: output ${path} is not in the output folder ${out}`, { path });
      written.add(basename(path));
    }
    written.add(basename(shardRecordPath(out, shard, stage.name)));
  }
  const prefix = manifestPrefixOf(stage);
  await checkOutputPaths(
    [{ folder: out, role: 'out', writes: (name) => written.has(name) || name.startsWith(`${prefix}task-`) }],
    [...all.map((path) => ({ path, role: 'input shard' })), ...(stage.guards?.(all) ?? [])],
  );
  await makeFolder(out, 'out');
}

function manifestPrefixOf(stage: { name: string; manifestPrefix?: string }): string {
  return stage.manifestPrefix ?? `manifest.${stage.name}.`;
}

/** Whether a record lists exactly the outputs the stage writes now (a stage that gained an output redoes its shards). */
function listsOutputs(record: ShardRecordCore<unknown>, outputs: readonly string[]): boolean {
  return record.outputs.length === outputs.length && record.outputs.every((o, i) => o.path === basename(outputs[i]));
}

/** Runs `stage.run` for one shard and records it; on failure its outputs are removed. */
async function runOne<E extends object, S>(
  stage: ShardStage<E, S>,
  shard: TaskShard,
  recorded: Pick<ShardRecordCore<S>, 'inputs' | 'settings'>,
  recordPath: string,
  signal?: AbortSignal,
): Promise<StageRecord<E, S>> {
  const outputs = stage.outputs(shard.path);
  await prepareRedo(recordPath, outputs);
  let extras: E;
  try {
    extras = await stage.run(shard, signal);
  } catch (error) {
    for (const path of outputs) await removeIfPresent(path).catch(() => undefined);
    throw error;
  }
  const record = { input: shard.path, inputs: recorded.inputs, settings: recorded.settings, ...extras, outputs: await digestOutputs(outputs) } as StageRecord<E, S>;
  await writeFileAtomic(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** Runs one task of `stage`; see the module comment. */
export async function runShards<E extends object, S = null>(stage: ShardStage<E, S>, options: ShardRunOptions<E, S>): Promise<ShardRunResult<E, S>> {
  const task = options.task ?? { index: 0, count: 1 };
  checkShardTask(task);
  const all = sortedShards(options.shards);
  const { out, signal } = options;
  await prepareFolder(stage, all, out);
  const settings = (stage.prepare ? await stage.prepare(all, signal) : null) as S;
  const mine = taskShards(all, task);
  const result: ShardRunResult<E, S> = {
    task, settings, inputs: all, shards: mine, records: [], processed: [], skipped: [],
    manifest: taskManifestPath(out, manifestPrefixOf(stage), task),
  };
  // a manifest from an earlier run of this task is stale until this run finishes
  await removeIfPresent(result.manifest);
  await removeTemporaries(result.manifest);
  for (const [index, path] of mine.entries()) {
    throwIfAborted(signal, stage.name);
    const recordPath = shardRecordPath(out, path, stage.name);
    const inputs = [await digestFile(path), ...(await Promise.all((stage.inputs?.(path) ?? []).map((p) => digestFile(p))))];
    const previous = await verifiedRecord<StageRecord<E, S>>(recordPath, { inputs, settings });
    const trusted = previous !== null && previous.input === path && listsOutputs(previous, stage.outputs(path)) && (stage.trusts?.(previous) ?? true);
    let record: StageRecord<E, S>;
    if (trusted) {
      record = previous;
      result.skipped.push(path);
    } else {
      record = await runOne(stage, { path, index, total: mine.length }, { inputs, settings }, recordPath, signal);
      result.processed.push(record);
    }
    result.records.push(record);
    options.onShard?.({ shard: path, done: index + 1, total: mine.length, skipped: trusted, record });
  }
  const manifest = {
    task, settings, ...stage.manifest?.(result.records),
    shards: mine, inputs: all, processed: result.processed.map((r) => r.input), skipped: result.skipped,
  };
  await writeFileAtomic(result.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return result;
}
