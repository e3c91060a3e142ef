// Mutated side files of every kind: read to values that write back and read again identically,
// or refused with a coded error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SideFileKind, readSideFile, readSideFileHeader, writeSideFile, type SideFile } from '../../lib/data/side_file.js';
import { fakeTokenizer, tempDir } from '../lib/data/helpers.js';
import { caseCount, caseLabel, caseRng, checkInput, mutate } from './fuzz_kit.js';

const { dir, cleanup } = tempDir('tf-fuzz-side-');
afterAll(cleanup);

async function roundTrip(file: SideFile, label: string): Promise<void> {
  expect(file.values.length, label).toBe(file.header.tokenCount);
  const t = file.header.tokenizer;
  if (t.vocabSize === 0) return;
  const again = join(dir, 'again.side');
  const tokenizer = { vocabSize: t.vocabSize, eotId: t.eotId, hiddenId: t.hiddenId, hash: t.hashPrefix.padEnd(64, '0') };
  await writeSideFile(again, file.values, { kind: file.header.kind, tokenizer });
  const reread = readSideFile(again);
  expect(reread.header, label).toEqual(file.header);
  expect(Array.from(reread.values), label).toEqual(Array.from(file.values));
}

describe('fuzz: side files', () => {
  it('reads or refuses (coded) every mutated side file of each kind', async () => {
    const tok = fakeTokenizer(500);
    const outcomes = { parsed: 0, refused: 0 };
    const kinds = [SideFileKind.LossMask, SideFileKind.Labels, SideFileKind.ScoresUint8, SideFileKind.ScoresFloat16];
    for (const kind of kinds) {
      const rng0 = caseRng(`side-${kind}`, -1);
      const n = 200;
      const values =
        kind === SideFileKind.LossMask ? Uint8Array.from({ length: n }, () => rng0.below(2))
        : kind === SideFileKind.ScoresFloat16 ? Float32Array.from({ length: n }, () => rng0.nextUnit())
        : Uint8Array.from({ length: n }, () => rng0.below(256));
      const source = join(dir, `k${kind}.side`);
      await writeSideFile(source, values, { kind, tokenizer: tok });
      const good = readFileSync(source);
      for (let i = 0; i < caseCount(40); i++) {
        const rng = caseRng(`side-${kind}`, i);
        const { bytes, how } = mutate(good, rng, [0, 64]);
        const label = caseLabel(`side-${kind}`, i, how);
        const path = join(dir, 'case.side');
        writeFileSync(path, bytes);
        outcomes[await checkInput(label, () => readSideFile(path), (f) => roundTrip(f, label))]++;
        await checkInput(label, () => readSideFileHeader(path, { expectKind: kind, expectTokens: n }), () => undefined);
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });
});
