import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeShard } from '../../../lib/data/shard.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { readModelContract } from '../../../lib/model/model_contract.js';
import { readModelTokenizer } from '../../../lib/model/model_tokenizer.js';
import { broadcastLabel } from '../../../lib/classify/labels.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { GENERAL, MEDICAL, tinyBiLM } from '../classify/fixtures.js';
import { runCaptured } from './run_captured.js';
import { tokenizerBeside } from '../../../lib/cli/training_tokenizer.js';

// `tokenfilter train` embeds the shards' tokenizer in the model and its checkpoints; train, eval
// and score refuse a model, checkpoint or classifier of another tokenizer (E_TOKENIZER_MISMATCH).

const dir = mkdtempSync(join(tmpdir(), 'tf-cli-train-tokenizer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TEXT = 'the patient was given aspirin, 81 mg daily; cells divide by mitosis. ';
let mine: Tokenizer;
let other: Tokenizer;
let shard: string;
let foreignShard: string;
const model = ['--layers', '1', '--dim', '16', '--heads', '2', '--context', '16', '--batch', '2', '--seed', '1'];

beforeAll(async () => {
  mine = await Tokenizer.train([TEXT.repeat(8)], { vocabSize: 300 });
  other = await Tokenizer.train(['a river runs past the old castle in summer; the king held a feast for the town, 42 guests and 17 horses. '.repeat(8)], { vocabSize: 300 });
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'foreign'));
  shard = join(dir, 'data', 'train_000000.bin');
  await writeShard(shard, Uint32Array.from([mine.eotId, ...mine.encode(TEXT.repeat(30))]), { tokenizer: mine });
  await mine.save(join(dir, 'data', 'tokenizer.json'));
  foreignShard = join(dir, 'foreign', 'train_000000.bin');
  await writeShard(foreignShard, Uint32Array.from([other.eotId, ...other.encode(TEXT.repeat(30))]), { tokenizer: other });
});

describe('tokenfilter train records its tokenizer', () => {
  it('embeds the tokenizer.json found beside the shards in the model and the checkpoint', async () => {
    const out = join(dir, 'm.safetensors');
    const checkpoint = join(dir, 'ck.safetensors');
    const r = await runCaptured('train', shard, '--out', out, '--checkpoint', checkpoint, '--steps', '2', ...model, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tokenizerEmbedded).toBe(true);
    for (const file of [out, checkpoint]) {
      const back = await readModelTokenizer(file);
      expect(back?.hash).toBe(mine.hash);
      expect([...back!.encode(TEXT)]).toEqual([...mine.encode(TEXT)]);
    }
  });

  it("finds the tokenizer of a filtered shard through its filter record's input", async () => {
    const filtered = join(dir, 'filtered');
    mkdirSync(filtered);
    const copy = join(filtered, 'train_000000.bin');
    copyFileSync(shard, copy);
    expect(tokenizerBeside(copy)).toBeNull();
    writeFileSync(join(filtered, 'train_000000.filter.json'), JSON.stringify({ input: shard }));
    expect(tokenizerBeside(copy)).toBe(join(dir, 'data', 'tokenizer.json'));
    const out = join(dir, 'from-filtered.safetensors');
    const r = await runCaptured('train', copy, '--out', out, '--steps', '1', ...model);
    expect(r.code, r.stderr).toBe(0);
    expect((await readModelTokenizer(out))?.hash).toBe(mine.hash);
    writeFileSync(join(filtered, 'train_000000.filter.json'), '{"input": 3}');
    expect(tokenizerBeside(copy)).toBeNull();
  });

  it('records the contract only with --no-embed-tokenizer, and says so when it finds no tokenizer', async () => {
    const plain = join(dir, 'plain.safetensors');
    const r = await runCaptured('train', shard, '--out', plain, '--steps', '1', ...model, '--no-embed-tokenizer', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tokenizerEmbedded).toBe(false);
    expect(await readModelTokenizer(plain)).toBeNull();
    expect((await readModelContract(plain))?.vocabSize).toBe(300);
    const bare = await runCaptured('train', foreignShard, '--out', join(dir, 'bare.safetensors'), '--steps', '1', ...model);
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr).toContain('records the shards\' tokenizer contract only');
    // --tokenizer embeds one given explicitly
    await other.save(join(dir, 'other.json'));
    const given = join(dir, 'given.safetensors');
    const g = await runCaptured('train', foreignShard, '--out', given, '--steps', '1', ...model, '--tokenizer', join(dir, 'other.json'));
    expect(g.code, g.stderr).toBe(0);
    expect((await readModelTokenizer(given))?.hash).toBe(other.hash);
  });

  it('train refuses a --tokenizer and a checkpoint of another tokenizer (E_TOKENIZER_MISMATCH), writing nothing', async () => {
    await other.save(join(dir, 'other.json'));
    const out = join(dir, 'refused.safetensors');
    const r = await runCaptured('train', shard, '--out', out, '--steps', '1', ...model, '--tokenizer', join(dir, 'other.json'), '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('E_TOKENIZER_MISMATCH');
    expect(r.stderr).toContain(`${shard}: tokenizer mismatch`);
    const foreignCheckpoint = join(dir, 'foreign-ck.safetensors');
    const made = await runCaptured('train', foreignShard, '--out', join(dir, 'f.safetensors'), '--checkpoint', foreignCheckpoint, '--steps', '1', ...model);
    expect(made.code, made.stderr).toBe(0);
    const resumed = await runCaptured('train', shard, '--out', out, '--checkpoint', foreignCheckpoint, '--resume', '--steps', '2', ...model, '--json');
    expect(resumed.code).toBe(2);
    expect(JSON.parse(resumed.stdout).error.code).toBe('E_TOKENIZER_MISMATCH');
    expect(resumed.stderr).toContain(foreignCheckpoint);
    expect(await readModelContract(out)).toBeNull();
  });

  it('eval refuses a checkpoint of another tokenizer, score a classifier of another tokenizer', async () => {
    const foreignCheckpoint = join(dir, 'eval-ck.safetensors');
    const made = await runCaptured('train', foreignShard, '--out', join(dir, 'e.safetensors'), '--checkpoint', foreignCheckpoint, '--steps', '1', ...model);
    expect(made.code, made.stderr).toBe(0);
    const evaluated = await runCaptured('eval', shard, '--model', foreignCheckpoint, '--json');
    expect(evaluated.code).toBe(2);
    expect(JSON.parse(evaluated.stdout).error.code).toBe('E_TOKENIZER_MISMATCH');
    expect(evaluated.stderr).toContain(`${shard}: tokenizer mismatch with ${foreignCheckpoint}`);

    const bilm = await tinyBiLM();
    const enc = (s: string) => bilm.tokenizer.encode(s);
    const bilmPath = join(dir, 'bilm.safetensors');
    await bilm.save(bilmPath);
    const { classifier } = await TokenClassifier.train({
      bilm, bilmPath, layers: [1],
      train: [broadcastLabel(enc(MEDICAL), 1), broadcastLabel(enc(GENERAL), 0)],
      val: [broadcastLabel(enc(MEDICAL + MEDICAL), 1), broadcastLabel(enc(GENERAL + GENERAL), 0)],
    });
    const clf = join(dir, 'clf.safetensors');
    await classifier.save(clf);
    const scored = await runCaptured('score', shard, '--classifier', clf, '--out', join(dir, 'scores'), '--json');
    expect(scored.code).toBe(2);
    expect(JSON.parse(scored.stdout).error.code).toBe('E_TOKENIZER_MISMATCH');
    expect(scored.stderr).toContain(`${shard}: tokenizer mismatch`);
  });
});
