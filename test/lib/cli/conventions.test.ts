import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCurrentDist } from '../../helpers/current_dist.js';
import { jsonErrorCode, runCli } from '../../../lib/cli/main.js';
import type { CliIO } from '../../../lib/cli/output.js';
import { readDocuments } from '../../../lib/data/read_documents.js';
import { readShard, writeShard } from '../../../lib/data/shard.js';
import { TokenfilterError } from '../../../lib/errors.js';

const root = join(import.meta.dirname, '..', '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'tf-cli-conv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  // the Ctrl-C tests run the compiled CLI in a child process: make sure dist/ is current
  ensureCurrentDist(cli);
}, 180_000);

async function run(argv: string[], isTTY = false) {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY, columns: 0 } };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

function expectPrefixed(stderr: string): void {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).toMatch(/^tokenfilter: /);
}

describe('CLI errors', () => {
  it('starts every error line with "tokenfilter: ", commander usage errors included', async () => {
    const unknown = await run(['filter', 'x.bin', '--out', dir, '--mode', 'mask', '--threshold', '0.5', '--bogus']);
    expect(unknown.code).toBe(2);
    expectPrefixed(unknown.stderr);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const missing = await run(['tokenize']);
    expect(missing.code).toBe(2);
    expectPrefixed(missing.stderr);
    const usage = await run(['filter', 'x.bin', '--out', dir, '--mode', 'chop', '--threshold', '0.5']);
    expect(usage.code).toBe(2);
    expectPrefixed(usage.stderr);
    expect(usage.stdout).toBe('');
  });

  it('under --json prints the error as one JSON object with its code on stdout', async () => {
    const usage = await run(['filter', 'x.bin', '--out', dir, '--mode', 'chop', '--threshold', '0.5', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: { code: 'E_OPTION', message: "--mode must be mask, remove or document, got 'chop'" } });
    expect(usage.stdout.trim().split('\n')).toHaveLength(1);
    expectPrefixed(usage.stderr);
    const missing = await run(['score', 'x.bin', '--out', dir, '--json']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error).toEqual({ code: 'E_OPTION', message: "required option '--classifier <path>' not specified" });
    const gz = join(dir, 'cut.jsonl.gz');
    writeFileSync(gz, gzipSync(Buffer.from('{"text": "a"}\n'.repeat(1000))).subarray(0, 40));
    const format = await run(['tokenize', gz, '--out', join(dir, 'cut'), '--json']);
    expect(format.code).toBe(2);
    expect(JSON.parse(format.stdout).error.code).toBe('E_FILE_FORMAT');
  });

  it('gives uncoded errors E_UNKNOWN and aborts E_ABORTED', () => {
    expect(jsonErrorCode(new Error('boom'))).toBe('E_UNKNOWN');
    expect(jsonErrorCode('a string')).toBe('E_UNKNOWN');
    expect(jsonErrorCode(new TokenfilterError('E_NATIVE', 'x'))).toBe('E_NATIVE');
    expect(jsonErrorCode(new DOMException('stop', 'AbortError'))).toBe('E_ABORTED');
  });
});

