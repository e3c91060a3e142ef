import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readShard, writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { filterShards } from '../../../lib/filter/filter_shards.js';
import { filterTokens } from '../../../lib/filter/filter_tokens.js';
import { temporaryPath } from '../../../lib/data/atomic_file.js';

const tokenizer = { vocabSize: 500, eotId: 0, hiddenId: 1, hash: 'a1'.repeat(32), name: 'test' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function corpus(shards: number, tokensPerShard = 3000) {
  const dir = mkdtempSync(join(tmpdir(), 'tf-filter-'));
  dirs.push(dir);
  const paths: string[] = [];
  const data: { tokens: Uint32Array; scores: Uint8Array }[] = [];
  for (let s = 0; s < shards; s++) {
    const tokens = Uint32Array.from({ length: tokensPerShard }, () => (Math.random() < 0.01 ? 0 : 2 + Math.floor(Math.random() * 498)));
    const scores = Uint8Array.from({ length: tokensPerShard }, () => Math.floor(Math.random() * 256));
    const path = join(dir, `part_${s}.bin`);
    await writeShard(path, tokens, { tokenizer });
    await writeSideFile(sideFilePathFor(path, SideFileKind.ScoresUint8), scores, { kind: SideFileKind.ScoresUint8, tokenizer });
    paths.push(path);
    data.push({ tokens, scores });
  }
  return { dir, paths, data };
}

describe('filterShards', () => {
  it('writes the same tokens and masks as filterTokens, with records and a manifest', async () => {
    const { dir, paths, data } = await corpus(3);
    const out = join(dir, 'out');
    const r = await filterShards({ shards: paths, out, mode: 'remove', threshold: 0.6 });
    expect(r.processed).toHaveLength(3);
    paths.forEach((p, s) => {
      const expected = filterTokens(data[s].tokens, data[s].scores, { mode: 'remove', threshold: 0.6, eotId: 0, hiddenId: 1 });
      const shard = readShard(join(out, `part_${s}.bin`), { expectTokenizer: tokenizer });
      expect(Array.from(shard.tokens)).toEqual(Array.from(expected.tokens));
      const mask = readSideFile(sideFilePathFor(join(out, `part_${s}.bin`), SideFileKind.LossMask), { expectKind: SideFileKind.LossMask });
      expect(Array.from(mask.values)).toEqual(Array.from(expected.lossMask));
    });
    expect(r.tokens).toBe(9000);
    expect(r.flaggedTokens + r.supervisedTokens).toBe(r.tokens);
    const manifest = JSON.parse(readFileSync(r.manifest, 'utf8'));
    expect(manifest.shards).toHaveLength(3);
    const record = JSON.parse(readFileSync(join(out, 'part_1.filter.json'), 'utf8'));
    expect(record.outputs.map((o: { path: string }) => o.path)).toEqual(['part_1.bin', 'part_1.mask.side']);
    expect(record.outputs[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('skips finished shards on a rerun and redoes a shard whose output is missing', async () => {
    const { dir, paths } = await corpus(3);
    const out = join(dir, 'out');
    await filterShards({ shards: paths, out, mode: 'mask', threshold: 0.5 });
    const first = readFileSync(join(out, 'part_2.bin'));
    const again = await filterShards({ shards: paths, out, mode: 'mask', threshold: 0.5 });
    expect(again.skipped).toHaveLength(3);
    expect(again.processed).toHaveLength(0);
    unlinkSync(join(out, 'part_2.bin'));
    const repaired = await filterShards({ shards: paths, out, mode: 'mask', threshold: 0.5 });
    expect(repaired.processed.map((p) => p.input)).toEqual([paths[2]]);
    expect(readFileSync(join(out, 'part_2.bin'))).toEqual(first);
    const changed = await filterShards({ shards: paths, out, mode: 'mask', threshold: 0.7 });
    expect(changed.processed).toHaveLength(3);
  });

  it('splits shards across tasks with the same outputs as one task', async () => {
    const { dir, paths } = await corpus(5, 1000);
    await filterShards({ shards: paths, out: join(dir, 'one'), mode: 'mask', fraction: 0.25 });
    const a = await filterShards({ shards: paths, out: join(dir, 'two'), mode: 'mask', fraction: 0.25, task: { index: 0, count: 2 } });
    const b = await filterShards({ shards: paths, out: join(dir, 'two'), mode: 'mask', fraction: 0.25, task: { index: 1, count: 2 } });
    expect(a.threshold).toBe(b.threshold);
    expect(a.processed.length + b.processed.length).toBe(5);
    for (const name of readdirSync(join(dir, 'one')).filter((f) => f.endsWith('.bin') || f.endsWith('.side')))
      expect(readFileSync(join(dir, 'two', name))).toEqual(readFileSync(join(dir, 'one', name)));
    // the global fraction is met over all shards together
    expect((a.flaggedTokens + b.flaggedTokens) / (a.tokens + b.tokens)).toBeGreaterThanOrEqual(0.25);
    expect((a.flaggedTokens + b.flaggedTokens) / (a.tokens + b.tokens)).toBeLessThan(0.26);
  });

  it('document mode at a global fraction drops whole documents', async () => {
    const { dir, paths } = await corpus(2, 5000);
    const r = await filterShards({ shards: paths, out: join(dir, 'out'), mode: 'document', fraction: 0.3 });
    expect(r.documentsDropped).toBeGreaterThan(0);
    expect(r.flaggedTokens / r.tokens).toBeGreaterThanOrEqual(0.3);
  });

  it('fails clearly without score files or with bad task options', async () => {
    const { dir, paths } = await corpus(1);
    unlinkSync(sideFilePathFor(paths[0], SideFileKind.ScoresUint8));
    await expect(filterShards({ shards: paths, out: join(dir, 'o'), mode: 'mask', threshold: 0.5 })).rejects.toThrow(/no score side file/);
    await expect(filterShards({ shards: paths, out: join(dir, 'o'), mode: 'mask', threshold: 0.5, task: { index: 2, count: 2 } })).rejects.toThrow(/task/);
    await expect(filterShards({ shards: paths, out: join(dir, 'o'), mode: 'mask' })).rejects.toThrow(/exactly one/);
  });

  it('refuses two input shards with one name (outputs are named by input) as bad input, E_OPTION', async () => {
    const a = await corpus(1);
    const b = await corpus(1);
    const error = await filterShards({ shards: [a.paths[0], b.paths[0]], out: join(a.dir, 'o'), mode: 'mask', threshold: 0.5 }).then(() => null, (e: unknown) => e);
    expect((error as { code?: string })?.code).toBe('E_OPTION');
    expect((error as Error).message).toMatch(/two input shards share the name 'part_0.bin'/);
  });

  it('keeps every separator in remove mode even when its score passes the threshold', async () => {
    const { dir, paths, data } = await corpus(1);
    await writeSideFile(sideFilePathFor(paths[0], SideFileKind.ScoresUint8), new Uint8Array(data[0].tokens.length).fill(255), { kind: SideFileKind.ScoresUint8, tokenizer });
    const out = join(dir, 'out');
    await filterShards({ shards: paths, out, mode: 'remove', threshold: 0.5 });
    const tokens = readShard(join(out, 'part_0.bin')).tokens;
    const separators = data[0].tokens.reduce((n, t) => n + (t === 0 ? 1 : 0), 0);
    expect(separators).toBeGreaterThan(0);
    tokens.forEach((t, i) => expect(t, `position ${i}`).toBe(data[0].tokens[i] === 0 ? 0 : 1));
  });

  it('never writes over its inputs: the input folder as output is refused and the shards stay as they were', async () => {
    const { dir, paths } = await corpus(2);
    const before = paths.map((p) => readFileSync(p));
    await expect(filterShards({ shards: paths, out: dir, mode: 'mask', threshold: 0.1 })).rejects.toMatchObject({
      code: 'E_OUTPUT_PATH',
      message: expect.stringContaining(`would write over input shard ${paths[0]}`),
    });
    paths.forEach((p, i) => expect(readFileSync(p)).toEqual(before[i]));
    expect(readdirSync(dir).filter((f) => f.endsWith('.filter.json'))).toEqual([]);
  });

  it('redoes a shard whose record does not verify: outputs of a killed run at other settings, changed inputs, leftovers', async () => {
    const { dir, paths } = await corpus(2);
    const out = join(dir, 'out');
    await filterShards({ shards: paths, out, mode: 'mask', threshold: 0.5 });
    const good = readFileSync(join(out, 'part_0.mask.side'));
    // a run at 0.9 killed right after renaming its outputs: same sizes, other bytes, the 0.5 record still there
    await filterShards({ shards: paths, out: join(dir, 'other'), mode: 'mask', threshold: 0.9 });
    copyFileSync(join(dir, 'other', 'part_0.mask.side'), join(out, 'part_0.mask.side'));
    const leftover = temporaryPath(join(out, 'part_0.bin'));
    writeFileSync(leftover, 'half a shard');
    const rerun = await filterShards({ shards: paths, out, mode: 'mask', threshold: 0.5 });
    expect(rerun.processed.map((r) => r.input)).toEqual([paths[0]]);
    expect(readFileSync(join(out, 'part_0.mask.side'))).toEqual(good);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // a score file rewritten in place (same size) redoes its shard
    const scores = sideFilePathFor(paths[1], SideFileKind.ScoresUint8);
    const bytes = readFileSync(scores);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(scores, bytes);
    const changed = await filterShards({ shards: paths, out, mode: 'mask', threshold: 0.5 });
    expect(changed.processed.map((r) => r.input)).toEqual([paths[1]]);
    const record = JSON.parse(readFileSync(join(out, 'part_1.filter.json'), 'utf8'));
    expect(record.inputs.map((d: { path: string }) => d.path)).toEqual([paths[1], scores]);
  });

  it('refuses a score file written with another tokenizer, naming both files', async () => {
    const { dir, paths, data } = await corpus(1);
    const scores = sideFilePathFor(paths[0], SideFileKind.ScoresUint8);
    await writeSideFile(scores, data[0].scores, { kind: SideFileKind.ScoresUint8, tokenizer: { ...tokenizer, hash: 'b2'.repeat(32) } });
    await expect(filterShards({ shards: paths, out: join(dir, 'out'), mode: 'mask', threshold: 0.5 })).rejects.toMatchObject({
      code: 'E_TOKENIZER_MISMATCH',
      message: expect.stringMatching(new RegExp(`${scores}: tokenizer mismatch with ${paths[0]}`)),
    });
  });

  it('refuses a fraction over both uint8 and float16 score files, naming one of each; a threshold works', async () => {
    const { dir, paths, data } = await corpus(2);
    const eight = sideFilePathFor(paths[1], SideFileKind.ScoresUint8);
    unlinkSync(eight);
    const sixteen = sideFilePathFor(paths[1], SideFileKind.ScoresFloat16);
    await writeSideFile(sixteen, Float32Array.from(data[1].scores, (v) => v / 255), { kind: SideFileKind.ScoresFloat16, tokenizer });
    await expect(filterShards({ shards: paths, out: join(dir, 'out'), mode: 'mask', fraction: 0.2 })).rejects.toMatchObject({
      code: 'E_MISMATCH',
      message: expect.stringMatching(/part_0\.scores8\.side holds uint8 scores .*part_1\.scores16\.side holds float16 scores/),
    });
    const r = await filterShards({ shards: paths, out: join(dir, 'out'), mode: 'mask', threshold: 0.5 });
    expect(r.processed).toHaveLength(2);
  });
});
