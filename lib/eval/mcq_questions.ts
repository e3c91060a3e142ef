/**
 * Multiple-choice questions: the record, its validation, and a reader for JSON Lines files
 * (`.jsonl` or gzip `.jsonl.gz`) such as ../shared/data/eval/mcq.jsonl.gz, with filters by
 * domain, subject and source and a seeded sample.
 *
 * One record per line: `{"id", "question", "choices": [..], "answer", "domain", "subject",
 * "source"}` with `answer` the 0-based index of the correct choice.
 * @module
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { isAborted, throwIfAborted } from '../abort.js';
import { isTokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import { streamError as codedStreamError } from '../data/read_jsonl.js';
import { MalformedRecordError } from '../data/document.js';
import { stripBom } from '../data/byte_lines.js';
import { hashUnit, seedWords } from '../data/random.js';

/** Most choices a question may have (one letter each, A to Z). */
export const MAX_CHOICES = 26;

/** One multiple-choice question. */
export interface McqQuestion {
  /** From the record's `id` (numbers become strings); `file:line` when absent. */
  id: string;
  question: string;
  /** 2 to {@link MAX_CHOICES} non-empty strings. */
  choices: string[];
  /** 0-based index of the correct choice. */
  answer: number;
  /** e.g. `medical`, `biology`, `general`; 'unknown' when absent. */
  domain: string;
  /** e.g. `anatomy`; 'unknown' when absent. */
  subject: string;
  /** e.g. `MMLU`; 'unknown' when absent. */
  source: string;
}

/** Options of {@link readMcq}. */
export interface ReadMcqOptions {
  /** Keep only questions of these domains (default: all). */
  domains?: readonly string[];
  /** Keep only questions of these subjects (default: all). */
  subjects?: readonly string[];
  /** Keep only questions of these sources (default: all). */
  sources?: readonly string[];
  /**
   * Keep at most this many of the matching questions (integer ≥ 1; default: all): a uniform
   * random sample without replacement drawn with `seed`, returned in file order.
   */
  limit?: number;
  /** Seed of the sample (non-negative safe integer, default 0). */
  seed?: number;
  /** Stops reading with an AbortError. */
  signal?: AbortSignal;
}

const KNOWN_READ_OPTIONS = new Set(['domains', 'subjects', 'sources', 'limit', 'seed', 'signal']);

/**
 * Checks one record and returns the question, or the reason it is malformed (a string).
 * @param fallbackId id used when the record has no `id`.
 */
export function toMcqQuestion(record: unknown, fallbackId: string): McqQuestion | string {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'record is not a JSON object';
  const r = record as Record<string, unknown>;
  if (typeof r.question !== 'string' || r.question.trim() === '')
    return r.question === undefined ? "no 'question' field" : "'question' must be a non-empty string";
  if (r.choices === undefined) return "no 'choices' field";
  if (!Array.isArray(r.choices) || r.choices.length < 2 || r.choices.length > MAX_CHOICES)
    return `'choices' must be an array of 2 to ${MAX_CHOICES} strings`;
  for (const [i, c] of r.choices.entries())
    if (typeof c !== 'string' || c.trim() === '') return `choices[${i}] must be a non-empty string`;
  if (r.answer === undefined) return "no 'answer' field";
  if (typeof r.answer !== 'number' || !Number.isInteger(r.answer) || r.answer < 0 || r.answer >= r.choices.length)
    return `'answer' must be an integer in [0, ${r.choices.length - 1}] (0-based), got ${JSON.stringify(r.answer)}`;
  let id = fallbackId;
  if (typeof r.id === 'string') id = r.id;
  else if (typeof r.id === 'number') id = String(r.id);
  else if (r.id !== undefined && r.id !== null) return "'id' must be a string or a number";
  const labels: Record<'domain' | 'subject' | 'source', string> = { domain: 'unknown', subject: 'unknown', source: 'unknown' };
  for (const key of ['domain', 'subject', 'source'] as const) {
    const value = r[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value === '') return `'${key}' must be a non-empty string`;
    labels[key] = value;
  }
  return { id, question: r.question, choices: [...(r.choices as string[])], answer: r.answer, ...labels };
}

function stringList(value: unknown, name: string): Set<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string'))
    throw new CodedTypeError(`options.${name} must be a non-empty array of strings`);
  return new Set(value as string[]);
}

/**
 * Reads, validates and filters the questions of a JSON Lines file. Blank lines are skipped.
 * @throws MalformedRecordError (`file:line: reason`) for a line that is not JSON or not a valid
 *   question (missing or empty choices, an answer out of range, …); Error naming the file when
 *   it cannot be read or decompressed; TypeError / RangeError for bad options; AbortError.
 */
export async function readMcq(path: string, options: ReadMcqOptions = {}): Promise<McqQuestion[]> {
  if (typeof path !== 'string' || path === '') throw new CodedTypeError('path must be a non-empty string');
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  for (const key of Object.keys(options))
    if (!KNOWN_READ_OPTIONS.has(key)) throw new CodedTypeError(`unknown option '${key}' (known: ${[...KNOWN_READ_OPTIONS].join(', ')})`);
  const domains = stringList(options.domains, 'domains');
  const subjects = stringList(options.subjects, 'subjects');
  const sources = stringList(options.sources, 'sources');
  const { limit, signal } = options;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new CodedRangeError(`options.limit must be a positive integer, got ${limit}`);
  const seed = seedWords(options.seed ?? 0, 'options.seed');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new CodedTypeError('options.signal must be an AbortSignal');

  const raw = createReadStream(path);
  const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let streamError: Error | null = null;
  const onError = (error: Error) => {
    streamError = error;
    stream.destroy();
  };
  raw.on('error', onError);
  if (stream !== raw) stream.on('error', onError);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const kept: McqQuestion[] = [];
  let lineNumber = 0;
  try {
    for await (const text of lines) {
      lineNumber++;
      const line = lineNumber === 1 ? stripBom(text) : text;
      if (lineNumber % 1024 === 0) throwIfAborted(signal, 'reading questions');
      if (line.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (error) {
        throw new MalformedRecordError(path, lineNumber, `invalid JSON (${(error as Error).message})`);
      }
      const question = toMcqQuestion(record, `${path}:${lineNumber}`);
      if (typeof question === 'string') throw new MalformedRecordError(path, lineNumber, question);
      if (domains && !domains.has(question.domain)) continue;
      if (subjects && !subjects.has(question.subject)) continue;
      if (sources && !sources.has(question.source)) continue;
      kept.push(question);
    }
  } catch (error) {
    if (isTokenfilterError(error) || isAborted(error)) throw error;
    throw codedStreamError(path, error as Error);
  } finally {
    lines.close();
    stream.destroy();
    raw.destroy();
  }
  if (streamError) throw codedStreamError(path, streamError);
  throwIfAborted(signal, 'reading questions');
  if (limit === undefined || limit >= kept.length) return kept;
  // the `limit` questions with the smallest seeded keys: a uniform sample, kept in file order
  const keys = kept.map((_, i) => hashUnit(seed[0], seed[1], i));
  const order = kept.map((_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
  return order.slice(0, limit).sort((a, b) => a - b).map((i) => kept[i]);
}
