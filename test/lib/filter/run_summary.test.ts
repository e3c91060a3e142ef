import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../lib/cli/main.js';
import { writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { filterShards } from '../../../lib/filter/filter_shards.js';
import { summarizeRun } from '../../../lib/filter/run_summary.js';
import { isTokenfilterError } from '../../../lib/errors.js';

const tokenizer = { vocabSize: 1000, eotId: 0, hiddenId: 1, hash: 'c3'.repeat(32), name: 'test' };
const dir = mkdtempSync(join(tmpdir(), 'tf-summary-'));
const shards: string[] = [];
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  for (let s = 0; s < 5; s++) {
    const n = 2000 + 500 * s;
    const tokens = Uint32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? 0 : 2 + ((i * 31 + s) % 998)));
    const scores = Uint8Array.from({ length: n }, (_, i) => (i * 37 + s * 11) % 256);
    const path = join(dir, `web_${s}.bin`);
    await writeShard(path, tokens, { tokenizer });
    await writeSideFile(sideFilePathFor(path, SideFileKind.ScoresUint8), scores, { kind: SideFileKind.ScoresUint8, tokenizer });
    shards.push(path);
  }
});

const filterTask = (out: string, index: number, count = 3, threshold = 0.5) =>
  filterShards({ shards, out, mode: 'mask', threshold, task: { index, count } });

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('summarizeRun / tokenfilter summary', () => {
  it('reports a 3-task filter run where task 1 did not run, then the same totals as one process once it has', async () => {
    const out = join(dir, 'three');
    await filterTask(out, 0);
    await filterTask(out, 2);
    const partial = await summarizeRun(out);
    expect(partial.complete).toBe(false);
    const [stage] = partial.stages;
    expect(stage.stage).toBe('filter');
    expect(stage.tasks.map((t) => t.status)).toEqual(['done', 'missing', 'done']);
    // task 1 of 3 owns the inputs at sorted positions 1 and 4
    expect(stage.tasks[1]).toMatchObject({ shardsDone: 0, shardsMissing: [shards[1], shards[4]] });
    expect(stage.shards).toEqual({ total: 5, done: 3, missing: 2 });
    const records = [0, 2, 3].map((i) => JSON.parse(readFileSync(join(out, `web_${i}.filter.json`), 'utf8')).stats);
    const tokens = records.reduce((n, r) => n + r.tokens, 0);
    const flagged = records.reduce((n, r) => n + r.flaggedTokens, 0);
    expect(stage.tokens).toBe(tokens);
    expect(stage.flaggedShare).toBeCloseTo(flagged / tokens, 12);

    const text = await cli(['summary', out]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('filter: incomplete; 3 task(s); shards 3 done, 2 missing of 5');
    expect(text.stdout).toContain(`task 1: missing, 0/2 shards; to do: ${shards[1]}, ${shards[4]}`);

    await filterTask(out, 1);
    const whole = await filterShards({ shards, out: join(dir, 'one'), mode: 'mask', threshold: 0.5 });
    const json = await cli(['summary', out, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ command: 'summary', complete: true });
    expect(report.stages[0]).toMatchObject({
      complete: true, taskCount: 3, shards: { total: 5, done: 5, missing: 0 },
      tokens: whole.tokens, flaggedTokens: whole.flaggedTokens, flaggedShare: whole.flaggedTokens / whole.tokens,
    });
    expect(report.stages[0].tasks.map((t: { status: string }) => t.status)).toEqual(['done', 'done', 'done']);
  });

  it('calls a task failed when it stopped part way or its manifest outlives its records', async () => {
    const out = join(dir, 'failed');
    for (const t of [0, 1, 2]) await filterTask(out, t);
    // task 1 killed after its first shard: no manifest, one record
    unlinkSync(join(out, 'manifest.task-1-of-3.json'));
    unlinkSync(join(out, 'web_4.filter.json'));
    // task 2's record for web_2 rewritten at another threshold
    const stale = JSON.parse(readFileSync(join(out, 'web_2.filter.json'), 'utf8'));
    writeFileSync(join(out, 'web_2.filter.json'), JSON.stringify({ ...stale, settings: { ...stale.settings, threshold: 0.9 } }));
    const [stage] = (await summarizeRun(out)).stages;
    expect(stage.tasks.map((t) => t.status)).toEqual(['done', 'failed', 'failed']);
    expect(stage.tasks[1]).toMatchObject({ shardsDone: 1, shardsMissing: [shards[4]] });
    expect(stage.tasks[1].reason).toMatch(/no manifest, but 1 of 2 shards finished/);
    expect(stage.tasks[2].reason).toMatch(/1 of its shards have no record with the run's settings/);
    expect(stage.shards).toEqual({ total: 5, done: 3, missing: 2 });
  });

  it('sums per-label counts where records have them, and reads score manifests too', async () => {
    const out = join(dir, 'labels');
    await filterTask(out, 0, 1);
    for (const [i, perLabel] of [[0, { medical: { tokens: 10, filtered: 7 } }], [1, { medical: { tokens: 5, filtered: 1 }, general: { tokens: 20, filtered: 2 } }]] as const) {
      const path = join(out, `web_${i}.filter.json`);
      const record = JSON.parse(readFileSync(path, 'utf8'));
      writeFileSync(path, JSON.stringify({ ...record, stats: { ...record.stats, perLabel } }));
    }
    const classifier = { path: 'c.safetensors', sha256: 'ab'.repeat(32) };
    const inputs = shards.slice(0, 2);
    writeFileSync(join(out, 'manifest.score.task-0-of-2.json'), JSON.stringify({ task: { index: 0, count: 2 }, shards: [inputs[0]], inputs, classifier }));
    writeFileSync(join(out, 'web_0.score.json'), JSON.stringify({ input: inputs[0], classifier, stats: { tokens: 100, meanScore: 0.2 } }));
    writeFileSync(join(out, 'web_1.score.json'), JSON.stringify({ input: inputs[1], classifier, stats: { tokens: 300, meanScore: 0.6 } }));
    const summary = await summarizeRun(out);
    const [score, filter] = summary.stages;
    expect(filter.perLabel).toEqual({ medical: { tokens: 15, filtered: 8 }, general: { tokens: 20, filtered: 2 } });
    expect(score).toMatchObject({ stage: 'score', taskCount: 2, complete: false, tokens: 400 });
    expect(score.meanScore).toBeCloseTo(0.5, 12);
    expect(score.tasks.map((t) => t.status)).toEqual(['done', 'failed']);
    const text = await cli(['summary', out]);
    expect(text.stdout).toContain('label medical: 15 tokens, 8 filtered (53.33%)');
  });

  it('refuses a folder without manifests, one mixing task counts, and an unreadable manifest', async () => {
    const empty = join(dir, 'empty');
    await filterShards({ shards, out: empty, mode: 'mask', threshold: 0.5, task: { index: 0, count: 5 } }).then(() => unlinkSync(join(empty, 'manifest.task-0-of-5.json')));
    await expect(summarizeRun(empty)).rejects.toSatisfy((e) => isTokenfilterError(e, 'E_OPTION'));
    const none = await cli(['summary', empty, '--json']);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout).error.code).toBe('E_OPTION');
    const mixed = join(dir, 'mixed');
    await filterTask(mixed, 0, 2);
    await filterTask(mixed, 0, 3);
    await expect(summarizeRun(mixed)).rejects.toSatisfy((e) => isTokenfilterError(e, 'E_MISMATCH') && /split 2 and 3 ways/.test((e as Error).message));
    writeFileSync(join(empty, 'manifest.task-0-of-1.json'), '{ not json');
    await expect(summarizeRun(empty)).rejects.toSatisfy((e) => isTokenfilterError(e, 'E_FILE_FORMAT'));
    await expect(summarizeRun(join(dir, 'nowhere'))).rejects.toSatisfy((e) => isTokenfilterError(e, 'E_IO'));
  });
});
