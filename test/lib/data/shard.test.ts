import { readFileSync, statSync, truncateSync, writeFileSync, appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARD_MAGIC, SHARD_MAGIC_UINT32, ShardFile, readShard, readShardHeader, writeShard } from '../../../lib/data/shard.js';
import { ShardWriter } from '../../../lib/data/shard_writer.js';
import { HEADER_BYTES } from '../../../lib/data/binary_header.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../../../lib/data/side_file.js';
import { fakeTokenizer, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

function randomIds(n: number, vocab: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % vocab;
  }
  return out;
}

/** Rewrites int32 header word `index` of a file. */
function patchWord(path: string, index: number, value: number): void {
  const bytes = readFileSync(path);
  bytes.writeInt32LE(value, 4 * index);
  writeFileSync(path, bytes);
}

describe('token shards', () => {
  it('round-trips uint16 (version 1) with the llm.c header and the tokenizer contract', async () => {
    const tok = fakeTokenizer(50_000);
    const ids = randomIds(10_001, 50_000, 1);
    const path = join(dir, 'v1.bin');
    await writeShard(path, ids, { tokenizer: tok });
    expect(statSync(path).size).toBe(HEADER_BYTES + 2 * ids.length);
    const raw = readFileSync(path);
    expect([raw.readInt32LE(0), raw.readInt32LE(4), raw.readInt32LE(8)]).toEqual([SHARD_MAGIC, 1, ids.length]);
    expect(raw.readUInt16LE(HEADER_BYTES + 2 * 7)).toBe(ids[7]);
    const shard = readShard(path, { expectTokenizer: tok });
    expect(shard.tokens).toBeInstanceOf(Uint16Array);
    expect(Array.from(shard.tokens)).toEqual(Array.from(ids));
    expect(shard.header.tokenizer).toMatchObject({ vocabSize: 50_000, eotId: 49_999, hiddenId: 49_998 });
    expect(shard.header.tokenizer.hashPrefix).toBe(tok.hash.slice(0, 32));
  });

  it('writes uint32 in llm.c\'s layout (magic 20240801, version 7) for vocabularies over 65,536', async () => {
    const tok = fakeTokenizer(100_277);
    const ids = randomIds(5000, 100_277, 2);
    ids[3] = 100_276;
    const path = join(dir, 'v7.bin');
    await writeShard(path, ids, { tokenizer: tok });
    const shard = readShard(path, { expectTokenizer: tok });
    expect([shard.header.magic, shard.header.version, shard.header.tokenBytes]).toEqual([SHARD_MAGIC_UINT32, 7, 4]);
    expect(shard.tokens).toBeInstanceOf(Uint32Array);
    expect(Array.from(shard.tokens)).toEqual(Array.from(ids));
    // llm.c's uint32 loader, written down: int32 [0] magic 20240801, [1] version 7, [2] count;
    // the tokens are count × uint32 at byte 1024 = 256 × 4 and the file ends there
    const raw = readFileSync(path);
    expect([raw.readInt32LE(0), raw.readInt32LE(4), raw.readInt32LE(8)]).toEqual([20240801, 7, ids.length]);
    expect(raw.length).toBe(1024 + 4 * ids.length);
    const asLlmc = Array.from({ length: raw.readInt32LE(8) }, (_, i) => raw.readUInt32LE(1024 + 4 * i));
    expect(asLlmc).toEqual(Array.from(ids));
    // the contract sits in words 8..14, which that loader ignores; words 3..7 stay zero
    expect([3, 4, 5, 6, 7].map((w) => raw.readInt32LE(4 * w))).toEqual([0, 0, 0, 0, 0]);
    expect([raw.readInt32LE(32), raw.readInt32LE(36), raw.readInt32LE(40)]).toEqual([100_277, tok.eotId, tok.hiddenId]);
    await expect(writeShard(join(dir, 'bad.bin'), ids, { tokenizer: tok, version: 1 })).rejects.toThrow(/cannot hold/);
    await expect(writeShard(join(dir, 'bad.bin'), ids, { tokenizer: tok, version: 2 as 7 })).rejects.toThrow(/must be 1 \(uint16\) or 7/);
    expect(() => new ShardWriter({ dir: join(dir, 'never2'), tokenizer: tok, version: 2 as 7 })).toThrow(/must be 1 \(uint16\) or 7/);
    const streamed = new ShardWriter({ dir: join(dir, 'wide'), tokenizer: tok });
    await streamed.writeDocument(ids.subarray(0, 10));
    const [wide] = await streamed.close();
    expect(readFileSync(wide).readInt32LE(0)).toBe(SHARD_MAGIC_UINT32);
    expect(readShard(wide).header.version).toBe(7);
  });

  it('still reads the older uint32 layout (magic 20240520, version 2) everywhere', async () => {
    const tok = fakeTokenizer(70_000);
    const ids = randomIds(600, 70_000, 12);
    const path = join(dir, 'old-v2.bin');
    await writeShard(path, ids, { tokenizer: tok });
    patchWord(path, 0, SHARD_MAGIC);
    patchWord(path, 1, 2);
    const shard = readShard(path, { expectTokenizer: tok });
    expect([shard.header.magic, shard.header.version, shard.header.tokenBytes]).toEqual([SHARD_MAGIC, 2, 4]);
    expect(Array.from(shard.tokens)).toEqual(Array.from(ids));
    expect(readShardHeader(path).tokenCount).toBe(600);
    const file = new ShardFile(path, { expectTokenizer: tok });
    expect(Array.from(file.read(590, new Uint32Array(10)))).toEqual(Array.from(ids.subarray(590)));
    file.close();
    // version 7 under the uint16 magic, and version 2 under llm.c's uint32 magic, are refused
    patchWord(path, 1, 7);
    expect(() => readShard(path)).toThrow(/unsupported shard version 7 for magic 20240520/);
    patchWord(path, 0, SHARD_MAGIC_UINT32);
    patchWord(path, 1, 2);
    expect(() => readShardHeader(path)).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', message: expect.stringMatching(/unsupported shard version 2 for magic 20240801/) }));
  });

  it('streams documents with <|endoftext|> before each and rolls over at shardTokens', async () => {
    const tok = fakeTokenizer(1000);
    const out = join(dir, 'stream');
    const writer = new ShardWriter({ dir: out, prefix: 'train', shardTokens: 7, tokenizer: tok });
    const docs = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11], [12]];
    for (const d of docs) await writer.writeDocument(Uint32Array.from(d));
    const paths = await writer.close();
    expect(paths.map((p) => p.slice(out.length + 1))).toEqual(['train_000000.bin', 'train_000001.bin', 'train_000002.bin']);
    expect(readdirSync(out).sort()).toEqual(['train_000000.bin', 'train_000001.bin', 'train_000002.bin']);
    const all = paths.flatMap((p) => Array.from(readShard(p, { expectTokenizer: tok }).tokens));
    expect(all).toEqual([999, 1, 2, 3, 999, 4, 5, 6, 7, 8, 9, 10, 11, 999, 12]);
    expect(paths.map((p) => readShardHeader(p).tokenCount)).toEqual([7, 7, 1]);
    expect(writer.documents).toBe(3);
    expect(writer.tokens).toBe(15);
    await expect(writer.writeDocument([1])).rejects.toThrow(/closed/);
  });

  it('writes a side file per shard in step with the tokens, across rollovers', async () => {
    const tok = fakeTokenizer(1000);
    const out = join(dir, 'with-labels');
    const writer = new ShardWriter({ dir: out, prefix: 'lab', shardTokens: 4, tokenizer: tok, sideKind: SideFileKind.Labels });
    await writer.writeDocument(Uint32Array.from([1, 2, 3]), Uint8Array.from([0, 1, 1]));
    await writer.writeDocument([4, 5, 6, 7, 8], Uint8Array.from([1, 0, 0, 1, 0]));
    await expect(writer.writeDocument([9], Uint8Array.from([1, 1]))).rejects.toThrow(/one per id/);
    await expect(writer.writeDocument([9])).rejects.toThrow(/one per id/);
    const paths = await writer.close();
    expect(paths.length).toBe(3); // 10 tokens in shards of 4
    const tokens = paths.flatMap((p) => Array.from(readShard(p).tokens));
    const labels = paths.flatMap((p) =>
      Array.from(readSideFile(sideFilePathFor(p, SideFileKind.Labels), { expectKind: SideFileKind.Labels, expectTokens: readShardHeader(p).tokenCount, expectTokenizer: tok }).values),
    );
    expect(tokens).toEqual([999, 1, 2, 3, 999, 4, 5, 6, 7, 8]);
    expect(labels).toEqual([0, 0, 1, 1, 0, 1, 0, 0, 1, 0]);
    const masks = new ShardWriter({ dir: join(dir, 'with-mask'), tokenizer: tok, sideKind: SideFileKind.LossMask });
    await expect(masks.writeDocument([1, 2], Uint8Array.from([1, 2]))).rejects.toThrow(/loss mask value 2/);
    await masks.writeDocument([1, 2], Uint8Array.from([0, 1]));
    const [maskShard] = await masks.close();
    expect(Array.from(readSideFile(sideFilePathFor(maskShard, SideFileKind.LossMask)).values)).toEqual([1, 0, 1]); // separator learned
    const plain = new ShardWriter({ dir: join(dir, 'plain'), tokenizer: tok });
    await expect(plain.writeDocument([1], Uint8Array.from([1]))).rejects.toThrow(/no sideKind/);
    await plain.abort();
  });

  it('refuses ids outside the vocabulary when writing', async () => {
    const tok = fakeTokenizer(100);
    const writer = new ShardWriter({ dir: join(dir, 'w'), tokenizer: tok });
    await expect(writer.writeDocument([1, 100])).rejects.toThrow(/token 1 has id 100, outside the vocabulary of 100/);
    await expect(writer.writeDocument([1, -1])).rejects.toThrow(/id -1/);
    await expect(writeShard(join(dir, 'x.bin'), [5, 1.5], { tokenizer: tok })).rejects.toThrow(/id 1.5/);
    await writer.abort();
  });

  it('reads token ranges from a ShardFile', async () => {
    const tok = fakeTokenizer(70_000);
    const ids = randomIds(3000, 70_000, 3);
    const path = join(dir, 'range.bin');
    await writeShard(path, ids, { tokenizer: tok });
    const file = new ShardFile(path, { expectTokenizer: tok });
    expect(Array.from(file.read(1234, new Uint32Array(17)))).toEqual(Array.from(ids.subarray(1234, 1251)));
    expect(() => file.read(2990, new Uint32Array(11))).toThrow(/outside the shard's 3000 tokens/);
    file.close();
    expect(() => file.read(0, new Uint32Array(1))).toThrow(expect.objectContaining({ code: 'E_STATE', message: `${path}: read after close` }));
    file.close(); // closing twice is harmless
  });

  it('gives file-format errors the code E_FILE_FORMAT and the path', async () => {
    const tok = fakeTokenizer(1000);
    const path = join(dir, 'coded.bin');
    await writeShard(path, randomIds(50, 1000, 9), { tokenizer: tok });
    patchWord(path, 1, 7);
    expect(() => readShard(path)).toThrow(expect.objectContaining({ name: 'TokenfilterError', code: 'E_FILE_FORMAT', path }));
    patchWord(path, 1, 1);
    const bytes = readFileSync(path);
    bytes.writeUInt16LE(1000, HEADER_BYTES + 2 * 13);
    writeFileSync(path, bytes);
    expect(() => readShard(path)).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', message: `${path}: token 13 has id 1000, outside the vocabulary of 1000` }));
    const file = new ShardFile(path);
    expect(() => file.read(10, new Uint32Array(5))).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT' }));
    expect(() => file.read(0, [0] as unknown as Uint32Array)).toThrow(TypeError);
    file.close();
  });

  describe('rejects bad files with a message naming the file', () => {
    const tok = fakeTokenizer(1000);
    const make = async (name: string) => {
      const path = join(dir, name);
      await writeShard(path, randomIds(100, 1000, 4), { tokenizer: tok });
      return path;
    };

    it('truncated', async () => {
      const path = await make('trunc.bin');
      truncateSync(path, HEADER_BYTES + 150);
      expect(() => readShard(path)).toThrow(`${path}: truncated shard: the header records 100 tokens (1224 bytes), the file has 1174 bytes`);
      truncateSync(path, 10);
      expect(() => readShard(path)).toThrow(/truncated header: the file has 10 bytes/);
    });

    it('a folder or a missing file', () => {
      expect(() => readShard(dir)).toThrow(new RegExp(`${dir}.*EISDIR|EISDIR.*${dir}|${dir}: truncated`));
      expect(() => readShard(join(dir, 'absent.bin'))).toThrow(/absent.bin/);
      expect(() => new ShardFile(join(dir, 'absent.bin'))).toThrow(/absent.bin/);
    });

    it('oversized', async () => {
      const path = await make('over.bin');
      appendFileSync(path, Buffer.alloc(3));
      expect(() => readShard(path)).toThrow(/oversized shard: the header records 100 tokens \(1224 bytes\), the file has 1227 bytes/);
    });

    it('wrong magic and version', async () => {
      const path = await make('magic.bin');
      patchWord(path, 0, 12345);
      expect(() => readShard(path)).toThrow(/not a token shard: magic 12345, expected 20240520 or 20240801/);
      const path2 = await make('version.bin');
      patchWord(path2, 1, 7);
      expect(() => readShard(path2)).toThrow(/unsupported shard version 7/);
    });

    it('hostile counts and contract fields', async () => {
      const path = await make('neg.bin');
      patchWord(path, 2, -5);
      expect(() => readShard(path)).toThrow(/negative token count \(-5\)/);
      patchWord(path, 2, 0x7fffffff);
      expect(() => readShard(path)).toThrow(/truncated shard: the header records 2147483647 tokens/);
      const path2 = await make('vocab.bin');
      patchWord(path2, 8, -1);
      expect(() => readShard(path2)).toThrow(/negative vocabulary size/);
      patchWord(path2, 8, 1000);
      patchWord(path2, 9, 5000);
      expect(() => readShard(path2)).toThrow(/end-of-text id 5000 outside the vocabulary of 1000/);
      patchWord(path2, 9, 999);
      patchWord(path2, 8, 100_000);
      expect(() => readShard(path2)).toThrow(/version 1 \(uint16\) shard records a vocabulary of 100000/);
    });

    it('ids at or above the recorded vocabulary', async () => {
      const path = await make('ids.bin');
      const bytes = readFileSync(path);
      bytes.writeUInt16LE(1000, HEADER_BYTES + 2 * 42);
      writeFileSync(path, bytes);
      expect(() => readShard(path)).toThrow(`${path}: token 42 has id 1000, outside the vocabulary of 1000`);
      expect(readShard(path, { validateIds: false }).tokens[42]).toBe(1000);
    });

    it('ids out of range in long shards (native scan), uint16 and uint32', async () => {
      for (const vocab of [1000, 70_000]) {
        const path = join(dir, `long-${vocab}.bin`);
        await writeShard(path, randomIds(10_000, vocab, 5), { tokenizer: fakeTokenizer(vocab) });
        const width = vocab > 65536 ? 4 : 2;
        const bytes = readFileSync(path);
        if (width === 2) bytes.writeUInt16LE(vocab, HEADER_BYTES + 2 * 7777);
        else bytes.writeUInt32LE(vocab + 5, HEADER_BYTES + 4 * 7777);
        writeFileSync(path, bytes);
        expect(() => readShard(path)).toThrow(`${path}: token 7777 has id ${width === 2 ? vocab : vocab + 5}, outside the vocabulary of ${vocab}`);
        const ids = randomIds(5000, vocab, 6);
        ids[4321] = vocab;
        await expect(writeShard(join(dir, 'never.bin'), ids, { tokenizer: fakeTokenizer(vocab) })).rejects.toThrow(/token 4321 has id/);
        const writer = new ShardWriter({ dir: join(dir, 'never'), tokenizer: fakeTokenizer(vocab) });
        await expect(writer.writeDocument(ids)).rejects.toThrow(/document 0: token 4321 has id/);
        await writer.abort();
      }
    });

    it('a tokenizer mismatch, naming both', async () => {
      const path = await make('mismatch.bin');
      const other = fakeTokenizer(1000, 'b');
      expect(() => readShard(path, { expectTokenizer: other })).toThrow(
        new RegExp(`tokenizer mismatch: the file was written with vocab 1000, eot 999, hidden 998, hash a{32}, but the expected tokenizer is 'fake-1000-b' vocab 1000, eot 999, hidden 998, hash b{32}`),
      );
      expect(() => new ShardFile(path, { expectTokenizer: fakeTokenizer(2000) })).toThrow(/tokenizer mismatch/);
    });
  });

  it('reads plain llm.c shards (no contract recorded) but refuses them when a tokenizer is expected', () => {
    const path = join(dir, 'llmc.bin');
    const bytes = Buffer.alloc(HEADER_BYTES + 2 * 3);
    bytes.writeInt32LE(SHARD_MAGIC, 0);
    bytes.writeInt32LE(1, 4);
    bytes.writeInt32LE(3, 8);
    [50256, 15496, 11].forEach((v, i) => bytes.writeUInt16LE(v, HEADER_BYTES + 2 * i));
    writeFileSync(path, bytes);
    const shard = readShard(path);
    expect(Array.from(shard.tokens)).toEqual([50256, 15496, 11]);
    expect(shard.header.tokenizer.vocabSize).toBe(0);
    expect(() => readShard(path, { expectTokenizer: fakeTokenizer(50257) })).toThrow(/no tokenizer recorded/);
  });
});
