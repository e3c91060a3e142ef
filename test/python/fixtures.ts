/**
 * Writes what the Python reference (python/tokenfilter_io.py) is checked against: shards, side
 * files, corrupted copies, batches drawn by the TypeScript samplers and small models with their
 * logits, all made with the TypeScript API, described in `expected.json`.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchSampler, type BatchSamplerOptions } from '../../lib/data/sampler.js';
import { sequentialBatches } from '../../lib/data/sequential_batches.js';
import { readShard, writeShard } from '../../lib/data/shard.js';
import { SideFileKind, readSideFile, sideFileScores, sideFilePathFor, writeSideFile } from '../../lib/data/side_file.js';
import type { Batch } from '../../lib/data/batch.js';
import { tokenizerHashPrefix, type TokenizerContract } from '../../lib/data/tokenizer_contract.js';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import { hashUnit } from '../../lib/data/random.js';
import { readSafetensors, writeSafetensors } from '../../lib/model/safetensors.js';
import { Transformer } from '../../lib/model/transformer.js';
import { trainMasked } from '../../lib/model/train.js';
import { TOKENIZER_JSON_METADATA_KEY, tokenizerMetadata } from '../../lib/model/model_tokenizer.js';

export const VOCAB = 300;
export const TOKENIZER: TokenizerContract = { vocabSize: VOCAB, eotId: 299, hiddenId: 298, hash: 'tokenizer-for-python-tests' };
const WIDE: TokenizerContract = { vocabSize: 70_000, eotId: 0, hiddenId: 1, hash: 'ab'.repeat(32) };

/** A small deterministic generator of token ids (a linear congruential sequence). */
function ids(count: number, seed: number, vocab: number): Uint32Array {
  let x = seed >>> 0;
  return Uint32Array.from({ length: count }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % vocab;
  });
}

const plain = (b: Batch) => ({ inputs: [...b.inputs], targets: [...b.targets], lossMask: [...b.lossMask], batch: b.batch, context: b.context });

/** Shards (uint16 with masks, uint32), side files of every kind; their contents for Python. */
async function writeData(dir: string) {
  const sizes = [1001, 650, 97, 12];
  const shards: string[] = [];
  for (const [k, n] of sizes.entries()) {
    const path = join(dir, `a_${k}.bin`);
    await writeShard(path, ids(n, k + 1, VOCAB), { tokenizer: TOKENIZER });
    await writeSideFile(sideFilePathFor(path, SideFileKind.LossMask), Uint8Array.from(ids(n, k + 11, 2)), { kind: SideFileKind.LossMask, tokenizer: TOKENIZER });
    shards.push(path);
  }
  const general = join(dir, 'g_0.bin');
  await writeShard(general, ids(800, 99, VOCAB), { tokenizer: TOKENIZER });
  const wide = join(dir, 'wide.bin');
  await writeShard(wide, ids(300, 5, WIDE.vocabSize), { tokenizer: WIDE });
  const n = sizes[0];
  const sides = [
    [SideFileKind.Labels, Uint8Array.from(ids(n, 21, 3))],
    [SideFileKind.ScoresUint8, Float64Array.from(ids(n, 22, 1001), (v) => v / 1000)],
    [SideFileKind.ScoresFloat16, Float64Array.from(ids(n, 23, 1001), (v) => v / 1000)],
  ] as const;
  for (const [kind, values] of sides) await writeSideFile(sideFilePathFor(shards[0], kind), values, { kind, tokenizer: TOKENIZER });
  const shardInfo = [...shards, general, wide].map((path) => {
    const s = readShard(path);
    return { path, version: s.header.version, tokenCount: s.header.tokenCount, tokenBytes: s.header.tokenBytes, tokenizer: s.header.tokenizer, tokens: [...s.tokens] };
  });
  const sideInfo = [SideFileKind.LossMask, ...sides.map(([kind]) => kind)].map((kind) => {
    const f = readSideFile(sideFilePathFor(shards[0], kind));
    const scores = kind === SideFileKind.ScoresUint8 || kind === SideFileKind.ScoresFloat16 ? [...sideFileScores(f)] : null;
    return { path: f.path, kind, tokenCount: f.header.tokenCount, tokenizer: f.header.tokenizer, values: kind === SideFileKind.ScoresFloat16 ? null : [...f.values], scores };
  });
  return { shards, general, wide, shardInfo, sideInfo };
}

