// The one place documents become a stream: end-of-text after (or before) each document with its
// own label, span labels with the first listed name winning, and the shard + label side file pair.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readShard } from '../../../lib/data/shard.js';
import { readSideFile, SideFileKind, sideFilePathFor } from '../../../lib/data/side_file.js';
import { corpusTokenizer, joinDocuments, spanTokenLabels, writeLabelledShard } from '../../../lib/stages/tokenize.js';

const root = mkdtempSync(join(tmpdir(), 'tf-stage-tokenize-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('joinDocuments', () => {
  const docs = [{ ids: Uint32Array.of(5, 6), labels: 1 }, { ids: Uint32Array.of(7), labels: Uint8Array.of(2) }];
  it('puts end-of-text after each document by default layout, labelled separately', () => {
    const s = joinDocuments(docs, { eotId: 0, separator: 'after', separatorLabel: 255 });
    expect([...s.tokens]).toEqual([5, 6, 0, 7, 0]);
    expect([...s.labels]).toEqual([1, 1, 255, 2, 255]);
  });
  it('or before each document', () => {
    const s = joinDocuments(docs, { eotId: 9, separator: 'before', separatorLabel: 254 });
    expect([...s.tokens]).toEqual([9, 5, 6, 9, 7]);
    expect([...s.labels]).toEqual([254, 1, 1, 254, 2]);
  });
});

describe('spanTokenLabels and the tokenizer stage', () => {
  it('labels tokens by span name (first name wins), writes the shard pair and reuses a saved tokenizer', async () => {
    const path = join(root, 'tokenizer.json');
    const texts = ['the fever and the cell', 'a dose of the drug for the cell'];
    const tokenizer = await corpusTokenizer({ path, texts, vocabSize: 300 });
    expect(existsSync(path)).toBe(true);
    const again = await corpusTokenizer({ path, texts: () => Promise.reject(new Error('must not read texts again')) });
    expect(again.hash).toBe(tokenizer.hash);

    const text = 'the fever and the cell';
    const doc = { text, spans: [[4, 9, 'medical'], [0, 22, 'biology']] as [number, number, string][] };
    const { ids, labels } = spanTokenLabels(tokenizer, doc, ['general', 'medical', 'biology']);
    expect(ids).toEqual(tokenizer.encode(text));
    expect([...labels]).toContain(1);
    const { offsets } = tokenizer.encodeWithOffsets(text);
    labels.forEach((l, t) => {
      const [a, b] = [offsets[2 * t], offsets[2 * t + 1]];
      const inMedical = Math.max(0, Math.min(b, 9) - Math.max(a, 4));
      expect(l).toBe(2 * inMedical > b - a ? 1 : 2); // inside 'medical' by majority, else the enclosing 'biology'
    });
    const stream = joinDocuments([{ ids, labels }], { eotId: tokenizer.eotId, separator: 'after', separatorLabel: 255 });
    const shard = join(root, 'train.bin');
    await writeLabelledShard(shard, stream, tokenizer);
    expect(Array.from(readShard(shard).tokens)).toEqual([...stream.tokens]);
    expect([...(readSideFile(sideFilePathFor(shard, SideFileKind.Labels)).values as Uint8Array)]).toEqual([...stream.labels]);
    await expect(writeLabelledShard(shard, { tokens: stream.tokens, labels: new Uint8Array(1) }, tokenizer)).rejects.toMatchObject({ code: 'E_MISMATCH' });
  });
});
