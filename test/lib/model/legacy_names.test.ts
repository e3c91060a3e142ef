// Files written before the `*.weight` convention name the embedding `wte`: they still load.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BiLM } from '../../../lib/classify/bilm.js';
import { readSafetensors, writeSafetensors } from '../../../lib/model/safetensors.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { tempDir } from '../data/helpers.js';

const { dir, cleanup } = tempDir('tf-legacy-');
afterAll(cleanup);

describe('tensor names', () => {
  it("saves 'wte.weight', loads a file that says 'wte' with the same logits, refuses a file with both", async () => {
    const model = await Transformer.create({ vocabSize: 30, dModel: 16, layers: 1, heads: 2, context: 8, seed: 3 });
    const path = join(dir, 'model.safetensors');
    await model.save(path);
    const file = await readSafetensors(path);
    expect(file.tensors.has('wte.weight')).toBe(true);
    expect(file.tensors.has('wte')).toBe(false);
    const legacy = join(dir, 'legacy.safetensors');
    await writeSafetensors(legacy, [...file.tensors].map(([k, t]) => [k === 'wte.weight' ? 'wte' : k, t]), file.metadata);
    const tokens = Uint32Array.of(1, 5, 9, 2, 7);
    const old = await Transformer.load(legacy);
    expect(Array.from(await old.logits(tokens))).toEqual(Array.from(await model.logits(tokens)));
    const both = join(dir, 'both.safetensors');
    await writeSafetensors(both, [...file.tensors, ['wte', file.tensors.get('wte.weight')!]], file.metadata);
    await expect(Transformer.load(both)).rejects.toMatchObject({ code: 'E_FILE_FORMAT', message: expect.stringMatching(/holds both 'wte.weight' and its old name 'wte'/) });
  });

  it('a biLM saved with the old names loads', async () => {
    const { Tokenizer } = await import('../../../lib/data/tokenizer.js');
    const tokenizer = await Tokenizer.train(['a small text for a small tokenizer', 'cells divide'], { vocabSize: 270 });
    const bilm = await BiLM.create(tokenizer, { dModel: 16, layers: 1, heads: 2, context: 8, seed: 1 });
    const path = join(dir, 'bilm.safetensors');
    await bilm.save(path);
    const file = await readSafetensors(path);
    const legacy = join(dir, 'bilm-legacy.safetensors');
    await writeSafetensors(legacy, [...file.tensors].map(([k, t]) => [k.replace(/(^|\.)wte\.weight$/, '$1wte'), t]), file.metadata);
    expect([...(await readSafetensors(legacy)).tensors.keys()].filter((k) => k.endsWith('wte'))).toHaveLength(2);
    const loaded = await BiLM.load(legacy);
    const ids = Uint32Array.of(3, 4, 5, 6);
    expect(Array.from(await loaded.features(ids, 1))).toEqual(Array.from(await bilm.features(ids, 1)));
  });
});
