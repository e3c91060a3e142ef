import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCurrentDist } from '../../helpers/current_dist.js';
import { runCli } from '../../../lib/cli/main.js';
import { writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';

const root = join(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const tokenizer = { vocabSize: 1000, eotId: 0, hiddenId: 1, hash: 'c3'.repeat(32), name: 'test' };
let dir: string;
let shards: string[];

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  // the kill test runs the compiled CLI in a child process: make sure dist/ is current
  ensureCurrentDist(cli);
  dir = mkdtempSync(join(tmpdir(), 'tf-cli-filter-'));
  shards = [];
  for (let s = 0; s < 40; s++) {
    const n = 100_000;
    const tokens = Uint32Array.from({ length: n }, () => (Math.random() < 0.002 ? 0 : 2 + Math.floor(Math.random() * 998)));
    const scores = Uint8Array.from({ length: n }, () => Math.floor(Math.random() * 256));
    const path = join(dir, `web_${String(s).padStart(3, '0')}.bin`);
    await writeShard(path, tokens, { tokenizer });
    await writeSideFile(sideFilePathFor(path, SideFileKind.ScoresUint8), scores, { kind: SideFileKind.ScoresUint8, tokenizer });
    shards.push(path);
  }
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function outputs(folder: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(folder).sort()) if (name.endsWith('.bin') || name.endsWith('.side')) files.set(name, readFileSync(join(folder, name)));
  return files;
}

describe('tokenfilter filter', () => {
  it('resumes after being killed mid-run, with outputs identical to an uninterrupted run', async () => {
    const args = ['filter', ...shards, '--mode', 'remove', '--fraction', '0.2'];
    const whole = await run([...args, '--out', join(dir, 'whole'), '--json']);
    expect(whole.code).toBe(0);
    const summary = JSON.parse(whole.stdout);
    expect(summary.processed).toBe(40);
    expect(summary.flaggedFraction).toBeGreaterThanOrEqual(0.2);

    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [cli, ...args, '--out', out], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(out) && readdirSync(out).some((f) => f.endsWith('.filter.json'))) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        resolve();
      });
      child.on('error', reject);
    });
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on('exit', resolve)));
    const doneBefore = readdirSync(out).filter((f) => f.endsWith('.filter.json')).length;
    expect(child.signalCode).toBe('SIGKILL');
    expect(doneBefore).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(40);

    const resumed = await run([...args, '--out', out, '--json']);
    expect(resumed.code).toBe(0);
    const r = JSON.parse(resumed.stdout);
    expect(r.skipped).toBe(doneBefore);
    expect(r.processed).toBe(40 - doneBefore);
    const a = outputs(join(dir, 'whole'));
    const b = outputs(out);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, bytes] of a) expect(b.get(name)!.equals(bytes), name).toBe(true);
  }, 120_000);

  it('refuses, with exit code 2 and nothing written, an output over its inputs, an existing file as --out, and an empty number', async () => {
    const two = shards.slice(0, 2);
    const before = two.map((p) => readFileSync(p));
    const over = await run(['filter', ...two, '--mode', 'mask', '--threshold', '0.5', '--out', dir]);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain(`would write over input shard ${two[0]}`);
    two.forEach((p, i) => expect(readFileSync(p).equals(before[i])).toBe(true));
    const file = join(dir, 'note.txt');
    writeFileSync(file, 'not a folder');
    const onFile = await run(['filter', ...two, '--mode', 'mask', '--threshold', '0.5', '--out', file]);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toContain(`${file} exists and is not a folder`);
    const empty = await run(['filter', ...two, '--mode', 'mask', '--threshold', '', '--out', join(dir, 'never')]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--threshold is empty');
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('exits 2 with one clear line for bad arguments and bad files', async () => {
    const bad = await run(['filter', shards[0], '--out', join(dir, 'bad'), '--mode', 'chop', '--threshold', '0.5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--mode must be mask, remove or document/);
    const both = await run(['filter', shards[0], '--out', join(dir, 'bad'), '--mode', 'mask']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --threshold/);
    const missing = await run(['filter', join(dir, 'nope.bin'), '--out', join(dir, 'bad'), '--mode', 'mask', '--threshold', '0.5']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.bin/);
    const range = await run(['filter', shards[0], '--out', join(dir, 'bad'), '--mode', 'mask', '--threshold', '1.5']);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/--threshold must be a number in \[0, 1\]/);
  });
});
