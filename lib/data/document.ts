/**
 * The document record every corpus reader yields, the options they share, and the rule that
 * turns one raw record into a document (or a malformed-record error naming file and line).
 * @module
 */
import { TokenfilterError, CodedTypeError } from '../errors.js';

/** One document: an id, its text and any other fields of the source record. */
export interface Document {
  /** From the record's id field when present (numbers become strings), else `file:line` / `file:row`. */
  id: string;
  text: string;
  [field: string]: unknown;
}

/** Where a record was skipped and why. */
export interface SkippedRecord {
  file: string;
  /** 1-based line (JSON Lines), 0-based row (Parquet), or paragraph number (text). */
  line: number;
  reason: string;
}

/** Options shared by the corpus readers. */
export interface ReadDocumentsOptions {
  /** Field holding the text (default 'text'). */
  textField?: string;
  /** Field holding the id (default 'id'); a record without it gets `file:line` as id. */
  idField?: string;
  /** Skip malformed records (counted, reported through `onSkip`) instead of throwing (default false). */
  skipMalformed?: boolean;
  /** Called for each skipped record. */
  onSkip?: (skipped: SkippedRecord) => void;
  /** Plain text: one document per blank-line-separated paragraph instead of per file (default false). */
  paragraphs?: boolean;
  /**
   * A JSON Lines line that is not valid UTF-8: 'count' (default) reads it with each bad sequence
   * replaced by U+FFFD, counts it and reports it through `onInvalidUtf8`; 'error' refuses the
   * file with a TokenfilterError E_FILE_FORMAT naming file and line.
   */
  invalidUtf8?: 'count' | 'error';
  /** Called for each line read with invalid UTF-8 replaced (with `invalidUtf8: 'count'`). */
  onInvalidUtf8?: (where: { file: string; line: number }) => void;
  /** Stops reading at the next record with an AbortError. */
  signal?: AbortSignal;
}

/** Options with defaults applied. */
export interface ResolvedReadOptions {
  textField: string;
  idField: string;
  skipMalformed: boolean;
  onSkip: (skipped: SkippedRecord) => void;
  paragraphs: boolean;
  invalidUtf8: 'count' | 'error';
  onInvalidUtf8: (where: { file: string; line: number }) => void;
  signal: AbortSignal | undefined;
  /** Internal (DocumentStream): told the on-disk bytes of a JSON Lines file as they are read. */
  onBytesRead?: (bytes: number) => void;
}

/**
 * Applies defaults and checks types.
 * @throws TypeError for a field name that is not a non-empty string or a non-function onSkip /
 *   onInvalidUtf8; TokenfilterError E_OPTION for an invalidUtf8 other than 'count' or 'error'.
 */
export function resolveReadOptions(options: ReadDocumentsOptions = {}): ResolvedReadOptions {
  const { textField = 'text', idField = 'id', skipMalformed = false, onSkip = () => undefined, paragraphs = false, signal } = options;
  const { invalidUtf8 = 'count', onInvalidUtf8 = () => undefined } = options;
  if (typeof textField !== 'string' || textField === '') throw new CodedTypeError('textField must be a non-empty string');
  if (typeof idField !== 'string' || idField === '') throw new CodedTypeError('idField must be a non-empty string');
  if (typeof onSkip !== 'function') throw new CodedTypeError('onSkip must be a function');
  if (typeof onInvalidUtf8 !== 'function') throw new CodedTypeError('onInvalidUtf8 must be a function');
  if (invalidUtf8 !== 'count' && invalidUtf8 !== 'error')
    throw new TokenfilterError('E_OPTION', `invalidUtf8 must be 'count' or 'error', got ${JSON.stringify(invalidUtf8)}`);
  return { textField, idField, skipMalformed: Boolean(skipMalformed), onSkip, paragraphs: Boolean(paragraphs), invalidUtf8, onInvalidUtf8, signal };
}

/** A record that cannot become a document (code E_FILE_FORMAT); `file` and `line` say where. */
export class MalformedRecordError extends TokenfilterError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, reason: string, unit = 'line') {
    super('E_FILE_FORMAT', `${file}:${unit === 'line' ? '' : `${unit} `}${line}: ${reason}`, { path: file });
    this.name = 'MalformedRecordError';
    this.file = file;
    this.line = line;
  }
}

/**
 * Turns a parsed record into a document, or returns the reason it is malformed.
 * @param fallbackId id used when the record has no id field.
 */
export function toDocument(record: unknown, options: ResolvedReadOptions, fallbackId: string): Document | string {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'record is not a JSON object';
  const fields = record as Record<string, unknown>;
  const text = fields[options.textField];
  if (text === undefined) return `no '${options.textField}' field`;
  if (typeof text !== 'string') return `field '${options.textField}' is a ${text === null ? 'null' : typeof text}, not a string`;
  const rawId = fields[options.idField];
  let id = fallbackId;
  if (typeof rawId === 'string') id = rawId;
  else if (typeof rawId === 'number' || typeof rawId === 'bigint') id = String(rawId);
  else if (rawId !== undefined && rawId !== null) return `field '${options.idField}' is a ${typeof rawId}, not a string or number`;
  return { ...fields, id, text };
}

