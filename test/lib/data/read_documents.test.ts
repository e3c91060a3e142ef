import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readDocuments, listCorpusFiles } from '../../../lib/data/read_documents.js';
import { MalformedRecordError, type Document, type SkippedRecord } from '../../../lib/data/document.js';
import { buildParquet } from './parquet_fixture.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

async function collect(iterable: AsyncIterable<Document>): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of iterable) out.push(d);
  return out;
}

const lines = [
  JSON.stringify({ id: 'a', text: 'Aspirin thins the blood.', domain: 'medical' }),
  '',
  JSON.stringify({ id: 7, text: 'Cafés 🩺 ünïcode\nline', domain: 'general' }),
  JSON.stringify({ text: 'no id here' }),
];

describe('readDocuments', () => {
  it('reads JSON Lines, with ids, other fields, blank lines ignored and fallback ids', async () => {
    const path = join(dir, 'a.jsonl');
    writeFileSync(path, lines.join('\n') + '\n');
    const docs = await collect(readDocuments(path));
    expect(docs.map((d) => d.id)).toEqual(['a', '7', 'a.jsonl:4']);
    expect(docs[1]).toEqual({ id: '7', text: 'Cafés 🩺 ünïcode\nline', domain: 'general' });
  });

  it('reads gzipped JSON Lines with CRLF endings and custom field names', async () => {
    const path = join(dir, 'b.jsonl.gz');
    const body = [{ key: 'x1', content: 'first' }, { key: 'x2', content: 'second' }].map((r) => JSON.stringify(r)).join('\r\n');
    writeFileSync(path, gzipSync(body));
    const docs = await collect(readDocuments(path, { textField: 'content', idField: 'key' }));
    expect(docs.map((d) => [d.id, d.text])).toEqual([['x1', 'first'], ['x2', 'second']]);
  });

  it('streams a large gzipped file line by line', async () => {
    const path = join(dir, 'big.jsonl.gz');
    const n = 20_000;
    const body = Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, text: `document ${i}` })).join('\n');
    writeFileSync(path, gzipSync(body));
    let count = 0;
    let last = '';
    for await (const d of readDocuments(path)) {
      count++;
      last = d.text;
    }
    expect(count).toBe(n);
    expect(last).toBe(`document ${n - 1}`);
  });

  it('a malformed line throws naming file and line, or is skipped and counted', async () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, [lines[0], '{"id": "b", "text": ', lines[2], '{"id": "c", "text": 5}', '[1,2]'].join('\n'));
    await expect(collect(readDocuments(path))).rejects.toThrow(`${path}:2: invalid JSON`);
    await expect(collect(readDocuments(path))).rejects.toBeInstanceOf(MalformedRecordError);
    const skipped: SkippedRecord[] = [];
    const stream = readDocuments(path, { skipMalformed: true, onSkip: (s) => skipped.push(s) });
    const docs = await collect(stream);
    expect(docs.map((d) => d.id)).toEqual(['a', '7']);
    expect(stream.skipped).toBe(3);
    expect(skipped.map((s) => [s.line, s.reason])).toEqual([
      [2, expect.stringMatching(/^invalid JSON/)],
      [4, "field 'text' is a number, not a string"],
      [5, 'record is not a JSON object'],
    ]);
    const gz = join(dir, 'bad.jsonl.gz');
    writeFileSync(gz, gzipSync('{"text": "ok"}\n{"txt": "missing"}\n'));
    await expect(collect(readDocuments(gz))).rejects.toThrow(`${gz}:2: no 'text' field`);
  });

  it('names the file when gzip data is corrupt or the file is missing', async () => {
    const path = join(dir, 'corrupt.jsonl.gz');
    writeFileSync(path, Buffer.from('this is not gzip at all'));
    await expect(collect(readDocuments(path))).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    await expect(collect(readDocuments(join(dir, 'nope.jsonl')))).rejects.toThrow(/nope.jsonl: no such file or folder/);
  });

  it('reads Parquet row group by row group (hand-encoded PLAIN, uncompressed fixture)', async () => {
    const path = join(dir, 'c.parquet');
    const texts = ['alpha', 'beta — β', 'gamma 🧬', 'delta', 'epsilon'];
    writeFileSync(path, buildParquet([
      { name: 'id', type: 'int64', values: [10n, 11n, 12n, 13n, 14n] },
      { name: 'text', type: 'string', values: texts },
      { name: 'domain', type: 'string', values: ['g', 'b', 'b', 'm', 'g'] },
    ], [2, 3]));
    const docs = await collect(readDocuments(path));
    expect(docs.map((d) => d.text)).toEqual(texts);
    expect(docs.map((d) => d.id)).toEqual(['10', '11', '12', '13', '14']);
    expect(docs[3].domain).toBe('m');
    await expect(collect(readDocuments(path, { textField: 'body' }))).rejects.toThrow(/no column 'body' \(columns: id, text, domain\)/);
    const notParquet = join(dir, 'fake.parquet');
    writeFileSync(notParquet, 'nope');
    await expect(collect(readDocuments(notParquet))).rejects.toThrow(/fake.parquet: not a readable Parquet file/);
  });

  it('reads text files and folders, per file or per paragraph, in name order', async () => {
    const folder = join(dir, 'texts');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'b.txt'), 'Para one.\n\n  \nPara two\nstill two.\n\n');
    writeFileSync(join(folder, 'a.md'), '# Title');
    writeFileSync(join(folder, 'sub', 'c.txt'), 'deep');
    writeFileSync(join(folder, '.hidden.txt'), 'hidden');
    writeFileSync(join(folder, 'image.png'), 'binary');
    expect((await listCorpusFiles(folder)).map((f) => f.slice(folder.length + 1))).toEqual(['a.md', 'b.txt', 'sub/c.txt']);
    const whole = await collect(readDocuments(folder));
    expect(whole.map((d) => d.text)).toEqual(['# Title', 'Para one.\n\n  \nPara two\nstill two.\n\n', 'deep']);
    const paras = await collect(readDocuments(join(folder, 'b.txt'), { paragraphs: true }));
    expect(paras.map((d) => [d.id.slice(folder.length + 1), d.text])).toEqual([['b.txt#0', 'Para one.'], ['b.txt#1', 'Para two\nstill two.']]);
  });

  it('reads several inputs of mixed formats in order', async () => {
    const stream = readDocuments([join(dir, 'a.jsonl'), join(dir, 'c.parquet'), join(dir, 'texts', 'a.md')]);
    const docs = await collect(stream);
    expect(docs.length).toBe(3 + 5 + 1);
    expect(stream.files).toBe(3);
  });

  it('reads the real spliced benchmark set when ../shared/data is present', async (context) => {
    const path = join(process.cwd(), '..', 'shared', 'data', 'spliced', 'spliced.val.jsonl.gz');
    if (!existsSync(path)) {
      console.log(`skipped: ${path} is absent (benchmark data lives outside the package)`);
      context.skip();
      return;
    }
    let n = 0;
    for await (const doc of readDocuments(path)) {
      expect(typeof doc.text).toBe('string');
      const spans = doc.spans as [number, number, string][];
      expect(spans.length).toBeGreaterThan(0);
      for (const [s, e, d] of spans) {
        expect(0 <= s && s < e && e <= doc.text.length).toBe(true);
        expect(['medical', 'biology', 'general']).toContain(d);
      }
      if (++n === 50) break;
    }
    expect(n).toBe(50);
  });

  it('stops on abort', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(collect(readDocuments(join(dir, 'a.jsonl'), { signal: controller.signal }))).rejects.toThrow(/aborted/);
  });
});

