// JSON Lines edge cases: a byte order mark, invalid UTF-8 (counted or refused), a truncated or
// corrupt gzip stream and an endless line, each reported with a code and the file named.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readDocuments } from '../../../lib/data/read_documents.js';
import type { Document } from '../../../lib/data/document.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('tf-jsonl-');
afterAll(cleanup);

async function collect(iterable: AsyncIterable<Document>): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of iterable) out.push(d);
  return out;
}

const BOM = Buffer.of(0xef, 0xbb, 0xbf);
const body = Buffer.from('{"id": "a", "text": "first"}\n{"id": "b", "text": "second"}\n');

describe('readJsonl', () => {
  it('skips a UTF-8 byte order mark before the first line, plain and gzipped; keeps U+FEFF inside text', async () => {
    writeFileSync(join(dir, 'bom.jsonl'), Buffer.concat([BOM, body]));
    writeFileSync(join(dir, 'bom.jsonl.gz'), gzipSync(Buffer.concat([BOM, body])));
    for (const name of ['bom.jsonl', 'bom.jsonl.gz'])
      expect((await collect(readDocuments(join(dir, name)))).map((d) => [d.id, d.text])).toEqual([['a', 'first'], ['b', 'second']]);
    writeFileSync(join(dir, 'inner.jsonl'), '{"text": "\uFEFFkept"}\n');
    expect((await collect(readDocuments(join(dir, 'inner.jsonl'))))[0].text).toBe('\uFEFFkept');
  });

  it('counts lines with invalid UTF-8 (replaced by U+FFFD) and reports where; refuses them with invalidUtf8: error', async () => {
    const path = join(dir, 'bad-utf8.jsonl');
    writeFileSync(path, Buffer.concat([Buffer.from('{"text": "ok"}\n{"text": "caf'), Buffer.of(0xe9), Buffer.from('"}\n{"text": "\u00e9 fine"}\n{"text": "'), Buffer.of(0xc0, 0x80), Buffer.from('"}\n')]));
    const reports: { file: string; line: number }[] = [];
    const stream = readDocuments(path, { onInvalidUtf8: (where) => reports.push(where) });
    const docs = await collect(stream);
    expect(docs.map((d) => d.text)).toEqual(['ok', 'caf\uFFFD', '\u00e9 fine', '\uFFFD\uFFFD']);
    expect(stream.invalidUtf8Lines).toBe(2);
    expect(reports).toEqual([{ file: path, line: 2 }, { file: path, line: 4 }]);
    await expect(collect(readDocuments(path, { invalidUtf8: 'error' }))).rejects.toThrow(
      expect.objectContaining({ code: 'E_FILE_FORMAT', path, message: `${path}:2: not valid UTF-8` }),
    );
    expect(() => readDocuments(path, { invalidUtf8: 'skip' as never })).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });

  it('refuses a truncated or corrupt gzip stream with E_FILE_FORMAT naming the file', async () => {
    const gz = gzipSync(Buffer.concat(Array.from({ length: 200 }, () => body)));
    const truncated = join(dir, 'cut.jsonl.gz');
    writeFileSync(truncated, gz.subarray(0, gz.length - 40));
    await expect(collect(readDocuments(truncated))).rejects.toThrow(
      expect.objectContaining({ code: 'E_FILE_FORMAT', path: truncated, message: expect.stringMatching(/cut\.jsonl\.gz: not a complete gzip stream .*truncated or corrupt/) }),
    );
    const corrupt = join(dir, 'flip.jsonl.gz');
    const flipped = Buffer.from(gz);
    flipped[gz.length - 6] ^= 0xff; // inside the CRC-32 / size trailer
    writeFileSync(corrupt, flipped);
    await expect(collect(readDocuments(corrupt))).rejects.toThrow(expect.objectContaining({ code: 'E_FILE_FORMAT', path: corrupt }));
  });
});

describe('readJsonl callbacks', () => {
  it("passes an error thrown by the caller's onSkip through unchanged", async () => {
    const path = join(dir, 'skip.jsonl');
    writeFileSync(path, '{"text": "a"}\nnot json\n');
    const mine = new Error('stop here');
    await expect(collect(readDocuments(path, { skipMalformed: true, onSkip: () => { throw mine; } }))).rejects.toBe(mine);
  });
});
