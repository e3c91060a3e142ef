// Mutated per-shard records (`<shard>.filter.json`, what a resumed `filter` trusts): a rerun
// either redoes the shard or refuses with a coded error; its outputs always equal a clean run's.
// (The manifest written at the end is never trusted for resuming; only `tokenfilter summary` reads it, to report.)
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filterShards } from '../../lib/filter/filter_shards.js';
import { writeShard } from '../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../lib/data/side_file.js';
import { fakeTokenizer, tempDir } from '../lib/data/helpers.js';
import { caseCount, caseLabel, caseRng, expectCodedError, mutate, withinTime } from './fuzz_kit.js';

const { dir, cleanup } = tempDir('tf-fuzz-manifest-');
afterAll(cleanup);

function outputsOf(out: string): Map<string, Buffer> {
  return new Map(readdirSync(out).filter((f) => f.endsWith('.bin') || f.endsWith('.side')).map((f) => [f, readFileSync(join(out, f))]));
}

describe('fuzz: filter records', () => {
  it('a mutated record makes a rerun redo the shard or refuse (coded), never trust it', async () => {
    const tok = fakeTokenizer(100);
    const shard = join(dir, 'a.bin');
    const rng0 = caseRng('manifest-source', 0);
    const tokens = Uint32Array.from({ length: 400 }, (_, i) => (i % 50 === 0 ? tok.eotId : rng0.below(90)));
    await writeShard(shard, tokens, { tokenizer: tok });
    await writeSideFile(sideFilePathFor(shard, SideFileKind.ScoresUint8), Float32Array.from(tokens, () => rng0.nextUnit()), { kind: SideFileKind.ScoresUint8, tokenizer: tok });
    const out = join(dir, 'out');
    const options = { shards: [shard], out, mode: 'remove' as const, threshold: 0.5 };
    await filterShards(options);
    const clean = outputsOf(out);
    const recordName = readdirSync(out).find((f) => f.endsWith('.json') && f !== 'manifest.json' && !f.startsWith('manifest'))!;
    const recordPath = join(out, recordName);
    const record = readFileSync(recordPath);
    for (let i = 0; i < caseCount(25); i++) {
      const rng = caseRng('manifest', i);
      let bytes: Uint8Array;
      let how: string;
      const pick = rng.below(3);
      if (pick === 0) ({ bytes, how } = mutate(record, rng));
      else if (pick === 1) {
        const json = JSON.parse(record.toString('utf8'));
        const keys = Object.keys(json);
        const key = keys[rng.below(keys.length)];
        json[key] = [null, 0, 'x', [], {}, [{ path: '../a.bin', bytes: 0, sha256: '' }]][rng.below(6)];
        bytes = Buffer.from(JSON.stringify(json));
        how = `${key} replaced`;
      } else {
        bytes = Buffer.from(['null', '[]', '0', '"x"', '{}', '{"outputs": null}', '{"input": 1, "outputs": [null]}'][rng.below(7)]);
        how = `record ${Buffer.from(bytes).toString()}`;
      }
      const label = caseLabel('manifest', i, how);
      writeFileSync(recordPath, bytes);
      try {
        await withinTime(10_000, label, () => filterShards(options));
      } catch (error) {
        expectCodedError(error, label);
        continue;
      }
      expect(outputsOf(out), label).toEqual(clean);
      writeFileSync(recordPath, record);
    }
  });
});
