// Mutated corpus files (JSON Lines, gzipped JSON Lines, Parquet): read to documents that, written
// back as JSON Lines, read again identically, or refused with a coded error. Malformed records
// are skipped when asked, never thrown uncoded.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readDocuments } from '../../lib/data/read_documents.js';
import type { Document, ReadDocumentsOptions } from '../../lib/data/document.js';
import { buildParquet } from '../lib/data/parquet_fixture.js';
import { tempDir } from '../lib/data/helpers.js';
import { caseCount, caseLabel, caseRng, checkInput, mutate } from './fuzz_kit.js';

const { dir, cleanup } = tempDir('tf-fuzz-docs-');
afterAll(cleanup);

async function collect(path: string, options: ReadDocumentsOptions): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of readDocuments(path, options)) out.push(d);
  return out;
}

async function roundTrip(docs: Document[], label: string): Promise<void> {
  const path = join(dir, 'again.jsonl');
  writeFileSync(path, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const again = await collect(path, {});
  expect(again.map((d) => [d.id, d.text]), label).toEqual(docs.map((d) => [d.id, d.text]));
}

const records = [
  { id: 'a', text: 'Aspirin 81 mg daily.', domain: 'medical' },
  { id: 2, text: 'Cafés 🩺 ünïcode\nline\u2028sep' },
  { text: 'no id' },
  { id: 'd', text: '' },
];
const jsonl = Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n');

async function fuzzFile(stream: string, name: string, good: Uint8Array, quick: number): Promise<{ parsed: number; refused: number }> {
  const outcomes = { parsed: 0, refused: 0 };
  for (let i = 0; i < caseCount(quick); i++) {
    const rng = caseRng(stream, i);
    const { bytes, how } = mutate(good, rng);
    const label = caseLabel(stream, i, how);
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const options: ReadDocumentsOptions = { skipMalformed: rng.below(2) === 0, invalidUtf8: rng.below(3) === 0 ? 'error' : 'count' };
    outcomes[await checkInput(label, () => collect(path, options), (docs) => roundTrip(docs, label), 5000)]++;
  }
  return outcomes;
}

describe('fuzz: corpus readers', () => {
  it('JSON Lines: reads or refuses (coded) every mutated file', async () => {
    const outcomes = await fuzzFile('jsonl', 'case.jsonl', jsonl, 80);
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });

  it('gzipped JSON Lines: reads or refuses (coded) every mutated file', async () => {
    const outcomes = await fuzzFile('jsonl-gz', 'case.jsonl.gz', gzipSync(Buffer.concat([jsonl, jsonl])), 80);
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });

  it('Parquet: reads or refuses (coded) every mutated file', async () => {
    const good = buildParquet([
      { name: 'id', type: 'int64', values: [1n, 2n, 3n, 4n] },
      { name: 'text', type: 'string', values: ['alpha', 'beta — β', '', 'delta 🧬'] },
    ], [3, 1]);
    const outcomes = await fuzzFile('parquet', 'case.parquet', good, 80);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
