// The shard runner: checks before work, records and manifests, verify-or-redo on a rerun, no
// partial or stale output under a final name; and the toy stage (toy_stage.ts) run as two
// array-job tasks in child processes, one SIGKILLed mid-shard and resumed, byte-identical to
// one process.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCurrentDist, root } from '../../helpers/current_dist.js';
import { temporaryPath, writeFileAtomic } from '../../../lib/data/atomic_file.js';
import { writeShard } from '../../../lib/data/shard.js';
import { runShards, shardStem, type ShardStage } from '../../../lib/stages/shard_runner.js';
import { main, toyStage } from './toy_stage.js';

const tokenizer = { vocabSize: 1000, eotId: 0, hiddenId: 1, hash: 'd4'.repeat(32), name: 'test' };
let dir: string;
let shards: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tf-runner-'));
  shards = [];
  let state = 7;
  for (let s = 0; s < 6; s++) {
    const tokens = Uint32Array.from({ length: 20_000 + 1000 * s }, () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % 1000);
    const path = join(dir, 'in', `part_${s}.bin`);
    mkdirSync(join(dir, 'in'), { recursive: true });
    await writeShard(path, tokens, { tokenizer });
    shards.push(path);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Final outputs (`.toy`) of a folder, by name. */
function toyOutputs(out: string): Map<string, Buffer> {
  return new Map(readdirSync(out).filter((f) => f.endsWith('.toy')).sort().map((f) => [f, readFileSync(join(out, f))]));
}

/** A stage writing `<stem>.a` and `<stem>.b` (copies of the shard); `failOn` throws after `.a`. */
function copyStage(out: string, failOn?: string): ShardStage<{ bytes: number }, null> & { runs: string[] } {
  const runs: string[] = [];
  return {
    name: 'copy',
    runs,
    outputs: (shard) => [join(out, `${shardStem(shard)}.a`), join(out, `${shardStem(shard)}.b`)],
    async run(shard) {
      runs.push(shard.path);
      const bytes = readFileSync(shard.path);
      await writeFileAtomic(join(out, `${shardStem(shard.path)}.a`), bytes);
      if (shardStem(shard.path) === failOn) throw new Error('copy failed half-way');
      await writeFileAtomic(join(out, `${shardStem(shard.path)}.b`), bytes);
      return { bytes: bytes.length };
    },
  };
}

describe('runShards', () => {
  it('checks the task, the inputs and the output folder before any work', async () => {
    const stage = copyStage(join(dir, 'checked'));
    await expect(runShards(stage, { shards, out: join(dir, 'checked'), task: { index: 2, count: 2 } })).rejects.toMatchObject({ code: 'E_OPTION', message: expect.stringMatching(/0 <= index < count/) });
    await expect(runShards(stage, { shards: [], out: join(dir, 'checked') })).rejects.toMatchObject({ code: 'E_OPTION' });
    const twin = join(dir, 'twin', 'part_0.bin');
    mkdirSync(join(dir, 'twin'));
    writeFileSync(twin, readFileSync(shards[0]));
    await expect(runShards(stage, { shards: [shards[0], twin], out: join(dir, 'checked') })).rejects.toMatchObject({ code: 'E_OPTION', message: expect.stringContaining("share the name 'part_0.bin'") });
    // a stage whose output would replace its input shard
    const inPlace: ShardStage<object, null> = { name: 'inplace', outputs: (s) => [join(dir, 'in', `${shardStem(s)}.bin`)], run: async () => ({}) };
    await expect(runShards(inPlace, { shards, out: join(dir, 'in') })).rejects.toMatchObject({ code: 'E_OUTPUT_PATH' });
    expect(stage.runs).toEqual([]);
    expect(existsSync(join(dir, 'checked'))).toBe(false);
  });

  it('records each shard, skips verified shards, redoes a missing or altered output and removes stale files first', async () => {
    const out = join(dir, 'copy');
    const first = await runShards(copyStage(out), { shards: [...shards].reverse(), out, task: { index: 1, count: 2 } });
    expect(first.shards).toEqual([shards[1], shards[3], shards[5]]);
    const record = JSON.parse(readFileSync(join(out, 'part_3.copy.json'), 'utf8'));
    expect(record).toMatchObject({ input: shards[3], settings: null, bytes: statSync(shards[3]).size });
    expect(record.inputs.map((d: { path: string }) => d.path)).toEqual([shards[3]]);
    expect(record.outputs.map((d: { path: string }) => d.path)).toEqual(['part_3.a', 'part_3.b']);
    const manifest = JSON.parse(readFileSync(first.manifest, 'utf8'));
    expect(first.manifest).toBe(join(out, 'manifest.copy.task-1-of-2.json'));
    expect(manifest).toMatchObject({ task: { index: 1, count: 2 }, shards: first.shards, inputs: shards, processed: first.shards, skipped: [] });

    writeFileSync(join(out, 'part_1.b'), 'altered');
    rmSync(join(out, 'part_5.a'));
    const leftover = temporaryPath(join(out, 'part_5.b'));
    writeFileSync(leftover, 'half');
    const stage = copyStage(out);
    const again = await runShards(stage, { shards, out, task: { index: 1, count: 2 } });
    expect(stage.runs).toEqual([shards[1], shards[5]]);
    expect(again.skipped).toEqual([shards[3]]);
    expect(readFileSync(join(out, 'part_1.b')).equals(readFileSync(shards[1]))).toBe(true);
    expect(existsSync(leftover)).toBe(false);
  });

  it('leaves no output and no record of a shard whose run fails, nor a manifest of its task, and redoes it next time', async () => {
    const out = join(dir, 'failing');
    const manifest = (await runShards(copyStage(out), { shards: shards.slice(0, 2), out })).manifest;
    expect(existsSync(manifest)).toBe(true);
    rmSync(join(out, 'part_1.b')); // part_1 must be redone ...
    await expect(runShards(copyStage(out, 'part_1'), { shards: shards.slice(0, 2), out })).rejects.toThrow(/half-way/);
    // ... and its failed redo leaves neither the new first output nor the stale one
    expect(readdirSync(out).filter((f) => f.startsWith('part_1'))).toEqual([]);
    expect(readdirSync(out).some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(existsSync(manifest), 'the manifest of an unfinished task').toBe(false);
    const stage = copyStage(out);
    await runShards(stage, { shards: shards.slice(0, 2), out });
    expect(stage.runs).toEqual([shards[1]]);
    // a stage that does not trust a record that verifies redoes the shard
    const doubting = { ...copyStage(out), trusts: () => false };
    expect((await runShards(doubting, { shards: shards.slice(0, 2), out })).processed).toHaveLength(2);
    // a stage that writes another output now redoes the shard
    const grown = { ...copyStage(out), outputs: (shard: string) => [...copyStage(out).outputs(shard), join(out, `${shardStem(shard)}.c`)] };
    grown.run = async (shard) => {
      await writeFileAtomic(join(out, `${shardStem(shard.path)}.c`), 'c');
      return copyStage(out).run(shard);
    };
    expect((await runShards(grown, { shards: shards.slice(0, 2), out })).processed).toHaveLength(2);
  });
});

describe('a toy stage through the shard runner', () => {
  let toyModule: string;
  beforeAll(() => {
    // the children run the compiled library (dist/) and the toy stage transpiled next to it
    ensureCurrentDist(join(root, 'dist', 'stages', 'shard_runner.js'));
    const source = readFileSync(join(import.meta.dirname, 'toy_stage.ts'), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
    toyModule = join(dir, 'toy_stage.mjs');
    writeFileSync(toyModule, js.replaceAll("'../../../lib/", `'${pathToFileURL(join(root, 'dist')).href}/`));
  }, 120_000);

  /** Runs one task of the toy stage in a child process; resolves with its exit and stdout. */
  function task(out: string, shard: string, env: Record<string, string> = {}) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLURM_') && k !== 'JOB_COMPLETION_INDEX'));
    const code = `import { main } from ${JSON.stringify(pathToFileURL(toyModule).href)}; console.log(JSON.stringify(await main(process.argv.slice(1))));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, out, shard, ...shards], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exit = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
    return { child, exit };
  }

  it('runs as tasks 0/2 and 1/2, survives a SIGKILL mid-shard, resumes, and matches one process byte for byte', async () => {
    const one = join(dir, 'toy-one');
    await main([one, '0/1', ...shards]);
    expect(toyOutputs(one).size).toBe(6);

    const out = join(dir, 'toy-two');
    const marker = join(dir, 'hanging');
    const killed = task(out, '0/2', { TOY_HANG_AT: 'part_2', TOY_HANG_MARKER: marker });
    const other = task(out, 'auto/2', { JOB_COMPLETION_INDEX: '1' });
    const deadline = Date.now() + 60_000;
    while (!existsSync(marker) && killed.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(marker), 'task 0 reached the middle of part_2').toBe(true);
    killed.child.kill('SIGKILL');
    expect((await killed.exit).signal).toBe('SIGKILL');
    const second = await other.exit;
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ task: { index: 1, count: 2 }, processed: [shards[1], shards[3], shards[5]] });

    // killed mid-shard: part_0 done and recorded; part_2 only as a temporary file; no manifest of task 0
    const names = readdirSync(out);
    expect(names).toContain('part_0.toy.json');
    expect(names).not.toContain('part_2.toy');
    expect(names).not.toContain('part_2.toy.json');
    expect(names.filter((f) => f.startsWith('.part_2.toy.') && f.endsWith('.tmp'))).toHaveLength(1);
    expect(names).not.toContain('manifest.toy.task-0-of-2.json');

    const resumed = await task(out, '0/2').exit;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ skipped: [shards[0]], processed: [shards[2], shards[4]] });
    const rerun = await task(out, '1/2').exit;
    expect(JSON.parse(rerun.stdout)).toMatchObject({ skipped: [shards[1], shards[3], shards[5]], processed: [] });

    const expected = toyOutputs(one);
    const got = toyOutputs(out);
    expect([...got.keys()]).toEqual([...expected.keys()]);
    for (const [name, bytes] of expected) expect(got.get(name)!.equals(bytes), name).toBe(true);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(out).filter((f) => f.startsWith('manifest.toy.')).sort()).toEqual(['manifest.toy.task-0-of-2.json', 'manifest.toy.task-1-of-2.json']);
    // and the in-process stage object agrees with what the children recorded
    const record = JSON.parse(readFileSync(join(out, 'part_4.toy.json'), 'utf8'));
    expect(record.settings).toEqual({ chunk: 1024 });
    expect(toyStage(out).outputs(shards[4])).toEqual([join(out, 'part_4.toy')]);
  }, 180_000);
});
