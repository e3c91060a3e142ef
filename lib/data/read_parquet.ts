/**
 * Parquet reader over hyparquet: reads one row group at a time, so memory holds one row group's
 * rows, never the file. Footer and metadata are checked first (parquet_metadata.ts), and every
 * hyparquet failure becomes a coded error naming the file.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { basename } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { TokenfilterError } from '../errors.js';
import { MalformedRecordError, toDocument, type Document, type ResolvedReadOptions } from './document.js';
import { checkParquetFooter, readParquetMetadata } from './parquet_metadata.js';

function formatError(file: string, problem: string, cause?: unknown): TokenfilterError {
  return new TokenfilterError('E_FILE_FORMAT', `${file}: ${problem}`, { path: file, cause });
}

/**
 * Yields one document per row. A row whose text column is missing or not a string is malformed
 * (`file:row N: reason`; rows counted from 0), thrown or skipped as `skipMalformed` says.
 * @throws TokenfilterError naming the file: E_IO when it cannot be opened, E_FILE_FORMAT when it
 *   is not Parquet, is corrupt or truncated, or lacks the text column.
 */
export async function* readParquet(file: string, options: ResolvedReadOptions): AsyncGenerator<Document> {
  await checkParquetFooter(file);
  const buffer = await asyncBufferFromFile(file);
  const metadata = await readParquetMetadata(file, buffer);
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
