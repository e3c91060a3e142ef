// Mutated training checkpoints (tensor bytes, safetensors header and the metadata that records
// config and training state): loaded to a model and state that save and load again identically,
// or refused with a coded error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint, type TrainingState } from '../../lib/model/checkpoint.js';
import { Transformer } from '../../lib/model/transformer.js';
import { tempDir } from '../lib/data/helpers.js';
import { caseCount, caseLabel, caseRng, checkInput, mutate } from './fuzz_kit.js';

const { dir, cleanup } = tempDir('tf-fuzz-ckpt-');
afterAll(cleanup);

async function roundTrip(loaded: { model: Transformer; state: TrainingState }, label: string): Promise<void> {
  const path = join(dir, 'again.ckpt');
  await saveCheckpoint(path, loaded.model, loaded.state);
  const again = await loadCheckpoint(path);
  expect(again.state, label).toEqual(loaded.state);
  expect(again.model.config, label).toEqual(loaded.model.config);
  expect(Buffer.from(again.model.getParameters().buffer).equals(Buffer.from(loaded.model.getParameters().buffer)), label).toBe(true);
}

describe('fuzz: checkpoints', () => {
  it('loads or refuses (coded) every mutated checkpoint', async () => {
    const model = await Transformer.create({ vocabSize: 64, dModel: 16, layers: 1, heads: 2, context: 8, seed: 3 });
    const source = join(dir, 'good.ckpt');
    await saveCheckpoint(source, model, { step: 0, batchesConsumed: 0, tokens: 0, supervisedTokens: 0, flops: 0, lossHistory: [], seconds: 0 });
    const good = readFileSync(source);
    const headerEnd = 8 + Number(good.readBigUInt64LE(0));
    const metadataAt = good.indexOf('__metadata__');
    const outcomes = { parsed: 0, refused: 0 };
    for (let i = 0; i < caseCount(60); i++) {
      const rng = caseRng('checkpoint', i);
      const focus: [number, number] = [[0, 8], [metadataAt, headerEnd], [headerEnd, good.length]][rng.below(3)] as [number, number];
      const { bytes, how } = mutate(good, rng, focus);
      const label = caseLabel('checkpoint', i, how);
      const path = join(dir, 'case.ckpt');
      writeFileSync(path, bytes);
      outcomes[await checkInput(label, () => loadCheckpoint(path), (loaded) => roundTrip(loaded, label), 5000)]++;
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });
});
