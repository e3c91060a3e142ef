/**
 * Checks of a Parquet file's footer and metadata made before hyparquet reads any column: the
 * footer against the file size, and every column chunk against the schema. hyparquet starts a
 * read for every column chunk of a row group but only waits for the chunks whose path names a
 * schema column, so a chunk naming no column (a corrupt file) would fail later as an unhandled
 * rejection, which ends a Node process; such files are refused here instead.
 * @module
 */
import { open } from 'node:fs/promises';
import { parquetMetadataAsync, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { TokenfilterError } from '../errors.js';

/** The error for a file that is not readable Parquet: E_FILE_FORMAT naming the file. */
export function parquetError(file: string, problem: string, cause?: unknown): TokenfilterError {
  return new TokenfilterError('E_FILE_FORMAT', `${file}: not a readable Parquet file (${problem})`, { path: file, cause });
}

/**
 * Checks the 8-byte footer (metadata length, `PAR1`) against the file size.
 * @throws TokenfilterError E_IO when the file cannot be opened; E_FILE_FORMAT for a file too
 *   short, a missing magic, or a metadata length of 0 or past the start of the file.
 */
export async function checkParquetFooter(file: string): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new TokenfilterError('E_IO', `${file}: ${(error as Error).message}`, { path: file, cause: error });
  }
  try {
    const { size } = await handle.stat();
    if (size < 12) throw parquetError(file, `${size} bytes, too short for the PAR1 header and footer`);
    const footer = Buffer.alloc(8);
    await handle.read(footer, 0, 8, size - 8);
    if (footer.toString('latin1', 4) !== 'PAR1') throw parquetError(file, 'no PAR1 footer: truncated?');
    const length = footer.readUInt32LE(0);
    if (length === 0) throw parquetError(file, 'metadata length is 0');
    if (length > size - 12) throw parquetError(file, `metadata length ${length} exceeds the ${size}-byte file`);
  } finally {
    await handle.close();
  }
}

/** Dotted paths of the schema's leaf columns (the flat schema list, root first, depth first). */
function leafPaths(schema: SchemaElement[], file: string): Set<string> {
  const leaves = new Set<string>();
  let next = 1;
  const visit = (prefix: string[], children: number) => {
    for (let c = 0; c < children; c++) {
      const element = schema[next++];
      if (element === undefined) throw parquetError(file, 'the schema lists fewer columns than its elements claim');
      const path = [...prefix, element.name];
      const count = Number(element.num_children ?? 0);
      if (count > 0) visit(path, count);
      else leaves.add(path.join('.'));
    }
  };
  visit([], Number(schema[0].num_children ?? 0));
  return leaves;
}

/**
 * Parses the metadata and checks what this package relies on: a schema, row groups with sane row
 * counts, and every column chunk naming a distinct leaf column of the schema.
 * @throws TokenfilterError E_FILE_FORMAT naming the file for anything else.
 */
export async function readParquetMetadata(file: string, buffer: AsyncBuffer): Promise<FileMetaData> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw parquetError(file, (error as Error).message, error);
  }
  if (!Array.isArray(metadata?.schema) || metadata.schema.length === 0 || !Array.isArray(metadata.row_groups))
    throw parquetError(file, 'metadata lacks a schema or row groups');
  const leaves = leafPaths(metadata.schema, file);
  metadata.row_groups.forEach((group, g) => {
    const rows = Number(group?.num_rows);
    if (!Number.isSafeInteger(rows) || rows < 0) throw parquetError(file, `row group ${g} records ${String(group?.num_rows)} rows`);
    const seen = new Set<string>();
    for (const chunk of group.columns ?? []) {
      const path = chunk?.meta_data?.path_in_schema;
      const name = Array.isArray(path) ? path.join('.') : undefined;
      if (name === undefined || !leaves.has(name) || seen.has(name))
        throw parquetError(file, `row group ${g} has a column chunk for ${JSON.stringify(name ?? null)}, which is no column of the schema or is given twice`);
      seen.add(name);
    }
  });
  return metadata;
}
