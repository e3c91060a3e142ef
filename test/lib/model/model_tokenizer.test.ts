import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { tokenizerHashPrefix } from '../../../lib/data/tokenizer_contract.js';
import { readModelContract } from '../../../lib/model/model_contract.js';
import {
  derivedTokenizerMetadata,
  readModelTokenizer,
  TOKENIZER_JSON_METADATA_KEY,
  tokenizerMetadata,
} from '../../../lib/model/model_tokenizer.js';
import { readSafetensorsMetadata } from '../../../lib/model/safetensors.js';
import { trainMasked } from '../../../lib/model/train.js';
import { Transformer } from '../../../lib/model/transformer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-model-tokenizer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TEXT = 'the patient was given aspirin, 81 mg daily; cells divide by mitosis. ';
let tokenizers: Promise<[Tokenizer, Tokenizer]> | undefined;
function twoTokenizers(): Promise<[Tokenizer, Tokenizer]> {
  tokenizers ??= Promise.all([
    Tokenizer.train([TEXT.repeat(8)], { vocabSize: 300 }),
    Tokenizer.train(['a river runs past the old castle in summer; the king held a feast for the town, 42 guests and 17 horses. '.repeat(8)], { vocabSize: 300 }),
  ]);
  return tokenizers;
}

async function tinyModel(vocabSize: number): Promise<Transformer> {
  return Transformer.create({ vocabSize, dModel: 16, layers: 1, heads: 2, context: 8, seed: 1 });
}

function batches(vocab: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    inputs: Uint32Array.from({ length: 16 }, (_, j) => (i * 7 + j) % vocab),
    targets: Uint32Array.from({ length: 16 }, (_, j) => (i * 7 + j + 1) % vocab),
    lossMask: new Uint8Array(16).fill(1),
    batch: 2,
    context: 8,
  }));
}

describe('the tokenizer a model file carries', () => {
  it('embeds the tokenizer JSON by default, and reading it back encodes text with the same ids', async () => {
    const [tokenizer] = await twoTokenizers();
    const model = await tinyModel(tokenizer.vocabSize);
    const path = join(dir, 'model.safetensors');
    await model.save(path, tokenizerMetadata(tokenizer));
    const back = await readModelTokenizer(path);
    expect(back).not.toBeNull();
    expect(back!.hash).toBe(tokenizer.hash);
    expect([...back!.encode(TEXT)]).toEqual([...tokenizer.encode(TEXT)]);
    expect(await readModelContract(path)).toEqual({
      vocabSize: tokenizer.vocabSize, eotId: tokenizer.eotId, hiddenId: tokenizer.hiddenId, hashPrefix: tokenizerHashPrefix(tokenizer.hash),
    });
    // the model loads as before; the metadata is untouched by it
    expect((await Transformer.load(path)).config.vocabSize).toBe(tokenizer.vocabSize);
  });

  it('records the contract only with embedTokenizer: false or a bare contract', async () => {
    const [tokenizer] = await twoTokenizers();
    const model = await tinyModel(tokenizer.vocabSize);
    const path = join(dir, 'plain.safetensors');
    await model.save(path, tokenizerMetadata(tokenizer, { embedTokenizer: false }));
    expect(await readModelTokenizer(path)).toBeNull();
    expect((await readModelContract(path))?.hashPrefix).toBe(tokenizerHashPrefix(tokenizer.hash));
    const contract = (await readModelContract(path))!;
    expect(tokenizerMetadata(contract)).not.toHaveProperty(TOKENIZER_JSON_METADATA_KEY);
    expect(() => tokenizerMetadata({} as never)).toThrow(TypeError);
  });

  it('refuses an embedded tokenizer that is not the one the contract names, and a malformed one', async () => {
    const [a, b] = await twoTokenizers();
    const model = await tinyModel(a.vocabSize);
    const swapped = join(dir, 'swapped.safetensors');
    await model.save(swapped, { ...tokenizerMetadata(a), [TOKENIZER_JSON_METADATA_KEY]: JSON.stringify(b.toJSON()) });
    await expect(readModelTokenizer(swapped)).rejects.toMatchObject({ code: 'E_FILE_FORMAT', message: expect.stringContaining('is not the one') });
    const broken = join(dir, 'broken.safetensors');
    await model.save(broken, { ...tokenizerMetadata(a), [TOKENIZER_JSON_METADATA_KEY]: '{"model": 3}' });
    await expect(readModelTokenizer(broken)).rejects.toMatchObject({ code: 'E_FILE_FORMAT', message: expect.stringContaining(broken) });
  });

  it('a derived model keeps its source model\'s tokenizer, refusing a source of another tokenizer', async () => {
    const [a, b] = await twoTokenizers();
    const model = await tinyModel(a.vocabSize);
    const source = join(dir, 'source.safetensors');
    await model.save(source, tokenizerMetadata(a));
    const contractA = (await readModelContract(source))!;
    expect((await derivedTokenizerMetadata(source, contractA))[TOKENIZER_JSON_METADATA_KEY]).toBe(JSON.stringify(a.toJSON()));
    const contractB = { ...contractA, hashPrefix: tokenizerHashPrefix(b.hash) };
    await expect(derivedTokenizerMetadata(source, contractB)).rejects.toMatchObject({ code: 'E_TOKENIZER_MISMATCH' });
    const bare = join(dir, 'bare.safetensors');
    await model.save(bare);
    expect(await derivedTokenizerMetadata(bare, contractB)).not.toHaveProperty(TOKENIZER_JSON_METADATA_KEY);
  });

  it('checkpoints record the tokenizer; resuming with another tokenizer is E_TOKENIZER_MISMATCH', async () => {
    const [a, b] = await twoTokenizers();
    const checkpoint = join(dir, 'ck.safetensors');
    await trainMasked(await tinyModel(a.vocabSize), batches(a.vocabSize, 3), { checkpointPath: checkpoint, tokenizer: a });
    expect((await readModelTokenizer(checkpoint))!.hash).toBe(a.hash);
    expect((await readSafetensorsMetadata(checkpoint)).format).toBe('tokenfilter.checkpoint');
    const resumed = await trainMasked(await tinyModel(a.vocabSize), batches(a.vocabSize, 5), { resumeFrom: checkpoint, tokenizer: a });
    expect(resumed.steps).toBe(5);
    await expect(
      trainMasked(await tinyModel(a.vocabSize), batches(a.vocabSize, 5), { resumeFrom: checkpoint, tokenizer: b }),
    ).rejects.toMatchObject({ code: 'E_TOKENIZER_MISMATCH', message: expect.stringContaining(checkpoint) });
    await expect(trainMasked(await tinyModel(a.vocabSize), batches(a.vocabSize, 1), { tokenizer: a, embedTokenizer: 1 as never })).rejects.toThrow(TypeError);
  });
});

describe('a tokenizer of another vocabulary than the model', () => {
  it('is refused on reading (E_FILE_FORMAT)', async () => {
    const [a] = await twoTokenizers();
    const model = await tinyModel(a.vocabSize + 4);
    const path = join(dir, 'wide.safetensors');
    await model.save(path, tokenizerMetadata(a));
    await expect(readModelTokenizer(path)).rejects.toMatchObject({ code: 'E_FILE_FORMAT', message: expect.stringContaining('the model 304') });
  });
});
