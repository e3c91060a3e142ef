import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../lib/cli/main.js';
import { writeShard } from '../../../lib/data/shard.js';
import { readModelContract } from '../../../lib/model/model_contract.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';

const root = join(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const tokenizer = { vocabSize: 64, eotId: 0, hiddenId: 1, hash: 'd4'.repeat(32), name: 'test' };
const dir = mkdtempSync(join(tmpdir(), 'tf-cli-train-'));
let shard: string;

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  // a learnable stream: a repeating pattern with noise; labels 1 on tokens 10..19
  const n = 20_000;
  const tokens = Uint32Array.from({ length: n }, (_, i) => (Math.random() < 0.1 ? 2 + Math.floor(Math.random() * 62) : 2 + ((i * 7) % 30)));
  shard = join(dir, 'train.bin');
  await writeShard(shard, tokens, { tokenizer });
  const labels = Uint8Array.from(tokens, (t) => (t >= 10 && t < 20 ? 1 : 0));
  await writeSideFile(sideFilePathFor(shard, SideFileKind.Labels), labels, { kind: SideFileKind.Labels, tokenizer });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const model = ['--layers', '1', '--dim', '32', '--heads', '2', '--context', '32', '--batch', '4', '--lr', '0.01', '--seed', '3'];

describe('tokenfilter train and eval', () => {
  it('trains, lowers the loss, and evaluates per domain', async () => {
    const out = join(dir, 'model.safetensors');
    const trained = await run(['train', shard, '--out', out, '--steps', '60', ...model, '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const summary = JSON.parse(trained.stdout);
    expect(summary.lossLast).toBeLessThan(summary.lossFirst - 1);
    const evaluated = await run(['eval', shard, '--model', out, '--label-names', 'other,ten-to-nineteen', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const losses = JSON.parse(evaluated.stdout).losses;
    expect(losses.other.tokens + losses['ten-to-nineteen'].tokens).toBeGreaterThan(19_000);
    expect(losses.other.loss).toBeLessThan(Math.log(64));
    // the model records the shards' tokenizer; a shard of another tokenizer (same vocabulary size) is refused
    expect(await readModelContract(out)).toEqual({ vocabSize: 64, eotId: 0, hiddenId: 1, hashPrefix: 'd4'.repeat(16) });
    const foreign = join(dir, 'foreign.bin');
    await writeShard(foreign, Uint32Array.from({ length: 100 }, (_, i) => 2 + (i % 30)), { tokenizer: { ...tokenizer, hash: 'e6'.repeat(32) } });
    const refused = await run(['eval', foreign, '--model', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${foreign}: tokenizer mismatch with ${out}`);
  });

  it('refuses a model path over a shard or its mask, and a mask that does not fit its shard (exit 2)', async () => {
    const before = readFileSync(shard);
    const over = await run(['train', shard, '--out', shard, '--steps', '1', ...model]);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain(`--out ${shard} would write over input shard ${shard}`);
    expect(readFileSync(shard).equals(before)).toBe(true);
    const same = await run(['train', shard, '--out', join(dir, 'm.safetensors'), '--checkpoint', join(dir, 'm.safetensors'), '--steps', '1', ...model]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('--checkpoint');
    const short = join(dir, 'short.bin');
    await writeShard(short, Uint32Array.from({ length: 200 }, (_, i) => 2 + (i % 30)), { tokenizer });
    await writeSideFile(sideFilePathFor(short, SideFileKind.LossMask), new Uint8Array(150).fill(1), { kind: SideFileKind.LossMask, tokenizer });
    const mismatch = await run(['train', short, '--out', join(dir, 'short.safetensors'), '--steps', '1', ...model]);
    expect(mismatch.code, mismatch.stderr).toBe(2);
    expect(mismatch.stderr).toContain('short.mask.side: side file covers 150 tokens');
  });

  it('resumes a killed run from its checkpoint to the same model as an uninterrupted run', async () => {
    const steps = ['--steps', '150', '--checkpoint-every', '2'];
    const whole = await run(['train', shard, '--out', join(dir, 'whole.safetensors'), ...steps, ...model]);
    expect(whole.code, whole.stderr).toBe(0);
    const checkpoint = join(dir, 'ck.safetensors');
    const args = ['train', shard, '--out', join(dir, 'resumed.safetensors'), ...steps, ...model, '--checkpoint', checkpoint, '--resume'];
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'ignore', env: { ...process.env, TOKENFILTER_THREADS: '2' } });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(checkpoint)) {
          clearInterval(poll);
          child.kill('SIGKILL');
        }
      }, 2);
      child.on('exit', () => {
        clearInterval(poll);
        resolve();
      });
    });
    expect(child.signalCode).toBe('SIGKILL');
    const resumed = await run(args);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from/);
    expect(readFileSync(join(dir, 'resumed.safetensors')).equals(readFileSync(join(dir, 'whole.safetensors')))).toBe(true);
  });

  it('exits 2 for bad arguments', async () => {
    const both = await run(['train', shard, '--out', join(dir, 'x'), '--steps', '1', '--depth', '2', '--layers', '2']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/either --depth/);
    const heads = await run(['train', shard, '--out', join(dir, 'x'), '--steps', '1', '--dim', '30', '--heads', '4']);
    expect(heads.code).toBe(2);
    const noModel = await run(['eval', shard, '--model', join(dir, 'missing.safetensors')]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/missing\.safetensors/);
  });
});
