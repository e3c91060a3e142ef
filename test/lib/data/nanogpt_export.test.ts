import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportNanoGpt, NANOGPT_MASK_CONVENTION } from '../../../lib/data/nanogpt_export.js';
import { readShard, writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { BatchSampler } from '../../../lib/data/sampler.js';
import type { TokenizerContract } from '../../../lib/data/tokenizer_contract.js';
import { fakeTokenizer, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('tf-nanogpt-');
afterAll(cleanup);

function ids(n: number, vocab: number, seed: number): Uint32Array {
  let s = seed >>> 0;
  return Uint32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % vocab);
}

/**
 * nanoGPT's loader, written down: `np.memmap(path, dtype=np.uint16, mode='r')` maps the whole
 * file, no header, little-endian uint16, so the token count is the byte count / 2.
 */
function memmapUint16(path: string): number[] {
  const bytes = readFileSync(path);
  return Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readUInt16LE(2 * i));
}

async function shard(name: string, tokens: Uint32Array, tokenizer: TokenizerContract, mask?: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeShard(path, tokens, { tokenizer });
  if (mask) await writeSideFile(sideFilePathFor(path, SideFileKind.LossMask), mask, { kind: SideFileKind.LossMask, tokenizer });
  return path;
}

/** A plain llm.c file (no tokenizer recorded): magic, version, count, then the tokens at byte 1024. */
function plainLlmc(name: string, magic: number, version: number, tokens: number[]): string {
  const width = version === 1 ? 2 : 4;
  const bytes = Buffer.alloc(1024 + width * tokens.length);
  [magic, version, tokens.length].forEach((w, i) => bytes.writeInt32LE(w, 4 * i));
  tokens.forEach((t, i) => (width === 2 ? bytes.writeUInt16LE(t, 1024 + 2 * i) : bytes.writeUInt32LE(t, 1024 + 4 * i)));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('exportNanoGpt', () => {
  const tok = fakeTokenizer(50_257);

  it('writes headerless uint16 train.bin / val.bin that nanoGPT reads as the shards\' tokens, masks beside them', async () => {
    const a = ids(3001, 50_257, 1);
    a[5] = 50_256;
    const maskA = Uint8Array.from(ids(3001, 2, 7));
    const b = ids(1200, 50_257, 2);
    const v = ids(700, 50_257, 3);
    const shardA = await shard('a.bin', a, tok, maskA);
    const shardB = await shard('b.bin', b, tok);
    const shardV = await shard('v.bin', v, tok, Uint8Array.from(ids(700, 2, 9)));
    const out = join(dir, 'nano');
    const result = await exportNanoGpt({ train: [shardA, shardB], val: [shardV], out });
    expect(readdirSync(out).sort()).toEqual(['meta.json', 'train.bin', 'train.mask.bin', 'val.bin', 'val.mask.bin']);
    const train = memmapUint16(join(out, 'train.bin'));
    expect(train.length).toBe(4201);
    expect(train).toEqual([...Array.from(readShard(shardA).tokens), ...Array.from(readShard(shardB).tokens)]);
    expect(memmapUint16(join(out, 'val.bin'))).toEqual(Array.from(v));
    const trainMask = Array.from(readFileSync(join(out, 'train.mask.bin')));
    expect(trainMask).toEqual([...Array.from(maskA), ...new Array(1200).fill(1)]); // b has no mask: all learned
    expect(readFileSync(join(out, 'val.mask.bin')).length).toBe(700);
    expect(result.train).toMatchObject({ tokens: 4201, shardsWithMask: 1, learnedTargets: trainMask.filter((m) => m === 1).length });
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({
      format: 'nanogpt', dtype: 'uint16', byte_order: 'little', header_bytes: 0, vocab_size: 50_257,
      tokenizer: { vocab_size: 50_257, eot_id: 50_256, hidden_id: 50_255, hash_prefix: tok.hash.slice(0, 32) },
      mask: { dtype: 'uint8', convention: NANOGPT_MASK_CONVENTION },
      train: { file: 'train.bin', mask: 'train.mask.bin', tokens: 4201, shards: [shardA, shardB], shards_with_mask: 1 },
      val: { file: 'val.bin', tokens: 700, shards_with_mask: 1 },
    });
  });

  it('gives the loss mask at the target: nanoGPT\'s y = data[i+1:i+1+T] takes mask[i+1:i+1+T], as BatchSampler does', async () => {
    const tokens = Uint32Array.from({ length: 400 }, (_, i) => i);
    const mask = Uint8Array.from({ length: 400 }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const path = await shard('aligned.bin', tokens, fakeTokenizer(1000), mask);
    const out = join(dir, 'aligned');
    await exportNanoGpt({ train: [path], out });
    const data = memmapUint16(join(out, 'train.bin'));
    const m = readFileSync(join(out, 'train.mask.bin'));
    const T = 16;
    const sampler = new BatchSampler({ shards: [path], batch: 4, context: T, seed: 3 });
    const batch = sampler.next();
    sampler.close();
    for (let r = 0; r < 4; r++) {
      const i = batch.inputs[r * T]; // token value = position
      expect(data.slice(i + 1, i + 1 + T)).toEqual(Array.from(batch.targets.subarray(r * T, (r + 1) * T)));
      expect(Array.from(m.subarray(i + 1, i + 1 + T))).toEqual(Array.from(batch.lossMask.subarray(r * T, (r + 1) * T)));
    }
  });

  it('takes vocabularies up to 65,536 ids and plain llm.c files whose ids fit', async () => {
    const full = Uint32Array.from([65_535, 0, 1, 65_534]);
    const path = await shard('full.bin', full, fakeTokenizer(65_536));
    await exportNanoGpt({ train: [path], out: join(dir, 'full') });
    expect(memmapUint16(join(dir, 'full', 'train.bin'))).toEqual([65_535, 0, 1, 65_534]);
    const plain = plainLlmc('plain32.bin', 20240801, 7, [50_256, 17, 65_535]);
    const result = await exportNanoGpt({ train: [plain], out: join(dir, 'plain') });
    expect(memmapUint16(join(dir, 'plain', 'train.bin'))).toEqual([50_256, 17, 65_535]);
    expect(result.vocabSize).toBeNull();
    expect(JSON.parse(readFileSync(join(dir, 'plain', 'meta.json'), 'utf8'))).toMatchObject({ vocab_size: null, tokenizer: null });
  });

  it('refuses a vocabulary over 65,536 ids (E_OPTION naming it) and ids over 65,535, writing nothing', async () => {
    const wide = await shard('wide.bin', ids(50, 100_277, 4), fakeTokenizer(100_277));
    const out = join(dir, 'refused');
    await expect(exportNanoGpt({ train: [wide], out })).rejects.toThrow(
      expect.objectContaining({ code: 'E_OPTION', message: expect.stringMatching(/vocabulary of 100277 ids does not fit nanoGPT's uint16/) }),
    );
    expect(existsSync(out)).toBe(false);
    const small = await shard('small.bin', ids(50, 1000, 5), fakeTokenizer(50_257));
    await expect(exportNanoGpt({ train: [small], val: [wide], out })).rejects.toThrow(/tokenizer mismatch/);
    const big = plainLlmc('big32.bin', 20240801, 7, [1, 2, 70_000, 3]);
    const plainOk = plainLlmc('ok32.bin', 20240801, 7, [1, 2]);
    await expect(exportNanoGpt({ train: [plainOk, big], out })).rejects.toThrow(
      expect.objectContaining({ code: 'E_OPTION', message: `${big}: token 2 has id 70000, which does not fit nanoGPT's uint16 tokens (ids 0 … 65,535)` }),
    );
    expect(readdirSync(out)).toEqual([]); // the partial train.bin and mask were discarded
    await expect(exportNanoGpt({ train: [], out })).rejects.toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });

  it('refuses to write over an input and refuses a bad mask', async () => {
    const sub = join(dir, 'inplace');
    const path = await shard('x.bin', ids(40, 1000, 6), fakeTokenizer(1000));
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(sub);
    copyFileSync(path, join(sub, 'train.bin'));
    await expect(exportNanoGpt({ train: [join(sub, 'train.bin')], out: sub })).rejects.toThrow(
      expect.objectContaining({ code: 'E_OUTPUT_PATH', message: expect.stringMatching(/would write over input shard/) }),
    );
    expect(memmapUint16(join(sub, 'train.bin')).length).toBe(512 + 40); // untouched: still header + tokens
    const masked = await shard('badmask.bin', ids(40, 1000, 8), fakeTokenizer(1000), new Uint8Array(40).fill(1));
    const side = sideFilePathFor(masked, SideFileKind.LossMask);
    const bytes = readFileSync(side);
    bytes[1024 + 33] = 2;
    writeFileSync(side, bytes);
    // the train split is complete when the val mask fails: still nothing is renamed into place
    await expect(exportNanoGpt({ train: [path], val: [masked], out: join(dir, 'badmask') })).rejects.toThrow(
      expect.objectContaining({ code: 'E_FILE_FORMAT', message: `${side}: loss mask value 2 at token 33 (expected 0 or 1)` }),
    );
    expect(readdirSync(join(dir, 'badmask'))).toEqual([]);
  });
});
