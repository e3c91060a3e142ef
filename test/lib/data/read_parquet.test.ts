// Parquet files that lie in their footer or are corrupt get E_FILE_FORMAT naming the file (never
// a TypeError from inside hyparquet).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDocuments } from '../../../lib/data/read_documents.js';
import type { Document } from '../../../lib/data/document.js';
import { buildParquet } from './parquet_fixture.js';
import { tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('tf-parquet-');
afterAll(cleanup);

async function collect(iterable: AsyncIterable<Document>): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of iterable) out.push(d);
  return out;
}

const good = buildParquet([{ name: 'text', type: 'string', values: ['a', 'bb', 'ccc'] }], [2, 1]);

async function refusal(name: string, bytes: Uint8Array): Promise<unknown> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  try {
    await collect(readDocuments(path));
  } catch (error) {
    return error;
  }
  return null;
}

describe('readParquet', () => {
  it('reads the intact fixture', async () => {
    writeFileSync(join(dir, 'good.parquet'), good);
    expect((await collect(readDocuments(join(dir, 'good.parquet')))).map((d) => d.text)).toEqual(['a', 'bb', 'ccc']);
  });

  it('refuses a metadata length of 0, a length past the file, a cut footer and a tiny file', async () => {
    const zero = Buffer.from(good);
    zero.writeUInt32LE(0, zero.length - 8);
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0xffffff00, huge.length - 8);
    const cases: [string, Uint8Array, RegExp][] = [
      ['zero.parquet', zero, /zero\.parquet: not a readable Parquet file \(metadata length is 0\)/],
      ['huge.parquet', huge, /huge\.parquet: not a readable Parquet file \(metadata length 4294967040 exceeds/],
      ['cut.parquet', good.subarray(0, good.length - 20), /cut\.parquet: not a readable Parquet file \(no PAR1 footer/],
      ['tiny.parquet', Buffer.from('PAR1'), /tiny\.parquet: not a readable Parquet file \(4 bytes/],
    ];
    for (const [name, bytes, message] of cases) {
      const error = await refusal(name, bytes);
      expect(error).toMatchObject({ code: 'E_FILE_FORMAT', path: join(dir, name) });
      expect((error as Error).message).toMatch(message);
    }
  });

  it('refuses corrupt metadata with E_FILE_FORMAT (bytes flipped across the footer)', async () => {
    const metadataLength = good.readUInt32LE(good.length - 8);
    const start = good.length - 8 - metadataLength;
    let refused = 0;
    for (let at = start; at < good.length - 8; at += 3) {
      const bytes = Buffer.from(good);
      bytes[at] ^= 0xff;
      const error = await refusal('flip.parquet', bytes);
      if (error === null) continue; // some flips still describe a readable file
      expect(error).toMatchObject({ code: 'E_FILE_FORMAT', path: join(dir, 'flip.parquet') });
      refused++;
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('refuses a column chunk that names no column of the schema (hyparquet would leave its read unhandled)', async () => {
    const bytes = Buffer.from(good);
    const at = bytes.lastIndexOf('text', bytes.length - 8); // the last row group's chunk path
    bytes[at + 1] = 0xff;
    const error = await refusal('renamed.parquet', bytes);
    expect(error).toMatchObject({ code: 'E_FILE_FORMAT', path: join(dir, 'renamed.parquet') });
    expect((error as Error).message).toMatch(/row group 1 has a column chunk for "t\uFFFDxt", which is no column of the schema/);
  });
});
