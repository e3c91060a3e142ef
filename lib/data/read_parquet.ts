/**
 * Parquet reader over hyparquet: reads one row group at a time, so memory holds one row group's
 * rows, never the file. The footer is checked before hyparquet parses it, and every hyparquet
 * failure becomes a coded error naming the file.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { TokenfilterError } from '../errors.js';
import { MalformedRecordError, toDocument, type Document, type ResolvedReadOptions } from './document.js';

function formatError(file: string, problem: string, cause?: unknown): TokenfilterError {
  return new TokenfilterError('E_FILE_FORMAT', `${file}: ${problem}`, { path: file, cause });
}

/**
 * Checks the 8-byte footer (metadata length, `PAR1`) against the file size.
 * @throws TokenfilterError E_FILE_FORMAT for a file too short, a missing magic, or a metadata
 *   length of 0 or past the start of the file.
 */
async function checkFooter(file: string): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new TokenfilterError('E_IO', `${file}: ${(error as Error).message}`, { path: file, cause: error });
  }
  try {
    const { size } = await handle.stat();
    if (size < 12) throw formatError(file, `not a readable Parquet file (${size} bytes, too short for the PAR1 header and footer)`);
    const footer = Buffer.alloc(8);
    await handle.read(footer, 0, 8, size - 8);
    if (footer.toString('latin1', 4) !== 'PAR1') throw formatError(file, 'not a readable Parquet file (no PAR1 footer: truncated?)');
    const length = footer.readUInt32LE(0);
    if (length === 0) throw formatError(file, 'not a readable Parquet file (metadata length is 0)');
    if (length > size - 12) throw formatError(file, `not a readable Parquet file (metadata length ${length} exceeds the ${size}-byte file)`);
  } finally {
    await handle.close();
  }
}

/** Parses the metadata and checks the parts this reader relies on. */
async function readMetadata(file: string, buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>): Promise<FileMetaData> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw formatError(file, `not a readable Parquet file (${(error as Error).message})`, error);
  }
  if (!Array.isArray(metadata?.schema) || metadata.schema.length === 0 || !Array.isArray(metadata.row_groups))
    throw formatError(file, 'not a readable Parquet file (metadata lacks a schema or row groups)');
  for (const group of metadata.row_groups) {
    const rows = Number(group?.num_rows);
    if (!Number.isSafeInteger(rows) || rows < 0) throw formatError(file, `not a readable Parquet file (a row group records ${String(group?.num_rows)} rows)`);
  }
  return metadata;
}

/**
 * Yields one document per row. A row whose text column is missing or not a string is malformed
 * (`file:row N: reason`; rows counted from 0), thrown or skipped as `skipMalformed` says.
 * @throws TokenfilterError naming the file: E_IO when it cannot be opened, E_FILE_FORMAT when it
 *   is not Parquet, is corrupt or truncated, or lacks the text column.
 */
export async function* readParquet(file: string, options: ResolvedReadOptions): AsyncGenerator<Document> {
  await checkFooter(file);
  const buffer = await asyncBufferFromFile(file);
  const metadata = await readMetadata(file, buffer);
  const columns = metadata.schema.slice(1).map((element) => element.name);
  if (!columns.includes(options.textField))
    throw formatError(file, `no column '${options.textField}' (columns: ${columns.join(', ')})`);
  const name = basename(file);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    throwIfAborted(options.signal, 'reading documents');
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
    } catch (error) {
      throw formatError(file, `rows ${rowStart}..${rowEnd - 1} cannot be read (${(error as Error).message})`, error);
    }
    for (let i = 0; i < rows.length; i++) {
      const row = rowStart + i;
      const result = toDocument(rows[i], options, `${name}:${row}`);
      if (typeof result === 'string') {
        if (!options.skipMalformed) throw new MalformedRecordError(file, row, result, 'row');
        options.onSkip({ file, line: row, reason: result });
        continue;
      }
      yield result;
    }
    rowStart = rowEnd;
  }
}
