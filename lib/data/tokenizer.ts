/**
 * Byte-level BPE tokenizer: train one on a text sample, load the paper's cl100k_base, read and
 * write Hugging Face `tokenizer.json`, encode (with character offsets) and decode. Encoding runs
 * in the native core; `encodeBatch` uses every thread, off the JavaScript thread.
 *
 * Text handling, exactly:
 * - Text is encoded as UTF-8. A lone (unpaired) surrogate in a JavaScript string is encoded as
 *   U+FFFD (bytes EF BF BD), as `TextEncoder` does, so decode(encode(s)) equals s with every lone
 *   surrogate replaced by U+FFFD; well-formed strings round-trip exactly.
 * - Pre-tokenization reproduces the cl100k_base regex (tokenizers we train, cl100k) or GPT-2's
 *   (GPT-2-style tokenizer.json files) with JavaScript's Unicode classes (\p{L}, \p{N}, \s);
 *   see native/tokenizer/pretokenize.h.
 * - Special-token strings inside text (`<|endoftext|>`) are encoded as plain text; special ids
 *   only appear where the caller inserts them.
 * - Offsets: a token's span is the union of the characters its bytes belong to, in UTF-16 code
 *   units. Several tokens that share one multi-byte character (byte-level BPE may split an
 *   emoji) all get that character's whole span; a surrogate pair is never split. Spans are
 *   non-decreasing, start at 0, end at text.length, and leave no gap.
 * @module
 */