describe('listCorpusFiles and symbolic links', () => {
  it('follows links to files and folders, in name order', async () => {
    const real = join(dir, 'links-real');
    mkdirSync(join(real, 'inner'), { recursive: true });
    writeFileSync(join(real, 'a.jsonl'), '{"text": "one"}\n');
    writeFileSync(join(real, 'inner', 'b.txt'), 'two');
    const folder = join(dir, 'links-only');
    mkdirSync(folder);
    symlinkSync(join(real, 'a.jsonl'), join(folder, 'first.jsonl'));
    symlinkSync(join(real, 'inner'), join(folder, 'more'));
    const files = (await listCorpusFiles(folder)).map((f) => f.slice(folder.length + 1));
    expect(files).toEqual(['first.jsonl', 'more/b.txt']);
    expect((await collect(readDocuments(folder))).map((d) => d.text)).toEqual(['one', 'two']);
  });

  it('refuses a link back to a folder above it, and a dangling link, naming the link (E_IO)', async () => {
    const looped = join(dir, 'links-loop');
    mkdirSync(join(looped, 'sub'), { recursive: true });
    writeFileSync(join(looped, 'a.txt'), 'x');
    symlinkSync(looped, join(looped, 'sub', 'up'));
    await expect(listCorpusFiles(looped)).rejects.toMatchObject({ code: 'E_IO', message: expect.stringMatching(/sub\/up: a symbolic link loop/) });
    const dangling = join(dir, 'links-dangling');
    mkdirSync(dangling);
    symlinkSync(join(dangling, 'gone.jsonl'), join(dangling, 'a.jsonl'));
    await expect(listCorpusFiles(dangling)).rejects.toMatchObject({ code: 'E_IO', message: expect.stringMatching(/a\.jsonl: a dangling symbolic link/) });
  });
});