/** Copies of good files with one header field or the size broken; each must be refused. */
export function writeCorrupted(dir: string, shard: string, side: string): { path: string; reader: 'shard' | 'side'; what: string }[] {
  const out: { path: string; reader: 'shard' | 'side'; what: string }[] = [];
  const make = (source: string, reader: 'shard' | 'side', what: string, edit: (b: Buffer) => Buffer) => {
    const path = join(dir, `bad_${out.length}_${reader}.bin`);
    writeFileSync(path, edit(Buffer.from(readFileSync(source))));
    out.push({ path, reader, what });
  };
  const word = (i: number, v: number) => (b: Buffer) => (b.writeInt32LE(v, 4 * i), b);
  make(shard, 'shard', 'magic', word(0, 20261122));
  make(shard, 'shard', 'version', word(1, 3));
  make(shard, 'shard', 'negative count', word(2, -1));
  make(shard, 'shard', 'count too large', word(2, 5000));
  make(shard, 'shard', 'truncated', (b) => b.subarray(0, b.length - 2));
  make(shard, 'shard', 'oversized', (b) => Buffer.concat([b, Buffer.alloc(2)]));
  make(shard, 'shard', 'short header', (b) => b.subarray(0, 100));
  make(shard, 'shard', 'eot outside vocabulary', word(9, 300));
  make(shard, 'shard', 'negative vocabulary', word(8, -5));
  make(shard, 'shard', 'uint16 with a vocabulary over 65536', word(8, 70_000));
  make(shard, 'shard', 'id outside vocabulary', (b) => (b.writeUInt16LE(299, 1024), word(8, 299)(b), word(9, 0)(b), word(10, 1)(b)));
  make(side, 'side', 'magic', word(0, 20240520));
  make(side, 'side', 'version', word(1, 2));
  make(side, 'side', 'kind', word(3, 9));
  make(side, 'side', 'truncated', (b) => b.subarray(0, b.length - 1));
  make(side, 'side', 'loss-mask value 2', (b) => (b[1024 + 5] = 2, b));
  return out;
}

/** Batches of the random sampler (one source, two weighted sources, a resumed run) and the sequential one. */
function drawBatches(shards: string[], general: string) {
  const runs: { options: BatchSamplerOptions; batches: ReturnType<typeof plain>[]; resume?: { state: unknown; batches: ReturnType<typeof plain>[] } }[] = [];
  const draw = (options: BatchSamplerOptions, count: number, resumeAfter?: number) => {
    const sampler = new BatchSampler(options);
    const batches = [];
    let resume;
    for (let i = 0; i < count; i++) {
      batches.push(plain(sampler.next()));
      if (i + 1 === resumeAfter) resume = { state: sampler.state(), batches: [] as ReturnType<typeof plain>[] };
    }
    if (resume) resume.batches = batches.slice(resumeAfter);
    sampler.close();
    runs.push({ options, batches, resume });
  };
  draw({ shards: shards.slice(0, 3), batch: 4, context: 16, seed: 7 }, 30, 12); // 30 × 4 rows > 108 windows: epochs roll over
  draw({ sources: [{ shards: shards.slice(0, 3), weight: 0.3 }, { shards: [general], weight: 0.7 }], batch: 3, context: 24, seed: 2 ** 40 + 3 }, 25);
  draw({ shards: shards.slice(0, 2), batch: 2, context: 8, seed: 0, lossMask: 'none' }, 5);
  const sequential = [...sequentialBatches({ shards, batch: 3, context: 16 })].map((b) => ({ ...plain(b), rows: b.rows }));
  return { runs, sequential };
}

/** A trained tied model, an untied one with other RoPE/norm settings, and one renamed to `wte.weight`. */
async function writeModels(dir: string, shards: string[]) {
  const tied = await Transformer.create({ vocabSize: VOCAB, dModel: 32, layers: 2, heads: 2, context: 32, seed: 3 });
  const sampler = new BatchSampler({ shards, batch: 4, context: 32, seed: 1 });
  await trainMasked(tied, Array.from({ length: 4 }, () => sampler.next()), { lr: 3e-3, warmupSteps: 0 });
  const untied = await Transformer.create({ vocabSize: VOCAB, dModel: 24, layers: 1, heads: 3, context: 32, seed: 4, tieEmbeddings: false, ropeBase: 500, normEps: 1e-3, mlpRatio: 2 });
  const tokens = Uint32Array.from(ids(2 * 20, 77, VOCAB));
  const batch = sampler.next();
  sampler.close();
  const models = [];
  for (const [name, model] of [['tied', tied], ['untied', untied]] as const) {
    const path = join(dir, `${name}.safetensors`);
    await model.save(path);
    const logits = await model.logits(tokens, { batch: 2, context: 20 });
    writeFileSync(join(dir, `${name}.logits.f32`), logits);
    models.push({ path, logits: join(dir, `${name}.logits.f32`), loss: await model.loss(batch) });
  }
  const renamed = join(dir, 'renamed.safetensors');
  const file = await readSafetensors(models[0].path);
  await writeSafetensors(renamed, [...file.tensors].map(([k, t]) => [k === 'wte.weight' ? 'wte' : k, t]), file.metadata);
  models.push({ ...models[0], path: renamed });
  const both = join(dir, 'both_names.safetensors');
  copyFileSync(renamed, both);
  await writeSafetensors(both, [...file.tensors, ['wte', file.tensors.get('wte.weight')!]], file.metadata);
  return { models, tokens: { shape: [2, 20], values: [...tokens] }, lossBatch: plain(batch), bothNames: both };
}