import { nativeCancelFlag, throwIfAborted } from '../abort.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic_file.js';
import { createRequire } from 'node:module';
import { native } from '../native.js';
import type { NativeBpe } from '../native_types.js';
import { errorCode, TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';
import { stripBom } from './byte_lines.js';
import {
  ABSENT,
  REGULAR,
  SPECIAL,
  type BpeSpec,
  CL100K_PATTERN_TIKTOKEN,
  specFromJSON,
  specToJSON,
} from './tokenizer_json.js';

/** End-of-text special token, separating documents in token shards. */
export const EOT_TOKEN = '<|endoftext|>';
/** Stand-in token that removal-mode filtering puts in place of forget tokens. */
export const HIDDEN_TOKEN = '<|hidden|>';

/** Options of {@link Tokenizer.train}. */
export interface TrainOptions {
  /** Final vocabulary size including the 256 byte tokens and the special tokens; >= 256 + specials. */
  vocabSize: number;
  /**
   * Extra special tokens (non-empty, distinct strings). `<|endoftext|>` and `<|hidden|>` are always
   * present and come first; these follow. Specials take the last ids.
   */
  specials?: string[];
  /** Characters (UTF-16 code units) read from `texts` at most; the last text is cut. Default 20,000,000. */
  maxChars?: number;
  /** Aborts training (the Promise rejects with an AbortError). */
  signal?: AbortSignal;
  /** Called now and then: texts counted (phase 'count'), then merges made (phase 'merge'). */
  onProgress?: (p: { phase: 'count' | 'merge'; done: number; total: number }) => void;
}

/** Options of {@link Tokenizer.encodeBatch}. */
export interface EncodeBatchOptions {
  /** Aborts encoding (the Promise rejects with an AbortError). */
  signal?: AbortSignal;
  /** Called now and then with the number of texts encoded so far. */
  onProgress?: (p: { done: number; total: number }) => void;
}

const DEFAULT_MAX_CHARS = 20_000_000;
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function flatten(tokens: Uint8Array[]): { bytes: Uint8Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(tokens.length + 1);
  let total = 0;
  tokens.forEach((t, i) => {
    offsets[i] = total;
    total += t.length;
  });
  offsets[tokens.length] = total;
  const bytes = new Uint8Array(total);
  tokens.forEach((t, i) => bytes.set(t, offsets[i]));
  return { bytes, offsets };
}

function resolveSpecials(extra: unknown): string[] {
  const list = [EOT_TOKEN, HIDDEN_TOKEN];
  if (extra === undefined) return list;
  if (!Array.isArray(extra)) throw new CodedTypeError('options.specials must be an array of strings');
  for (const [i, s] of extra.entries()) {
    if (typeof s !== 'string' || s === '') throw new CodedTypeError(`options.specials[${i}] must be a non-empty string`);
    if (!list.includes(s)) list.push(s);
  }
  return list;
}

let cl100kInstance: Tokenizer | undefined;

/**
 * A byte-level BPE tokenizer. Create one with {@link Tokenizer.train}, {@link Tokenizer.cl100k},
 * {@link Tokenizer.fromJSON} or {@link Tokenizer.load}; instances are immutable.
 */
export class Tokenizer {
  /** Number of ids (the largest id + 1; cl100k has a few unassigned ids below it). */
  readonly vocabSize: number;
  /** Id of `<|endoftext|>`. */
  readonly eotId: number;
  /** Id of `<|hidden|>`. */
  readonly hiddenId: number;
  /** Short readable name, e.g. `bpe-8192` or `cl100k_base+hidden`. */
  readonly name: string;
  private readonly spec: BpeSpec;
  private readonly specials: Map<string, number>;
  private readonly bpe: NativeBpe;
  private hashCache: string | undefined;

  private constructor(spec: BpeSpec, specials: Map<string, number>, name?: string) {
    for (const required of [EOT_TOKEN, HIDDEN_TOKEN]) {
      if (specials.has(required)) continue;
      const id = spec.tokens.length;
      spec.tokens.push(new TextEncoder().encode(required));
      const kinds = new Uint8Array(id + 1);
      kinds.set(spec.kinds);
      kinds[id] = SPECIAL;
      spec.kinds = kinds;
      specials.set(required, id);
    }
    const { bytes, offsets } = flatten(spec.tokens);
    this.bpe = new native.Bpe({
      pretokenizer: spec.pretokenizer,
      mode: spec.mode,
      tokenBytes: bytes,
      tokenOffsets: offsets,
      kinds: spec.kinds,
      merges: spec.merges,
      wholePieceFirst: spec.wholePieceFirst,
    });
    this.spec = spec;
    this.specials = specials;
    this.vocabSize = spec.tokens.length;
    this.eotId = specials.get(EOT_TOKEN)!;
    this.hiddenId = specials.get(HIDDEN_TOKEN)!;
    this.name = name ?? `bpe-${this.vocabSize}`;
  }

  /**
   * Trains a byte-level BPE (cl100k-style pre-tokenizer) on up to `maxChars` characters of
   * `texts`. Deterministic: the same texts give the same merges (ties go to the smaller pair of
   * ids; see native/tokenizer/bpe_train.h). Ids: 0–255 the bytes, then merges in order, then the
   * specials. If the sample runs out of pairs the vocabulary comes out smaller than asked.
   * @throws TypeError for a non-string text or bad option types; RangeError if vocabSize < 256 +
   *   specials or > 2^24; AbortError when `signal` aborts.
   */
  static async train(texts: Iterable<string> | AsyncIterable<string>, options: TrainOptions): Promise<Tokenizer> {
    if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
    const specials = resolveSpecials(options.specials);
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize)) throw new CodedTypeError(`options.vocabSize must be an integer, got ${vocabSize}`);
    const minimum = 256 + specials.length;
    if (vocabSize < minimum || vocabSize > 1 << 24)
      throw new CodedRangeError(`options.vocabSize must be in [${minimum}, ${1 << 24}] (256 bytes + ${specials.length} specials), got ${vocabSize}`);
    const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
    if (!Number.isInteger(maxChars) || maxChars < 1) throw new CodedRangeError(`options.maxChars must be a positive integer, got ${maxChars}`);
    if (texts === null || typeof texts !== 'object' || !(Symbol.iterator in texts || Symbol.asyncIterator in texts))
      throw new CodedTypeError('texts must be an iterable or async iterable of strings');
    const { onProgress, signal } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new CodedTypeError('options.onProgress must be a function');
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new CodedTypeError('options.signal must be an AbortSignal');
    const sample: string[] = [];
    let chars = 0;
    let index = 0;
    for await (const text of texts as AsyncIterable<string>) {
      if (typeof text !== 'string') throw new CodedTypeError(`texts[${index}] must be a string, got ${typeof text}`);
      index++;
      throwIfAborted(signal, 'tokenizer training');
      const room = maxChars - chars;
      sample.push(text.length > room ? text.slice(0, room) : text);
      chars += Math.min(room, text.length);
      if (chars >= maxChars) break;
    }
    const cancel = nativeCancelFlag(signal, 'tokenizer training');
    let trained: { tokenBytes: Uint8Array; tokenOffsets: Uint32Array; merges: Uint32Array };
    try {
      const progress =
        onProgress && ((p: { phase: number; done: number; total: number }) => onProgress({ phase: p.phase === 0 ? 'count' : 'merge', done: p.done, total: p.total }));
      trained = await native.bpeTrain(sample, vocabSize - minimum, 'cl100k', cancel.flag, progress);
    } finally {
      cancel.dispose();
    }
    const count = trained.tokenOffsets.length - 1;
    const tokens: Uint8Array[] = [];
    for (let i = 0; i < count; i++) tokens.push(trained.tokenBytes.slice(trained.tokenOffsets[i], trained.tokenOffsets[i + 1]));
    const kinds = new Uint8Array(count + specials.length).fill(REGULAR);
    const specialIds = new Map<string, number>();
    for (const s of specials) {
      specialIds.set(s, tokens.length);
      kinds[tokens.length] = SPECIAL;
      tokens.push(new TextEncoder().encode(s));
    }
    const spec: BpeSpec = { pretokenizer: 'cl100k', mode: 'merges', tokens, kinds, merges: trained.merges, wholePieceFirst: false };
    return new Tokenizer(spec, specialIds);
  }

  /**
   * Reads a Hugging Face `tokenizer.json` (byte-level BPE: model.type "BPE" with merges, a
   * ByteLevel pre-tokenizer (GPT-2 regex) or a Split with the cl100k regex followed by
   * ByteLevel). `<|endoftext|>` and `<|hidden|>` are appended at the next free ids when absent.
   * Every entry of `added_tokens` is treated as a special token: decodable, never matched in text.
   * A leading byte order mark is ignored.
   * @throws TokenfilterError E_FILE_FORMAT starting "tokenizer JSON:" for malformed, truncated or
   *   unsupported input.
   */
  static fromJSON(json: string | object): Tokenizer {
    let value: unknown = json;
    if (typeof json === 'string') {
      try {
        value = JSON.parse(stripBom(json));
      } catch (e) {
        throw new TokenfilterError('E_FILE_FORMAT', `tokenizer JSON: not valid JSON (${(e as Error).message})`, { cause: e });
      }
    } else if (json === null || typeof json !== 'object') {
      throw new CodedTypeError('json must be a string or an object');
    }
    const { spec, specials } = specFromJSON(value);
    try {
      return new Tokenizer(spec, specials);
    } catch (e) {
      // The constructor's checks (every single byte present, special ids, the native build) judge the file here.
      if (errorCode(e) !== undefined) throw e;
      throw new TokenfilterError('E_FILE_FORMAT', `tokenizer JSON: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Reads a `tokenizer.json` file (see {@link Tokenizer.fromJSON}).
   * @throws Error naming the file when it is unreadable; TokenfilterError E_FILE_FORMAT naming
   *   it when it is not a supported tokenizer.
   */
  static async load(path: string): Promise<Tokenizer> {
    if (typeof path !== 'string') throw new CodedTypeError('path must be a string');
    const text = await readFile(path, 'utf8');
    try {
      return Tokenizer.fromJSON(text);
    } catch (e) {
      throw new TokenfilterError(errorCode(e) ?? 'E_FILE_FORMAT', `${path}: ${(e as Error).message}`, { path, cause: e });
    }
  }

  /**
   * OpenAI's cl100k_base (the paper's tokenizer) with `<|hidden|>` appended at id 100277, the
   * next id after its specials (`<|endoftext|>` is 100257). Ranks come from the js-tiktoken
   * package (offline); encoding is native and gives the same ids as js-tiktoken. Cached.
   */
  static cl100k(): Tokenizer {
    if (cl100kInstance) return cl100kInstance;
    const require = createRequire(import.meta.url);
    const ranks = require('js-tiktoken/ranks/cl100k_base') as {
      pat_str: string;
      special_tokens: Record<string, number>;
      bpe_ranks: string;
    };
    if (ranks.pat_str !== CL100K_PATTERN_TIKTOKEN) throw new TokenfilterError('E_FILE_FORMAT', 'js-tiktoken cl100k_base has an unexpected split pattern');
    const tokens: Uint8Array[] = [];
    for (const line of ranks.bpe_ranks.split('\n')) {
      if (!line) continue;
      const [, offsetText, ...encoded] = line.split(' ');
      const offset = Number.parseInt(offsetText, 10);
      encoded.forEach((b64, i) => {
        tokens[offset + i] = new Uint8Array(Buffer.from(b64, 'base64'));
      });
    }
    let size = tokens.length;
    for (const id of Object.values(ranks.special_tokens)) size = Math.max(size, id + 1);
    const kinds = new Uint8Array(size);
    const full: Uint8Array[] = [];
    for (let id = 0; id < size; id++) {
      full.push(tokens[id] ?? new Uint8Array(0));
      kinds[id] = tokens[id] ? REGULAR : ABSENT;
    }
    const specials = new Map<string, number>();
    for (const [text, id] of Object.entries(ranks.special_tokens)) {
      full[id] = new TextEncoder().encode(text);
      kinds[id] = SPECIAL;
      specials.set(text, id);
    }
    const spec: BpeSpec = { pretokenizer: 'cl100k', mode: 'ranks', tokens: full, kinds, wholePieceFirst: true };
    cl100kInstance = new Tokenizer(spec, specials, 'cl100k_base+hidden');
    return cl100kInstance;
  }

  /**
   * Hex SHA-256 of a canonical description (pre-tokenizer, every token's kind and bytes, the
   * merge rules' pairs in priority order): the tokenizer contract recorded on every artifact.
   * Equal hashes mean identical encodings. Rules are numbered by their position, not their
   * stored rank, so a tiktoken-ranks tokenizer (cl100k) and the same tokenizer saved as
   * tokenizer.json and loaded back (an ordered merge list) have the same hash.
   */
  get hash(): string {
    if (this.hashCache) return this.hashCache;
    const h = createHash('sha256');
    h.update(`tokenfilter-bpe/1\npretokenizer ${this.spec.pretokenizer}\nwhole-piece-first ${this.spec.wholePieceFirst ? 1 : 0}\nvocab ${this.vocabSize}\n`);
    this.spec.tokens.forEach((bytes, id) => {
      const kind = this.spec.kinds[id];
      if (kind !== ABSENT) h.update(`${id} ${kind === SPECIAL ? 's' : 'r'} ${Buffer.from(bytes).toString('hex')}\n`);
    });
    const rules: Uint32Array = this.bpe.merges();
    const lines: string[] = [];
    for (let i = 0; i < rules.length; i += 4) {
      lines.push(`m ${i / 4} ${rules[i]} ${rules[i + 1]}\n`);
      if (lines.length === 4096) h.update(lines.splice(0).join(''));
    }
    h.update(lines.join(''));
    this.hashCache = h.digest('hex');
    return this.hashCache;
  }

  /** The tokenizer as a Hugging Face `tokenizer.json` object (byte-level BPE). */
  toJSON(): object {
    return specToJSON(this.spec, this.bpe.merges());
  }

  /** Writes {@link Tokenizer.toJSON} to `path` atomically (lib/data/atomic_file.ts). */
  async save(path: string): Promise<void> {
    if (typeof path !== 'string') throw new CodedTypeError('path must be a string');
    await writeFileAtomic(path, JSON.stringify(this.toJSON()));
  }

  /**
   * Token ids of `text` (special-token strings are plain text).
   * @throws TypeError unless `text` is a string.
   */
  encode(text: string): Uint32Array {
    return this.bpe.encode(text);
  }

  /**
   * Token ids of `text` and each token's span: `offsets[2i]`, `offsets[2i+1]` = [start, end) in
   * UTF-16 code units (see the module notes for tokens inside one multi-byte character).
   * @throws TypeError unless `text` is a string.
   */
  encodeWithOffsets(text: string): { ids: Uint32Array; offsets: Uint32Array } {
    return this.bpe.encodeWithOffsets(text);
  }

  /**
   * Encodes many texts on all native threads, off the JavaScript thread. Result i equals
   * `encode(texts[i])`; the results are views into one ArrayBuffer (copy one with `slice()` to
   * keep it alone).
   * Rejects with a TypeError naming the element unless `texts` is an array of strings, and with
   * an AbortError when `options.signal` aborts. Memory: the texts are copied (2 bytes per
   * UTF-16 unit) and all ids are held until the end, so feed a large corpus in chunks.
   */
  async encodeBatch(texts: string[], options: EncodeBatchOptions = {}): Promise<Uint32Array[]> {
    if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
    const { onProgress } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new CodedTypeError('options.onProgress must be a function');
    const cancel = nativeCancelFlag(options.signal, 'encoding');
    try {
      return await this.bpe.encodeBatch(texts, cancel.flag, onProgress && ((p: { done: number; total: number }) => onProgress({ done: p.done, total: p.total })));
    } finally {
      cancel.dispose();
    }
  }

  /**
   * The text of `ids` (invalid UTF-8, e.g. a cut multi-byte character, becomes U+FFFD).
   * @throws TypeError for a non-array; RangeError for an id that is not an integer in the vocabulary.
   */
  decode(ids: ArrayLike<number>): string {
    return this.bpe.decode(this.checkedIds(ids));
  }

  /**
   * Readable form of one token for reports: its text when its bytes are valid UTF-8, otherwise
   * each byte as `<0xHH>`.
   * @throws RangeError for an id that is not in the vocabulary.
   */
  tokenToString(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.spec.kinds[id] === ABSENT)
      throw new CodedRangeError(`id ${id} is not a token id (vocabulary size ${this.vocabSize})`);
    const bytes = this.spec.tokens[id];
    try {
      return strictDecoder.decode(bytes);
    } catch {
      return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
    }
  }

  /**
   * Frees the caches of encoded words that the tokenizer keeps between calls (a few MB per
   * thread; they make later calls faster). Encodings do not change.
   */
  clearCaches(): void {
    this.bpe.clearCaches();
  }

  /** The id of a special token such as `<|endoftext|>`, or undefined. */
  specialId(text: string): number | undefined {
    return this.specials.get(text);
  }

  private checkedIds(ids: ArrayLike<number>): Uint32Array {
    if (ids instanceof Uint32Array) return ids;
    if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number')
      throw new CodedTypeError('ids must be an array or typed array of token ids');
    const out = new Uint32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new CodedRangeError(`ids[${i}] = ${id} is not a token id (vocabulary size ${this.vocabSize})`);
      out[i] = id;
    }
    return out;
  }
}

