import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../../lib/cli/output.js';
import { printTaskSummary, taskSummary } from '../../../lib/cli/task_summary.js';

function capture(): { io: CliIO; out: () => string } {
  let out = '';
  return { io: { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: () => true, isTTY: false, columns: 80 } }, out: () => out };
}

describe('task summary of score and filter', () => {
  const outcome = { task: { index: 1, count: 4 }, processed: ['a', 'b'], skipped: ['c'], tokens: 12_345, manifest: '/out/manifest.json' };

  it('keeps the common fields, puts the stage fields between them and the manifest last', () => {
    const summary = taskSummary('score', outcome, { cutTokens: 7 });
    expect(summary).toEqual({ command: 'score', task: { index: 1, count: 4 }, processed: 2, skipped: 1, tokens: 12_345, cutTokens: 7, manifest: '/out/manifest.json' });
    expect(Object.keys(summary).at(-1)).toBe('manifest');
  });

  it('prints one line, or the summary as JSON', () => {
    const summary = taskSummary('filter', outcome, { flagged: 3 });
    const line = capture();
    printTaskSummary(line.io, false, summary, 'filtered', '3 flagged');
    expect(line.out()).toMatch(/^filtered 2 shard\(s\) \(1 already done\): .* tokens, 3 flagged; manifest \/out\/manifest\.json\n$/);
    const json = capture();
    printTaskSummary(json.io, true, summary, 'filtered', 'ignored');
    expect(JSON.parse(json.out())).toEqual(summary);
  });
});
