/**
 * What `score` and `filter` print when a task ends: one summary object (the fields every shard
 * task has, the stage's own between them) written as JSON with `--json`, else as one line
 * `<verb> N shard(s) (M already done): T tokens, <the stage's details>; manifest PATH`.
 * @module
 */
import type { ShardTask } from '../stages/shard_runner.js';
import { formatCount, writeJson, type CliIO } from './output.js';

/** What a shard task returns that every summary reports. */
export interface TaskOutcome {
  task: ShardTask;
  processed: readonly unknown[];
  skipped: readonly unknown[];
  tokens: number;
  manifest: string;
}

/** The summary of a task: command, task, shard counts and tokens, then `fields`, then the manifest. */
export function taskSummary<F extends object>(command: string, result: TaskOutcome, fields: F) {
  return { command, task: result.task, processed: result.processed.length, skipped: result.skipped.length, tokens: result.tokens, ...fields, manifest: result.manifest };
}

/** Prints a {@link taskSummary}: JSON with `json`, else one line with `verb` and the stage's `details`. */
export function printTaskSummary(io: CliIO, json: boolean | undefined, summary: ReturnType<typeof taskSummary>, verb: string, details: string): void {
  if (json) writeJson(io, summary);
  else io.stdout.write(`${verb} ${summary.processed} shard(s) (${summary.skipped} already done): ${formatCount(summary.tokens)} tokens, ${details}; manifest ${summary.manifest}\n`);
}
