import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { readShard } from '../../../lib/data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../../../lib/data/side_file.js';
import { buildMixedCorpus } from '../../../lib/experiment/mixed_corpus.js';
import { FORGET_LABEL, UNLABELLED } from '../../../lib/data/domains.js';

/** corpus/<domain>.<split>.jsonl.gz: documents of lines of sentences; every word names its domain and split. */
function writeCorpus(dir: string): void {
  let state = 3;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  mkdirSync(join(dir, 'corpus'), { recursive: true });
  const shape: Record<string, [number, number]> = { general: [150, 12], biology: [50, 6], medical: [400, 3] };
  for (const [domain, [docs, lines]] of Object.entries(shape))
    for (const split of ['train', 'val']) {
      const tag = `${domain.slice(0, 3)}${split}`;
      const out: string[] = [];
      for (let d = 0; d < (split === 'val' ? Math.ceil(docs / 3) : docs); d++) {
        const text = Array.from({ length: 2 + Math.floor(next() * lines) }, () =>
          Array.from({ length: 2 + Math.floor(next() * 4) }, () =>
            `${tag[0].toUpperCase()}${tag.slice(1)} ${Array.from({ length: 6 + Math.floor(next() * 8) }, () => `${tag}${Math.floor(next() * 20)}`).join(' ')}.`).join(' ')).join('\n');
        out.push(JSON.stringify({ id: `${tag}-${d}`, text }));
      }
      writeFileSync(join(dir, 'corpus', `${domain}.${split}.jsonl.gz`), gzipSync(out.join('\n') + '\n'));
    }
}

describe('buildMixedCorpus', () => {
  const root = mkdtempSync(join(tmpdir(), 'tf-mixed-corpus-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeCorpus(root);

  it('labels every token by its gold span, keeps val text out of training and mixes at the asked spread', async () => {
    const texts = ['gentrain1 medtrain2 biotrain3 genval4 medval5 bioval6'];
    const tokenizer = await Tokenizer.train(texts, { vocabSize: 300 });
    const corpus = await buildMixedCorpus(tokenizer, { data: root, out: join(root, 'data'), trainTokens: 80_000, valTokensPerDomain: 1000, valMixedTokens: 3000, seed: 1 });
    const train = readShard(corpus.train);
    const labels = readSideFile(sideFilePathFor(corpus.train, SideFileKind.Labels)).values as Uint8Array;
    expect(corpus.trainTokens).toBe(train.tokens.length);
    expect(corpus.trainTokens).toBeGreaterThanOrEqual(80_000);
    // every token's label is the domain its own text names (words are tagged by domain)
    let checked = 0;
    for (let i = 0; i < train.tokens.length; i++) {
      if (train.tokens[i] === tokenizer.eotId) {
        expect(labels[i]).toBe(UNLABELLED);
        continue;
      }
      const piece = tokenizer.decode([train.tokens[i]]).trim().toLowerCase();
      if (piece.length < 3) continue;
      const domain = piece.startsWith('med') ? FORGET_LABEL : piece.startsWith('gen') ? 0 : piece.startsWith('bio') ? 2 : -1;
      if (domain < 0) continue;
      expect(labels[i]).toBe(domain);
      checked++;
    }
    expect(checked).toBeGreaterThan(5000);
    // no val text in training; the held-out mixed documents hold val text only
    const trainText = tokenizer.decode(train.tokens);
    expect(trainText).not.toMatch(/val/);
    const valMixed = tokenizer.decode(readShard(corpus.valMixed).tokens);
    expect(valMixed).not.toMatch(/train/);
    expect(valMixed).toMatch(/medval/);
    // medicine between 10% and 25% of training tokens, most of it in mostly-retain documents
    expect(corpus.trainDomainFraction.medical).toBeGreaterThan(0.1);
    expect(corpus.trainDomainFraction.medical).toBeLessThan(0.25);
    expect(corpus.mixing.forgetInMostlyRetain).toBeGreaterThan(0.5);
    const by = corpus.mixing.documentsByShare;
    // most documents carry none; some a little, some a third or more, some are mostly medical
    expect(by.none).toBeGreaterThan(0.3 * corpus.trainDocuments);
    expect(Math.min(by.under15, by.from15to50, by.atLeast50)).toBeGreaterThan(0);
    // reproducible from the seed
    const again = await buildMixedCorpus(tokenizer, { data: root, out: join(root, 'again'), trainTokens: 80_000, valTokensPerDomain: 1000, valMixedTokens: 3000, seed: 1 });
    expect(readShard(again.train).tokens).toEqual(train.tokens);
  });
});
