import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../lib/cli/main.js';
import type { CliIO } from '../../../lib/cli/output.js';
import { writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { fakeTokenizer, tempDir } from '../data/helpers.js';

const { dir, cleanup } = tempDir('tf-export-');
afterAll(cleanup);

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false } };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** nanoGPT's `np.memmap(path, dtype=np.uint16, mode='r')`: the whole file as little-endian uint16. */
const memmapUint16 = (path: string) => {
  const bytes = readFileSync(path);
  return Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16LE(2 * i));
};

describe('tokenfilter export --format nanogpt', () => {
  it('writes train.bin, val.bin, their masks and meta.json; prints a summary', async () => {
    const tok = fakeTokenizer(50_257);
    const train = [join(dir, 't0.bin'), join(dir, 't1.bin')];
    await writeShard(train[0], [50_256, 10, 11, 12], { tokenizer: tok });
    await writeSideFile(sideFilePathFor(train[0], SideFileKind.LossMask), Uint8Array.from([1, 0, 0, 1]), { kind: SideFileKind.LossMask, tokenizer: tok });
    await writeShard(train[1], [50_256, 20], { tokenizer: tok });
    const val = join(dir, 'v0.bin');
    await writeShard(val, [50_256, 30, 31], { tokenizer: tok });
    const out = join(dir, 'nano');
    const { code, stdout, stderr } = await run('export', '--format', 'nanogpt', '--out', out, ...train, '--val', val, '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ command: 'export', format: 'nanogpt', vocabSize: 50_257, train: { tokens: 6, shardsWithMask: 1, learnedTargets: 4 }, val: { tokens: 3 } });
    expect(memmapUint16(join(out, 'train.bin'))).toEqual([50_256, 10, 11, 12, 50_256, 20]);
    expect(Array.from(readFileSync(join(out, 'train.mask.bin')))).toEqual([1, 0, 0, 1, 1, 1]);
    expect(memmapUint16(join(out, 'val.bin'))).toEqual([50_256, 30, 31]);
    expect(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'))).toMatchObject({ vocab_size: 50_257, train: { tokens: 6 }, val: { tokens: 3 } });
    const plain = await run('export', '--format', 'nanogpt', '--out', join(dir, 'nano2'), train[1]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^export: .*train\.bin \(2 tokens, 0\/1 shards with a loss mask\); .*meta\.json\n$/);
    expect(existsSync(join(dir, 'nano2', 'val.bin'))).toBe(false);
  });

  it('exits 2 with one line for a vocabulary over 65,536, an unknown format, a missing shard, an output over an input', async () => {
    const wide = join(dir, 'wide.bin');
    await writeShard(wide, [1, 2, 3], { tokenizer: fakeTokenizer(100_277) });
    const refused = await run('export', '--format', 'nanogpt', '--out', join(dir, 'never'), wide);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`tokenfilter: error: ${wide}: vocabulary of 100277 ids does not fit nanoGPT's uint16 tokens (at most 65536 ids, 0 … 65,535)\n`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const format = await run('export', '--format', 'megatron', '--out', join(dir, 'never'), wide);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--format must be one of nanogpt, got 'megatron'/);
    const missing = await run('export', '--format', 'nanogpt', '--out', join(dir, 'never'), join(dir, 'absent.bin'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/absent\.bin/);
    const noFormat = await run('export', '--out', join(dir, 'never'), wide);
    expect(noFormat.code).toBe(2);
    const small = join(dir, 'train.bin');
    await writeShard(small, [1, 2], { tokenizer: fakeTokenizer(100) });
    const over = await run('export', '--format', 'nanogpt', '--out', dir, small);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/would write over input shard/);
  });
});
