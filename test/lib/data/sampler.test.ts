import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchSampler } from '../../../lib/data/sampler.js';
import { sequentialBatches } from '../../../lib/data/sequential_batches.js';
import { writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { validateBatch, type Batch } from '../../../lib/data/batch.js';
import { fakeTokenizer, tempDir } from './helpers.js';

// Token value = 100,000 × shard number + position, so every token says where it came from.
const VOCAB = 1_000_000;
const tok = fakeTokenizer(VOCAB);
const { dir, cleanup } = tempDir();
const shardsA: string[] = [];
const shardsB: string[] = [];
const sizes = [1001, 650, 97];

beforeAll(async () => {
  for (let k = 0; k < 3; k++) {
    const path = join(dir, `a_${k}.bin`);
    await writeShard(path, Uint32Array.from({ length: sizes[k] }, (_, i) => 100_000 * k + i), { tokenizer: tok });
    shardsA.push(path);
    // mask: target position j learnable unless j % 3 == 0
    await writeSideFile(sideFilePathFor(path, SideFileKind.LossMask), Uint8Array.from({ length: sizes[k] }, (_, j) => (j % 3 === 0 ? 0 : 1)), { kind: SideFileKind.LossMask, tokenizer: tok });
  }
  const path = join(dir, 'b_0.bin');
  await writeShard(path, Uint32Array.from({ length: 5000 }, (_, i) => 500_000 + i), { tokenizer: tok });
  shardsB.push(path);
});
afterAll(cleanup);

const draw = (sampler: BatchSampler, n: number): Batch[] => Array.from({ length: n }, () => sampler.next());

describe('BatchSampler', () => {
  it('yields valid batches whose targets are the inputs shifted by one, from contiguous windows', () => {
    const sampler = new BatchSampler({ shards: shardsA, batch: 4, context: 16, seed: 7 });
    for (const b of draw(sampler, 10)) {
      validateBatch(b, VOCAB);
      for (let r = 0; r < 4; r++) {
        const first = b.inputs[r * 16];
        expect(first % 100_000 % 16).toBe(0); // window starts at a multiple of T
        for (let i = 0; i < 16; i++) {
          expect(b.inputs[r * 16 + i]).toBe(first + i);
          expect(b.targets[r * 16 + i]).toBe(first + i + 1);
        }
      }
    }
    sampler.close();
  });

  it('takes the loss mask at the target position from the side file', () => {
    const sampler = new BatchSampler({ shards: shardsA, batch: 8, context: 10, seed: 1 });
    const b = sampler.next();
    for (let i = 0; i < b.targets.length; i++) expect(b.lossMask[i]).toBe((b.targets[i] % 100_000) % 3 === 0 ? 0 : 1);
    sampler.close();
    const none = new BatchSampler({ shards: shardsA, batch: 8, context: 10, seed: 1, lossMask: 'none' });
    expect(none.next().lossMask.every((v) => v === 1)).toBe(true);
    none.close();
    expect(() => new BatchSampler({ shards: shardsB, batch: 1, context: 4, lossMask: 'required' })).toThrow(/no loss-mask side file/);
  });

  it('refuses a loss mask written with another tokenizer or for another length, naming shard and mask', async () => {
    const path = join(dir, 'c_0.bin');
    await writeShard(path, Uint32Array.from({ length: 300 }, (_, i) => i), { tokenizer: tok });
    const mask = sideFilePathFor(path, SideFileKind.LossMask);
    await writeSideFile(mask, new Uint8Array(300).fill(1), { kind: SideFileKind.LossMask, tokenizer: fakeTokenizer(VOCAB, 'b') });
    expect(() => new BatchSampler({ shards: [path], batch: 1, context: 4 })).toThrow(
      expect.objectContaining({ code: 'E_TOKENIZER_MISMATCH', message: expect.stringContaining(`${mask}: tokenizer mismatch with ${path}`) }),
    );
    await writeSideFile(mask, new Uint8Array(299).fill(1), { kind: SideFileKind.LossMask, tokenizer: tok });
    expect(() => new BatchSampler({ shards: [path], batch: 1, context: 4 })).toThrow(expect.objectContaining({ code: 'E_MISMATCH' }));
    expect(() => new BatchSampler({ shards: shardsB, batch: 1, context: 4, lossMask: 'required' })).toThrow(expect.objectContaining({ code: 'E_MISMATCH' }));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = draw(new BatchSampler({ shards: shardsA, batch: 3, context: 8, seed: 42 }), 5);
    const b = draw(new BatchSampler({ shards: shardsA, batch: 3, context: 8, seed: 42 }), 5);
    const c = draw(new BatchSampler({ shards: shardsA, batch: 3, context: 8, seed: 43 }), 5);
    expect(a).toEqual(b);
    expect(a.map((x) => Array.from(x.inputs))).not.toEqual(c.map((x) => Array.from(x.inputs)));
  });

  it('visits every window once per epoch, then reshuffles', () => {
    const T = 16;
    const sampler = new BatchSampler({ shards: shardsA, batch: 1, context: T, seed: 3 });
    const windows = sizes.reduce((s, n) => s + Math.floor((n - 1) / T), 0);
    expect(sampler.describe()[0].windows).toBe(windows);
    const epoch = (): number[] => draw(sampler, windows).map((b) => b.inputs[0]);
    const first = epoch();
    expect(new Set(first).size).toBe(windows);
    const second = epoch();
    expect([...second].sort()).toEqual([...first].sort());
    expect(second).not.toEqual(first);
    expect(sampler.state().sources[0].epoch).toBe(1);
  });

  it('respects source weights', () => {
    const sampler = new BatchSampler({ sources: [{ shards: shardsA, weight: 0.2, name: 'forget' }, { shards: shardsB, weight: 0.8 }], batch: 50, context: 4, seed: 9 });
    let fromB = 0;
    const rows = 6000;
    for (const b of draw(sampler, rows / 50)) for (let r = 0; r < 50; r++) if (b.inputs[r * 4] >= 500_000) fromB++;
    // binomial sd = sqrt(6000 · 0.16) ≈ 31 rows; allow 4 sd
    expect(Math.abs(fromB - 0.8 * rows)).toBeLessThan(124);
    expect(sampler.describe().map((s) => s.name)).toEqual(['forget', 'source1']);
  });

  it('resumes from a saved state on exactly the same batches', () => {
    const options = { sources: [{ shards: shardsA, weight: 1 }, { shards: shardsB, weight: 1 }], batch: 5, context: 12, seed: 11 };
    const reference = new BatchSampler(options);
    draw(reference, 40); // past an epoch of source A
    const saved = JSON.parse(JSON.stringify(reference.state()));
    const expected = draw(reference, 30);
    const resumed = new BatchSampler({ ...options, state: saved });
    expect(draw(resumed, 30)).toEqual(expected);
    expect(() => new BatchSampler({ ...options, seed: 12, state: saved })).toThrow(/seed 11.*seed 12/);
    expect(() => new BatchSampler({ ...options, context: 13, state: saved })).toThrow(/batch × context 5 × 12/);
    expect(() => new BatchSampler({ ...options, sources: [options.sources[1], options.sources[0]], state: saved })).toThrow(/windows when saved/);
  });

  it('keeps at most 64 shards open over many shards, reopening on demand', async () => {
    const many: string[] = [];
    for (let k = 0; k < 80; k++) {
      const path = join(dir, `many_${k}.bin`);
      await writeShard(path, Uint32Array.from({ length: 41 }, (_, i) => 1000 * k + i), { tokenizer: tok });
      many.push(path);
    }
    const fds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const before = fds();
    const sampler = new BatchSampler({ shards: many, batch: 16, context: 8, seed: 2 });
    const seen = new Set<number>();
    for (const b of draw(sampler, 60)) for (let r = 0; r < 16; r++) seen.add(Math.floor(b.inputs[r * 8] / 1000));
    expect(seen.size).toBe(80);
    expect(fds() - before).toBeLessThanOrEqual(64);
    sampler.close();
    expect(fds()).toBeLessThanOrEqual(before);
    expect(sampler.next().batch).toBe(16); // reopens after close
    sampler.close();
  });

  it('draws the same batches from the older uint32 layout and from plain llm.c uint32 shards', () => {
    expect(readFileSync(shardsA[0]).readInt32LE(0)).toBe(20240801); // a vocabulary of 1,000,000: llm.c's uint32 layout
    const old: string[] = [];
    const plain: string[] = [];
    for (const [k, path] of shardsA.entries()) {
      const bytes = readFileSync(path);
      const legacy = Buffer.from(bytes);
      legacy.writeInt32LE(20240520, 0);
      legacy.writeInt32LE(2, 4);
      old.push(join(dir, `old_${k}.bin`));
      writeFileSync(old[k], legacy);
      copyFileSync(sideFilePathFor(path, SideFileKind.LossMask), sideFilePathFor(old[k], SideFileKind.LossMask));
      const llmc = Buffer.from(bytes);
      llmc.fill(0, 4 * 8, 4 * 15); // no tokenizer contract, as llm.c writes it
      plain.push(join(dir, `llmc_${k}.bin`));
      writeFileSync(plain[k], llmc);
    }
    const batchesOf = (shards: string[], lossMask: 'auto' | 'none') => {
      const sampler = new BatchSampler({ shards, batch: 3, context: 9, seed: 5, lossMask });
      const out = draw(sampler, 6);
      sampler.close();
      return out;
    };
    expect(batchesOf(old, 'auto')).toEqual(batchesOf(shardsA, 'auto'));
    expect(batchesOf(plain, 'none')).toEqual(batchesOf(shardsA, 'none'));
    const sequential = (shards: string[]) => Array.from(sequentialBatches({ shards, batch: 2, context: 50 }), (b) => [b.inputs, b.targets, b.lossMask]);
    expect(sequential(old)).toEqual(sequential(shardsA));
  });

  it('rejects bad options and shards too short for a window', () => {
    expect(() => new BatchSampler({ shards: shardsA, batch: 0, context: 4 })).toThrow(/batch must be a positive integer/);
    expect(() => new BatchSampler({ shards: shardsA, sources: [], batch: 1, context: 4 } as never)).toThrow(/either shards or sources/);
    expect(() => new BatchSampler({ sources: [{ shards: shardsA, weight: -1 }], batch: 1, context: 4 })).toThrow(/weight must be/);
    expect(() => new BatchSampler({ shards: [shardsA[2]], batch: 1, context: 200 })).toThrow(/no window of context \+ 1 = 201 tokens/);
    expect(() => new BatchSampler({ shards: shardsA, batch: 1, context: 4, expectTokenizer: fakeTokenizer(VOCAB, 'b') })).toThrow(/tokenizer mismatch/);
  });
});

describe('sequentialBatches', () => {
  it('scores every target of every shard exactly once, in order, with the mask side file applied', () => {
    const T = 64;
    const seen = new Map<number, number>();
    let batches = 0;
    for (const b of sequentialBatches({ shards: [...shardsA, ...shardsB], batch: 4, context: T, lossMask: 'none' })) {
      batches++;
      validateBatch(b, VOCAB);
      for (let i = 0; i < b.targets.length; i++) {
        if (b.lossMask[i]) seen.set(b.targets[i], (seen.get(b.targets[i]) ?? 0) + 1);
        if (b.lossMask[i]) expect(b.targets[i]).toBe(b.inputs[i] + 1);
      }
    }
    const expected: number[] = [];
    sizes.forEach((n, k) => { for (let j = 1; j < n; j++) expected.push(100_000 * k + j); });
    for (let j = 1; j < 5000; j++) expected.push(500_000 + j);
    expect([...seen.keys()].sort((x, y) => x - y)).toEqual(expected);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect(batches).toBeGreaterThan(1);
  });

  it('pads a short shard and masks the padding; last batch may be smaller; masks come from side files', () => {
    const batches = [...sequentialBatches({ shards: [shardsA[2]], batch: 3, context: 128 })];
    expect(batches.length).toBe(1);
    const b = batches[0];
    expect(b.batch).toBe(1);
    expect(b.rows).toEqual([{ shard: shardsA[2], start: 0, length: 96 }]);
    expect(b.inputs[96]).toBe(tok.eotId);
    expect(Array.from(b.lossMask.subarray(90, 100))).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 0, 0]); // targets 200091..200096 (masked where % 3 == 0), then padding
  });
});
