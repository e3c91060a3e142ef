import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLabelledShards } from '../../../lib/data/labelled_shards.js';
import { readShard } from '../../../lib/data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../../../lib/data/side_file.js';
import { spanLabelsToTokenLabels } from '../../../lib/data/span_labels.js';
import { loadDefaultCorpus } from '../../../lib/data/default_corpus.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

describe('writeLabelledShards', () => {
  it('writes default-corpus documents as shards with gold token labels aligned to the tokens', async () => {
    const docs = loadDefaultCorpus().val.slice(0, 40);
    const tokenizer = await Tokenizer.train(docs.map((d) => d.text), { vocabSize: 400 });
    const summary = await writeLabelledShards(docs, { tokenizer, dir, label: 'medical', shardTokens: 5000, prefix: 'val' });
    expect(summary.documents).toBe(40);
    expect(summary.paths.length).toBe(Math.ceil(summary.tokens / 5000));
    const tokens: number[] = [];
    const labels: number[] = [];
    for (const path of summary.paths) {
      const shard = readShard(path, { expectTokenizer: tokenizer });
      tokens.push(...shard.tokens);
      labels.push(...readSideFile(sideFilePathFor(path, SideFileKind.Labels), { expectTokens: shard.header.tokenCount, expectTokenizer: tokenizer }).values);
    }
    const expectedTokens: number[] = [];
    const expectedLabels: number[] = [];
    for (const d of docs) {
      const { ids, offsets } = tokenizer.encodeWithOffsets(d.text);
      expectedTokens.push(tokenizer.eotId, ...ids);
      expectedLabels.push(0, ...spanLabelsToTokenLabels(offsets, d.spans, { label: 'medical' }));
    }
    expect(tokens).toEqual(expectedTokens);
    expect(labels).toEqual(expectedLabels);
    expect(summary.positiveTokens).toBe(expectedLabels.reduce((a, b) => a + b, 0));
    // medicine is about a fifth of the corpus; these 40 documents hold some
    expect(summary.positiveTokens).toBeGreaterThan(0);
    expect(summary.positiveTokens).toBeLessThan(summary.tokens);
  });

  it('rejects documents without spans and leaves no partial shard', async () => {
    const tokenizer = await Tokenizer.train(['some text'], { vocabSize: 260 });
    const out = join(dir, 'bad');
    await expect(writeLabelledShards([{ text: 'ok', spans: [] }, { text: 'no spans' } as never], { tokenizer, dir: out, label: 'm' })).rejects.toThrow(/document 1 must have/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});
