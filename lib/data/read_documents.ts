/**
 * `readDocuments`: one streaming entry point over JSON Lines, gzipped JSON Lines, Parquet and
 * plain-text files or folders, dispatched by file name.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import type { Stats } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { TokenfilterError, CodedTypeError } from '../errors.js';
import { join } from 'node:path';
import { stripBom } from './byte_lines.js';
import { resolveReadOptions, type Document, type ReadDocumentsOptions, type ResolvedReadOptions } from './document.js';
import { readJsonl } from './read_jsonl.js';
import { readParquet } from './read_parquet.js';

/** The kinds of input file. */
export type DocumentFormat = 'jsonl' | 'parquet' | 'text';

/** Extensions of plain-text files picked up inside folders. */
const TEXT_EXTENSIONS = ['.txt', '.text', '.md'];
const JSONL_EXTENSIONS = ['.jsonl', '.ndjson', '.jsonl.gz', '.ndjson.gz', '.json.gz'];

/** The format of a file by its name: JSON Lines, Parquet, text, or null (not a corpus file). */
export function documentFormatOf(path: string): DocumentFormat | null {
  const lower = path.toLowerCase();
  if (JSONL_EXTENSIONS.some((e) => lower.endsWith(e))) return 'jsonl';
  if (lower.endsWith('.parquet')) return 'parquet';
  if (TEXT_EXTENSIONS.some((e) => lower.endsWith(e))) return 'text';
  return null;
}

/** `stat` that follows links, turning a missing or dangling target into a coded error naming `path`. */
async function statFollowing(path: string, isLink: boolean): Promise<Stats> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ELOOP' ? 'a symbolic link loop'
      : code === 'ENOENT' ? (isLink ? 'a dangling symbolic link (its target does not exist)' : 'no such file or folder')
      : `cannot be read (${code})`;
    throw new TokenfilterError('E_IO', `${path}: ${reason}`, { cause: error, path });
  }
}

/**
 * Walks folder `dir` (real path `real`) into `files`. `ancestors` holds the real paths of the
 * folders above it, so a link back to one of them is refused as a loop.
 */
async function walkFolder(dir: string, real: string, ancestors: Set<string>, files: string[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await statFollowing(path, true);
      isDirectory = target.isDirectory();
      isFile = target.isFile();
    }
    if (isDirectory) {
      const realChild = await realpath(path);
      if (realChild === real || ancestors.has(realChild))
        throw new TokenfilterError('E_IO', `${path}: a symbolic link loop (it leads back to ${realChild}, a folder above it)`, { path });
      ancestors.add(real);
      await walkFolder(path, realChild, ancestors, files);
      ancestors.delete(real);
    } else if (isFile && documentFormatOf(path)) files.push(path);
  }
}

/**
 * Expands files and folders into the list of corpus files, in a stable order: folders
 * recursively, sorted by name, hidden entries skipped, keeping only files whose format is known.
 * Symbolic links are followed (to files and to folders); a link that dangles or leads back to a
 * folder above it is refused, never skipped. A file named explicitly is kept whatever its
 * extension (read as plain text if unknown).
 * @throws TokenfilterError E_IO naming a path that does not exist, a dangling link or a loop.
 */
export async function listCorpusFiles(pathOrPaths: string | readonly string[]): Promise<string[]> {
  const inputs = typeof pathOrPaths === 'string' ? [pathOrPaths] : [...pathOrPaths];
  if (inputs.length === 0) throw new CodedTypeError('no input paths given');
  const files: string[] = [];
  for (const input of inputs) {
    if (typeof input !== 'string') throw new CodedTypeError('input paths must be strings');
    const info = await statFollowing(input, false);
    if (info.isDirectory()) await walkFolder(input, await realpath(input), new Set(), files);
    else files.push(input);
  }
  return files;
}

/** Yields a text file as one document, or one per blank-line-separated paragraph. */
async function* readTextFile(file: string, options: ResolvedReadOptions): AsyncGenerator<Document> {
  const text = stripBom(await readFile(file, 'utf8'));
  if (!options.paragraphs) {
    yield { id: file, text, file };
    return;
  }
  let paragraph = 0;
  for (const part of text.split(/\r?\n[ \t]*\r?\n/)) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    yield { id: `${file}#${paragraph}`, text: trimmed, file, paragraph };
    paragraph++;
  }
}

/**
 * Documents from files and folders, streamed; iterate it once. `skipped` counts malformed
 * records skipped so far (with `skipMalformed`), `invalidUtf8Lines` the JSON Lines lines read
 * with invalid UTF-8 replaced, `files` the files opened, `bytesRead` the on-disk bytes read so
 * far (compressed bytes for `.gz`; JSON Lines counted as read, Parquet and text a whole file at a
 * time when it is done), against the files' total size for progress.
 */
export class DocumentStream implements AsyncIterable<Document> {
  skipped = 0;
  invalidUtf8Lines = 0;
  files = 0;
  bytesRead = 0;
  private readonly paths: string | readonly string[];
  private readonly options: ResolvedReadOptions;

  constructor(paths: string | readonly string[], options: ReadDocumentsOptions = {}) {
    const resolved = resolveReadOptions(options);
    const { onSkip, onInvalidUtf8 } = resolved;
    this.options = {
      ...resolved,
      onSkip: (s) => { this.skipped++; onSkip(s); },
      onInvalidUtf8: (where) => { this.invalidUtf8Lines++; onInvalidUtf8(where); },
      onBytesRead: (n) => { this.bytesRead += n; },
    };
    this.paths = paths;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Document> {
    for (const file of await listCorpusFiles(this.paths)) {
      throwIfAborted(this.options.signal, 'reading documents');
      this.files++;
      const before = this.bytesRead;
      const format = documentFormatOf(file) ?? 'text';
      if (format === 'jsonl') yield* readJsonl(file, this.options);
      else if (format === 'parquet') yield* readParquet(file, this.options);
      else yield* readTextFile(file, this.options);
      this.bytesRead = before + (await stat(file)).size;
    }
  }
}

/**
 * Streams documents `{id, text, ...fields}` from JSON Lines (`.jsonl`, `.ndjson`, `.jsonl.gz`),
 * Parquet (`.parquet`, row group by row group) and plain text (`.txt`, `.md`, or any file named
 * explicitly: one document per file, or per paragraph with `paragraphs: true`); folders are
 * read recursively in name order.
 *
 * A malformed record throws {@link MalformedRecordError} naming file and line (`data.jsonl:17: …`),
 * or with `skipMalformed` is skipped, counted in `stream.skipped` and passed to `onSkip`.
 * @example
 * for await (const doc of readDocuments(['a.jsonl.gz', 'more/'], { textField: 'content' })) use(doc.text);
 */
export function readDocuments(pathOrPaths: string | readonly string[], options: ReadDocumentsOptions = {}): DocumentStream {
  return new DocumentStream(pathOrPaths, options);
}

