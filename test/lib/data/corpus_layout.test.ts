import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusFile, missingCorpusFiles, readCorpusTexts, readSplitByDomain } from '../../../lib/data/corpus_layout.js';

const data = mkdtempSync(join(tmpdir(), 'tf-layout-'));
afterAll(() => rmSync(data, { recursive: true, force: true }));

const lines = (texts: string[]) => texts.map((text) => JSON.stringify({ text })).join('\n') + '\n';

describe('corpus layout', () => {
  mkdirSync(join(data, 'corpus'));
  writeFileSync(corpusFile(data, 'medical', 'val'), gzipSync(lines(['a dose', 'a drug'])));
  writeFileSync(join(data, 'corpus', 'general.val.jsonl'), lines(['a walk']));
  writeFileSync(corpusFile(data, 'medical', 'train'), gzipSync(lines(['train text'])));
  writeFileSync(join(data, 'corpus', 'notes.txt'), 'not a split');

  it('reads every domain of one split, by name, in file order, and nothing of the other split', async () => {
    expect(await readSplitByDomain(data, 'val')).toEqual({ general: ['a walk'], medical: ['a dose', 'a drug'] });
    expect(await readSplitByDomain(data, 'train')).toEqual({ medical: ['train text'] });
    expect(await readCorpusTexts(data, 'medical', 'val')).toEqual(['a dose', 'a drug']);
  });

  it('names the files a domain list lacks', () => {
    expect(missingCorpusFiles(data, ['medical', 'biology'])).toEqual([corpusFile(data, 'biology', 'train'), corpusFile(data, 'biology', 'val')]);
  });
});
