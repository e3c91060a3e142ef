/**
 * `--shard I/N | auto/N`: which of N array-job tasks this process is. One parser, used by
 * every per-shard stage's command (`label`, `score`, `filter`); the shard runner
 * (lib/stages/shard_runner.ts) takes the task it returns.
 * @module
 */
import type { ShardTask } from '../stages/shard_runner.js';
import { UsageError } from './output.js';

/** A task of an N-task run: 0 <= index < count (the shard runner's {@link ShardTask}). */
export type TaskIndex = ShardTask;

/** Where an `auto` index came from, for messages. */
const SLURM_ID = 'SLURM_ARRAY_TASK_ID';
const SLURM_MIN = 'SLURM_ARRAY_TASK_MIN';
const SLURM_COUNT = 'SLURM_ARRAY_TASK_COUNT';
const SLURM_STEP = 'SLURM_ARRAY_TASK_STEP';
const K8S_INDEX = 'JOB_COMPLETION_INDEX';

/** Reads a non-negative integer variable; an empty or non-integer value names the variable and value. */
function envIndex(env: NodeJS.ProcessEnv, name: string): number {
  const value = env[name] ?? '';
  if (value.trim() === '') throw new UsageError(`--shard auto: environment variable ${name} is empty; expected a non-negative integer`);
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--shard auto: environment variable ${name}='${value}' is not a non-negative integer`);
  return n;
}

/**
 * The task index an `auto/N` task runs as, from the environment:
 * - Slurm job arrays: `SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` (0-based whatever the array's
 *   first index, so `--array=0-2` and `--array=1-3` both give 0, 1, 2); `SLURM_ARRAY_TASK_ID`
 *   alone when `SLURM_ARRAY_TASK_MIN` is unset. The array must be a contiguous range.
 * - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based), read when no Slurm id is set.
 * @returns the index and a description of where it came from (for error messages).
 * @throws UsageError (E_OPTION) when no variable is set, or one is empty or not an integer.
 */
export function autoTaskIndex(env: NodeJS.ProcessEnv): { index: number; source: string } {
  if (env[SLURM_ID] !== undefined) {
    const id = envIndex(env, SLURM_ID);
    if (env[SLURM_MIN] === undefined) return { index: id, source: `${SLURM_ID}=${id}` };
    const min = envIndex(env, SLURM_MIN);
    if (id < min) throw new UsageError(`--shard auto: ${SLURM_ID}=${id} is below ${SLURM_MIN}=${min}`);
    return { index: id - min, source: `${SLURM_ID}=${id} − ${SLURM_MIN}=${min}` };
  }
  if (env[K8S_INDEX] !== undefined) {
    const index = envIndex(env, K8S_INDEX);
    return { index, source: `${K8S_INDEX}=${index}` };
  }
  throw new UsageError(`--shard auto/N needs ${SLURM_ID} (Slurm job array) or ${K8S_INDEX} (Kubernetes Indexed Job) in the environment; neither is set`);
}

/**
 * Under Slurm, refuses an array that is not exactly N consecutive ids (SLURM_ARRAY_TASK_COUNT ≠ N,
 * or SLURM_ARRAY_TASK_STEP ≠ 1): `ID − MIN` would name the wrong tasks, e.g. when a subset such
 * as `--array=1,4` is resubmitted.
 */
function checkSlurmArray(env: NodeJS.ProcessEnv, count: number): void {
  if (env[SLURM_ID] === undefined) return;
  const total = env[SLURM_COUNT] === undefined ? undefined : envIndex(env, SLURM_COUNT);
  const step = env[SLURM_STEP] === undefined ? 1 : envIndex(env, SLURM_STEP);
  if ((total !== undefined && total !== count) || step !== 1)
    throw new UsageError(
      `--shard auto/${count} needs a Slurm array of exactly ${count} consecutive ids, but ${SLURM_COUNT}=${env[SLURM_COUNT] ?? '(unset)'}, ` +
        `${SLURM_STEP}=${env[SLURM_STEP] ?? '(unset)'}; to rerun some tasks give the index yourself: --shard \$SLURM_ARRAY_TASK_ID/${count} with --array=<0-based indices>`,
    );
}

/**
 * Parses `--shard I/N`: task I of N (0 <= I < N) takes the inputs whose position in the sorted
 * input list is I modulo N. `I` may be `auto` (see {@link autoTaskIndex}).
 * @throws UsageError (E_OPTION) for a malformed value, N < 1, I >= N (naming the variable and
 *   value under auto), a missing, empty or non-integer environment variable under auto, or a
 *   Slurm array that is not N consecutive ids (SLURM_ARRAY_TASK_COUNT ≠ N or a step ≠ 1).
 */
export function parseTask(value: string, env: NodeJS.ProcessEnv = process.env): TaskIndex {
  const match = /^(\d+|auto)\/(\d+)$/.exec(String(value).trim());
  if (!match) throw new UsageError(`--shard must look like I/N (e.g. 0/8) or auto/N, got '${value}'`);
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`--shard ${value}: N must be an integer >= 1`);
  if (match[1] === 'auto') {
    const { index, source } = autoTaskIndex(env);
    checkSlurmArray(env, count);
    if (index >= count)
      throw new UsageError(
        `--shard auto/${count}: task index ${index} (from ${source}) is not below N = ${count}; ` +
          `submit exactly ${count} tasks (e.g. --array=0-${count - 1} or --array=1-${count})`,
      );
    return { index, count };
  }
  const index = Number(match[1]);
  if (!Number.isSafeInteger(index) || index >= count)
    throw new UsageError(`--shard ${value}: need 0 <= I < N, got I = ${match[1]}, N = ${count}`);
  return { index, count };
}
