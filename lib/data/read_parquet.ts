/**
 * Parquet reader over hyparquet: reads one row group at a time, so memory holds one row group's
 * rows, never the file.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { basename } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { MalformedRecordError, toDocument, type Document, type ResolvedReadOptions } from './document.js';

/**
 * Yields one document per row. A row whose text column is missing or not a string is malformed
 * (`file:row N: reason`; rows counted from 0), thrown or skipped as `skipMalformed` says.
 * @throws Error naming the file when it is not Parquet or lacks the text column.
 */
export async function* readParquet(file: string, options: ResolvedReadOptions): AsyncGenerator<Document> {
  const buffer = await asyncBufferFromFile(file);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw new Error(`${file}: not a readable Parquet file (${(error as Error).message})`, { cause: error });
  }
  const columns = metadata.schema.slice(1).map((element) => element.name);
  if (!columns.includes(options.textField))
    throw new Error(`${file}: no column '${options.textField}' (columns: ${columns.join(', ')})`);
  const name = basename(file);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    throwIfAborted(options.signal, 'reading documents');
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
    } catch (error) {
      throw new Error(`${file}: rows ${rowStart}..${rowEnd - 1}: ${(error as Error).message}`, { cause: error });
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
