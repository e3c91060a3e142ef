/**
 * `tokenfilter summary DIR [--json]`: one report over the task manifests and shard records that
 * `label`, `score` and `filter` tasks left in DIR (see lib/filter/run_summary.ts).
 * @module
 */
import type { Command } from 'commander';
import { summarizeRun, type RunSummary, type StageSummary } from '../filter/run_summary.js';
import { formatCount, writeJson, type CliIO } from './output.js';

/** The human-readable report of one stage. */
function formatStage(s: StageSummary): string {
  const lines = [
    `${s.stage}: ${s.complete ? 'complete' : 'incomplete'}; ${s.taskCount} task(s); shards ${s.shards.done} done, ${s.shards.missing} missing of ${s.shards.total}; ` +
      `${formatCount(s.tokens)} tokens in finished shards`,
  ];
  if (s.flaggedShare !== undefined)
    lines.push(`  flagged ${formatCount(s.flaggedTokens ?? 0)} tokens (${(100 * s.flaggedShare).toFixed(2)}%), ${s.documentsDropped ?? 0} documents dropped`);
  if (s.meanScore !== undefined) lines.push(`  mean score ${s.meanScore.toFixed(4)}`);
  if (s.labelledShare !== undefined) lines.push(`  labelled ${formatCount(s.labelledTokens ?? 0)} tokens (${(100 * s.labelledShare).toFixed(2)}%)`);
  for (const [label, stats] of Object.entries(s.perLabel ?? {}))
    lines.push(`  label ${label}: ${formatCount(stats.tokens)} tokens, ${formatCount(stats.filtered)} filtered (${stats.tokens ? ((100 * stats.filtered) / stats.tokens).toFixed(2) : '0.00'}%)`);
  for (const t of s.tasks) {
    let line = `  task ${t.task}: ${t.status}, ${t.shardsDone}/${t.shards.length} shards`;
    if (t.reason) line += ` (${t.reason})`;
    if (t.shardsMissing.length > 0) line += `; to do: ${t.shardsMissing.slice(0, 3).join(', ')}${t.shardsMissing.length > 3 ? `, … ${t.shardsMissing.length - 3} more` : ''}`;
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `summary` and prints the report (JSON with `--json`). */
export async function summaryCommand(dir: string, options: { json?: boolean }, io: CliIO): Promise<RunSummary> {
  const summary = await summarizeRun(dir);
  if (options.json) writeJson(io, { command: 'summary', ...summary });
  else io.stdout.write(summary.stages.map(formatStage).join(''));
  return summary;
}

/** Adds `summary` to the program. */
export function registerSummary(program: Command, io: CliIO): void {
  program
    .command('summary')
    .description('merge the task manifests of a label, score or filter --out folder: tasks done / missing / failed, labelled or flagged share, per-label counts')
    .argument('<dir>', 'the --out folder of tokenfilter label, score or filter')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (dir: string, options: { json?: boolean }) => {
      await summaryCommand(dir, options, io);
    });
}