/** An untied model before and after four trainMasked steps, with the batches, rates and losses. */
async function writeTraining(dir: string, shards: string[]) {
  const model = await Transformer.create({ vocabSize: VOCAB, dModel: 32, layers: 2, heads: 2, context: 32, seed: 9, tieEmbeddings: false });
  const init = join(dir, 'train_init.safetensors');
  await model.save(init);
  const sampler = new BatchSampler({ shards, batch: 4, context: 32, seed: 21 });
  const batches = Array.from({ length: 4 }, () => sampler.next());
  sampler.close();
  const lrs: number[] = [];
  const losses: number[] = [];
  const options = { lr: 5e-3, warmupSteps: 1, weightDecay: 1 }; // a large decay: decaying the wrong tensors shows
  await trainMasked(model, batches, { ...options, onProgress: (p) => (lrs.push(p.lr), losses.push(p.loss)) });
  const final = join(dir, 'train_final.safetensors');
  await model.save(final);
  // the same run stopped after two of its four steps, with a checkpoint to resume from
  const half = await Transformer.load(init);
  const checkpoint = join(dir, 'train_half.checkpoint.safetensors');
  await trainMasked(half, batches.slice(0, 2), { ...options, steps: 4, checkpointPath: checkpoint });
  return { init, final, checkpoint, ...options, batches: batches.map(plain), lrs, losses };
}

/** tokenizer.json files (trained, cl100k, a GPT-2-style variant, one without `<|hidden|>`) and their contracts. */
async function writeTokenizers(dir: string, shards: string[]) {
  const texts = shards.slice(0, 2).map((s) => Array.from(readShard(s).tokens.subarray(0, 400), (id) => String.fromCharCode(97 + (id % 26))).join(' '));
  const json = (await Tokenizer.train(texts, { vocabSize: 300 })).toJSON() as { added_tokens: { content: string }[] };
  const variants: [string, object][] = [
    ['trained', json],
    ['cl100k', Tokenizer.cl100k().toJSON()],
    ['gpt2', { ...json, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } }],
    ['no-hidden', { ...json, added_tokens: json.added_tokens.filter((t) => t.content !== '<|hidden|>') }],
  ];
  return variants.map(([name, file]) => {
    const path = join(dir, `${name}.tokenizer.json`);
    writeFileSync(path, JSON.stringify(file));
    const tok = Tokenizer.fromJSON(file);
    return { name, path, vocabSize: tok.vocabSize, eotId: tok.eotId, hiddenId: tok.hiddenId, hashPrefix: tokenizerHashPrefix(tok.hash) };
  });
}

/**
 * A model of the trained tokenizer's vocabulary saved with that tokenizer embedded (as `tokenfilter
 * train` saves it), its checkpoint, and a copy whose embedded JSON is another tokenizer than its
 * contract names.
 */
async function writeEmbeddedTokenizer(dir: string, tokenizerPath: string, otherPath: string) {
  const tokenizer = await Tokenizer.load(tokenizerPath);
  const model = await Transformer.create({ vocabSize: tokenizer.vocabSize, dModel: 16, layers: 1, heads: 2, context: 8, seed: 5 });
  const embedded = join(dir, 'embedded.safetensors');
  await model.save(embedded, tokenizerMetadata(tokenizer));
  const swapped = join(dir, 'swapped_tokenizer.safetensors');
  await model.save(swapped, { ...tokenizerMetadata(tokenizer), [TOKENIZER_JSON_METADATA_KEY]: readFileSync(otherPath, 'utf8') });
  const checkpoint = join(dir, 'embedded.checkpoint.safetensors');
  const sampleBatch = { inputs: new Uint32Array(8), targets: new Uint32Array(8), lossMask: new Uint8Array(8).fill(1), batch: 1, context: 8 };
  await trainMasked(model, [sampleBatch], { checkpointPath: checkpoint, tokenizer });
  return { embedded, swapped, checkpoint, tokenizerPath };
}

/** Writes every fixture into `dir` and `dir/expected.json`; returns the description. */
export async function writeFixtures(dir: string) {
  const data = await writeData(dir);
  const bad = writeCorrupted(dir, data.shards[1], sideFilePathFor(data.shards[1], SideFileKind.LossMask));
  const batches = drawBatches(data.shards, data.general);
  const models = await writeModels(dir, data.shards.slice(0, 3));
  const training = await writeTraining(dir, data.shards.slice(0, 3));
  const tokenizers = await writeTokenizers(dir, data.shards);
  const gpt2 = tokenizers.find((t) => t.name === 'gpt2')!.path;
  const embeddedTokenizer = await writeEmbeddedTokenizer(dir, tokenizers[0].path, gpt2);
  const hashParts = [[0, 0, 0, 0], [7, 0, 123456, 0], [2 ** 32 - 1, 2 ** 21 - 1, 99, 1], [3, 256, 2 ** 31, 5]];
  const hashes = hashParts.map((parts) => ({ parts, value: hashUnit(...parts) }));
  const expected = { ...data, tokenizer: readShard(data.shards[0]).header.tokenizer, bad, ...batches, ...models, hashes, training, tokenizers, embeddedTokenizer };
  writeFileSync(join(dir, 'expected.json'), JSON.stringify(expected));
  return expected;
}
