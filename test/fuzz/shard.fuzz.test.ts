// Mutated token shards: every mutation is either read to tokens that write back and read again
// identically, or refused with a coded error (readShard, readShardHeader, ShardFile ranges).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HEADER_BYTES } from '../../lib/data/binary_header.js';
import { SHARD_MAGIC, SHARD_MAGIC_UINT32, ShardFile, readShard, readShardHeader, shardVersionFor, writeShard, type Shard } from '../../lib/data/shard.js';
import type { TokenizerContract } from '../../lib/data/tokenizer_contract.js';
import { fakeTokenizer, tempDir } from '../lib/data/helpers.js';
import { caseCount, caseLabel, caseRng, checkInput, expectCodedError, mutate } from './fuzz_kit.js';

const { dir, cleanup } = tempDir('tf-fuzz-shard-');
afterAll(cleanup);

/** A contract matching what a header records (the hash is known only by its prefix). */
function contractOf(shard: Shard): TokenizerContract | null {
  const t = shard.header.tokenizer;
  if (t.vocabSize === 0) return null;
  return { vocabSize: t.vocabSize, eotId: t.eotId, hiddenId: t.hiddenId, hash: t.hashPrefix.padEnd(64, '0') };
}

async function roundTrip(shard: Shard, label: string): Promise<void> {
  expect(shard.tokens.length, label).toBe(shard.header.tokenCount);
  const contract = contractOf(shard);
  if (contract === null) return; // a plain llm.c shard: nothing to write a contract from
  const again = join(dir, 'again.bin');
  await writeShard(again, shard.tokens, { tokenizer: contract, version: shardVersionFor(shard.header.tokenBytes) });
  const reread = readShard(again);
  // an older uint32 shard (20240520 v2) is written back in llm.c's uint32 layout (20240801 v7)
  const { magic, version, ...rest } = shard.header;
  const written = shard.header.tokenBytes === 2 ? { magic, version } : { magic: SHARD_MAGIC_UINT32, version: 7 };
  expect(reread.header, label).toEqual({ ...rest, ...written });
  expect(Buffer.from(reread.tokens.buffer, reread.tokens.byteOffset, reread.tokens.byteLength).equals(
    Buffer.from(shard.tokens.buffer, shard.tokens.byteOffset, shard.tokens.byteLength)), label).toBe(true);
}

describe('fuzz: token shards', () => {
  it('reads or refuses (coded) every mutated shard: uint16 (v1), llm.c uint32 (v7), older uint32 (v2)', async () => {
    const seeds: [string, number][] = [['v1', 1000], ['v7', 70_000], ['v2', 70_000]];
    const outcomes = { parsed: 0, refused: 0 };
    for (const [name, vocab] of seeds) {
      const source = join(dir, `${name}.bin`);
      const rng0 = caseRng(`shard-${name}`, -1);
      await writeShard(source, Uint32Array.from({ length: 300 }, () => rng0.below(vocab)), { tokenizer: fakeTokenizer(vocab) });
      const good = readFileSync(source);
      if (name === 'v2') {
        good.writeInt32LE(SHARD_MAGIC, 0); // the older uint32 layout
        good.writeInt32LE(2, 4);
      }
      const cases = caseCount(60);
      for (let i = 0; i < cases; i++) {
        const rng = caseRng(`shard-${name}`, i);
        const { bytes, how } = mutate(good, rng, [0, 64]);
        const label = caseLabel(`shard-${name}`, i, how);
        const path = join(dir, 'case.bin');
        writeFileSync(path, bytes);
        outcomes[await checkInput(label, () => readShard(path), (s) => roundTrip(s, label))]++;
        await checkInput(label, () => readShardHeader(path), () => undefined);
        let file: ShardFile | null = null;
        try {
          file = new ShardFile(path);
        } catch (error) {
          expectCodedError(error, label);
        }
        if (file) {
          for (let r = 0; r < 4; r++) {
            const start = rng.below(file.length + 2);
            const out = new Uint32Array(rng.below(50));
            try {
              file.read(start, out);
            } catch (error) {
              if (error instanceof RangeError && start + out.length > file.length) continue; // asked past the end
              expectCodedError(error, `${label}, read(${start}, ${out.length})`);
            }
          }
          file.close();
        }
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });

  it('refuses hostile header counts without allocating for them', () => {
    const path = join(dir, 'hostile.bin');
    for (const [magic, version] of [[SHARD_MAGIC, 1], [SHARD_MAGIC, 2], [SHARD_MAGIC_UINT32, 7]]) {
      for (const count of [0x7fffffff, -1, -0x80000000]) {
        const header = Buffer.alloc(HEADER_BYTES);
        header.writeInt32LE(magic, 0);
        header.writeInt32LE(version, 4);
        header.writeInt32LE(count, 8);
        writeFileSync(path, header);
        expect(() => readShard(path)).toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT' }));
      }
    }
  });
});