describe('--progress and tokenize progress by input bytes', () => {
  const input = join(dir, 'docs.jsonl');
  beforeAll(() => writeFileSync(input, Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `document ${i} about birds` })).join('\n') + '\n'));

  it('draws a bar with % of input bytes when asked, on a 0-column terminal at the default width', async () => {
    const bar = await run(['--progress', 'bar', 'tokenize', input, '--out', join(dir, 'bar')]);
    expect(bar.code, bar.stderr).toBe(0);
    const size = statSync(input).size;
    const drawn = bar.stderr.split('\r').filter(Boolean);
    const last = drawn[drawn.length - 1].split('\n')[0];
    expect(last).toMatch(new RegExp(`^tokenize \\[#{24}\\] 100% ${size}/${size} bytes`));
    expect(last).toHaveLength(79);
  });

  it('prints nothing with --progress none, even on a terminal, and refuses an unknown mode', async () => {
    const none = await run(['--progress', 'none', 'tokenize', input, '--out', join(dir, 'none')], true);
    expect(none.code).toBe(0);
    expect(none.stderr).not.toContain('\r');
    const bad = await run(['--progress', 'sometimes', 'tokenize', input, '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--progress must be one of auto, bar, lines, none, got 'sometimes'");
  });

  it('counts on-disk bytes as documents are read: part way through a big file, all of it at the end', async () => {
    const big = join(dir, 'big.jsonl');
    writeFileSync(big, Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `line ${i} `.repeat(5) })).join('\n') + '\n');
    const gz = join(dir, 'big.jsonl.gz');
    writeFileSync(gz, gzipSync(Buffer.from(Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ text: `gz ${i}` })).join('\n'))));
    const text = join(dir, 'note.txt');
    writeFileSync(text, 'a plain text file');
    const stream = readDocuments([big, gz, text]);
    const total = [big, gz, text].reduce((n, p) => n + statSync(p).size, 0);
    const seen: number[] = [];
    let count = 0;
    for await (const _ of stream) if (++count % 5000 === 0) seen.push(stream.bytesRead);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[0]).toBeLessThan(statSync(big).size);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(stream.bytesRead).toBe(total);
  });
});

/** Spawns the compiled CLI, sends SIGINT once `ready()` holds, and resolves with its exit. */
function interrupt(args: string[], ready: (stderr: string) => boolean): Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TOKENFILTER_THREADS: '2' } });
  let stderr = '';
  let sentAt = 0;
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const poll = setInterval(() => {
    if (sentAt === 0 && ready(stderr)) {
      sentAt = Date.now();
      child.kill('SIGINT');
    }
  }, 5);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stderr, ms: sentAt ? Date.now() - sentAt : -1 });
    });
  });
}

describe('Ctrl-C', () => {
  it('stops train through its AbortSignal: exit 130, no model file', async () => {
    const shard = join(dir, 'train.bin');
    await writeShard(shard, Uint32Array.from({ length: 20_000 }, (_, i) => 2 + ((i * 7) % 30)), { tokenizer: { vocabSize: 64, eotId: 0, hiddenId: 1, hash: 'd4'.repeat(32), name: 'test' } });
    const out = join(dir, 'interrupted.safetensors');
    const args = ['train', shard, '--out', out, '--steps', '1000000', '--layers', '1', '--dim', '32', '--heads', '2', '--context', '32', '--batch', '4'];
    const result = await interrupt(args, (stderr) => stderr.includes('model: '));
    expect(result.code, result.stderr).toBe(130);
    expect(result.ms).toBeGreaterThanOrEqual(0);
    expect(result.ms).toBeLessThan(10_000); // stopped by the signal, not the 10 s fallback
    expect(result.stderr).toMatch(/^tokenfilter: error: .*aborted/m);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.startsWith('interrupted'))).toEqual([]);
  }, 60_000);

  it('stops tokenize mid-input: exit 130, only complete shards under final names, no summary', async () => {
    const input = join(dir, 'large.jsonl');
    const line = (i: number) => JSON.stringify({ text: `Document ${i}: the robin is a small songbird with a red breast, seen in gardens. `.repeat(4) });
    writeFileSync(input, Array.from({ length: 150_000 }, (_, i) => line(i)).join('\n') + '\n');
    const out = join(dir, 'large-out');
    const result = await interrupt(['tokenize', input, '--out', out, '--shard-tokens', '200000'], () => existsSync(out) && readdirSync(out).some((n) => n.endsWith('.bin')));
    expect(result.code, result.stderr).toBe(130);
    expect(result.ms).toBeLessThan(10_000);
    expect(existsSync(join(out, 'tokenize.json'))).toBe(false);
    const names = readdirSync(out);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => /^shard_\d+\.bin$/.test(n)), names.join(', ')).toBe(true);
    for (const name of names) expect(readShard(join(out, name)).tokens.length).toBe(200_000);
  }, 120_000);
});
