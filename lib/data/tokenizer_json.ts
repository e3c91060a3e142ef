/**
 * Conversion between the tokenizer description the native BPE takes and the `tokenizer.json`
 * layout of the Hugging Face `tokenizers` library (byte-level BPE). Internal to
 * lib/data/tokenizer.ts.
 * @module
 */
import { TokenfilterError } from '../errors.js';

/** The cl100k_base / Llama 3 split regex, as Hugging Face writes it in a `Split` pre-tokenizer. */
export const CL100K_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** The same regex as js-tiktoken spells it (contractions listed in every case). */
export const CL100K_PATTERN_TIKTOKEN =
  "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** GPT-2's regex (what Hugging Face's ByteLevel pre-tokenizer applies when use_regex is true). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Which hand-written pre-tokenizer the native core runs (see native/tokenizer/pretokenize.h). */
export type PretokenizerName = 'cl100k' | 'gpt2';

/** Token kinds as the native core numbers them. */
export const ABSENT = 0;
export const REGULAR = 1;
export const SPECIAL = 2;

/** A complete byte-level BPE description: what `native.Bpe` is built from. */
export interface BpeSpec {
  pretokenizer: PretokenizerName;
  /** 'merges': ordered merge list (rank = index); 'ranks': tiktoken ranks (rank = token id). */
  mode: 'merges' | 'ranks';
  /** Bytes of every id (empty for an absent id; a special token's bytes are its UTF-8 text). */
  tokens: Uint8Array[];
  /** ABSENT, REGULAR or SPECIAL per id. */
  kinds: Uint8Array;
  /** (left, right) ids per merge, flat; mode 'merges' only. */
  merges?: Uint32Array;
  /** Emit a piece that is itself a token without merging (tiktoken; HF `ignore_merges`). */
  wholePieceFirst: boolean;
}

/** GPT-2's reversible byte → printable character table used in byte-level vocabularies. */
function byteTables(): { toChar: string[]; toByte: Map<string, number> } {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const toChar: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) toChar[b] = String.fromCharCode(printable.includes(b) ? b : 256 + extra++);
  const toByte = new Map<string, number>();
  toChar.forEach((c, b) => toByte.set(c, b));
  return { toChar, toByte };
}
const BYTES = byteTables();

/** The byte-level vocabulary string of a token's bytes. */
export function bytesToVocabString(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTES.toChar[b];
  return s;
}

/** Bytes of a byte-level vocabulary string, or null if a character is outside the table. */
export function vocabStringToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = BYTES.toByte.get(s[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

const encoder = new TextEncoder();

function fail(message: string): never {
  throw new TokenfilterError('E_FILE_FORMAT', `tokenizer JSON: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads the pre-tokenizer: GPT-2 ByteLevel(use_regex) or Split(cl100k regex) + ByteLevel. */
function readPretokenizer(p: unknown): PretokenizerName {
  if (!isObject(p)) fail('pre_tokenizer is missing (a byte-level BPE needs ByteLevel)');
  const byteLevel = (q: Record<string, unknown>) => {
    if (q.add_prefix_space === true) fail('ByteLevel add_prefix_space = true is not supported');
  };
  if (p.type === 'ByteLevel') {
    byteLevel(p);
    if (p.use_regex === false) fail('ByteLevel with use_regex = false and no Split is not supported');
    return 'gpt2';
  }
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers) && p.pretokenizers.length === 2) {
    const [split, level] = p.pretokenizers as unknown[];
    if (isObject(split) && isObject(level) && split.type === 'Split' && level.type === 'ByteLevel') {
      byteLevel(level);
      const pattern = isObject(split.pattern) ? split.pattern.Regex : undefined;
      // These regexes match every character, so keeping the matches (Isolated) and removing the
      // gaps between them (Removed + invert) split alike.
      const keepsMatches =
        ((split.behavior ?? 'Isolated') === 'Isolated' && split.invert !== true) || (split.behavior === 'Removed' && split.invert === true);
      if (!keepsMatches) fail("the Split pre-tokenizer must be behavior 'Isolated' (or 'Removed' with invert true)");
      if (pattern === CL100K_PATTERN || pattern === CL100K_PATTERN_TIKTOKEN) return 'cl100k';
      if (pattern === GPT2_PATTERN) return 'gpt2';
      fail(`unsupported Split regex ${JSON.stringify(pattern)} (supported: the GPT-2 and cl100k patterns)`);
    }
  }
  fail(`unsupported pre_tokenizer ${JSON.stringify(p).slice(0, 200)}`);
}

/**
 * Parses a Hugging Face `tokenizer.json` (byte-level BPE) into a BpeSpec plus its special
 * tokens. Throws a TokenfilterError E_FILE_FORMAT starting "tokenizer JSON:" that says what is wrong.
 */
export function specFromJSON(json: unknown): { spec: BpeSpec; specials: Map<string, number> } {
  if (!isObject(json)) fail('expected an object');
  const model = json.model;
  if (!isObject(model)) fail('model is missing');
  if (model.type !== 'BPE') fail(`model.type is ${JSON.stringify(model.type)}, expected "BPE"`);
  if (json.normalizer != null) fail('a normalizer is not supported');
  if (model.dropout != null && model.dropout !== 0) fail('BPE dropout is not supported');
  if (model.byte_fallback === true) fail('byte_fallback is not supported');
  if (model.continuing_subword_prefix) fail('continuing_subword_prefix is not supported');
  if (model.end_of_word_suffix) fail('end_of_word_suffix is not supported');
  const pretokenizer = readPretokenizer(json.pre_tokenizer);
  if (!isObject(model.vocab)) fail('model.vocab must be an object mapping token strings to ids');
  const byId = new Map<number, { bytes: Uint8Array; kind: number }>();
  const idOf = new Map<string, number>();
  for (const [text, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= 0x7fffffff)
      fail(`model.vocab[${JSON.stringify(text)}] = ${JSON.stringify(id)} is not a valid id`);
    if (byId.has(id as number)) fail(`id ${id} appears twice in model.vocab`);
    const bytes = vocabStringToBytes(text);
    if (bytes === null || bytes.length === 0) {
      fail(`model.vocab entry ${JSON.stringify(text)} is not a byte-level token (not a GPT-2 byte-to-unicode string)`);
    }
    byId.set(id as number, { bytes, kind: REGULAR });
    idOf.set(text, id as number);
  }
  const specials = new Map<string, number>();
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) fail('added_tokens must be an array');
  for (const [i, t] of added.entries()) {
    if (!isObject(t) || typeof t.content !== 'string' || t.content === '' || !Number.isInteger(t.id) || (t.id as number) < 0 || (t.id as number) >= 0x7fffffff)
      fail(`added_tokens[${i}] must have a non-empty string content and an integer id`);
    const id = t.id as number;
    const existing = byId.get(id);
    if (existing && idOf.get(bytesToVocabString(encoder.encode(t.content))) !== id)
      fail(`added_tokens[${i}] (${JSON.stringify(t.content)}) reuses id ${id} of another token`);
    if (existing) idOf.delete(bytesToVocabString(existing.bytes));
    byId.set(id, { bytes: encoder.encode(t.content), kind: SPECIAL });
    specials.set(t.content, id);
  }
  let size = 0;
  for (const id of byId.keys()) size = Math.max(size, id + 1);
  if (size > 4 * byId.size + 1024) fail(`ids are too sparse (largest ${size - 1} for ${byId.size} tokens)`);
  const tokens: Uint8Array[] = new Array(size).fill(new Uint8Array(0));
  const kinds = new Uint8Array(size);
  for (const [id, t] of byId) {
    tokens[id] = t.bytes;
    kinds[id] = t.kind;
  }
  if (!Array.isArray(model.merges)) fail('model.merges must be an array');
  const merges = new Uint32Array(model.merges.length * 2);
  for (const [i, m] of (model.merges as unknown[]).entries()) {
    let parts: unknown[];
    if (typeof m === 'string') parts = m.split(' ');
    else if (Array.isArray(m)) parts = m;
    else fail(`model.merges[${i}] must be "left right" or [left, right]`);
    if (parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string')
      fail(`model.merges[${i}] must name exactly two tokens`);
    for (const [k, part] of (parts as string[]).entries()) {
      const id = idOf.get(part);
      if (id === undefined) fail(`model.merges[${i}] names ${JSON.stringify(part)}, which is not in model.vocab`);
      merges[2 * i + k] = id;
    }
  }
  return {
    spec: { pretokenizer, mode: 'merges', tokens, kinds, merges, wholePieceFirst: model.ignore_merges === true },
    specials,
  };
}

/**
 * Writes a BpeSpec as a Hugging Face `tokenizer.json` object. `mergeRules` are the native
 * (left, right, result, rank) quadruples sorted by rank; for a ranks-mode tokenizer (cl100k)
 * they become an ordered merge list with `ignore_merges: true`, which encodes identically except
 * when two different pairs with the same rank overlap in one piece (then tiktoken merges the
 * leftmost, Hugging Face the one listed first).
 */
export function specToJSON(spec: BpeSpec, mergeRules: Uint32Array): object {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const vocab: Record<string, number> = {};
  const added: object[] = [];
  spec.tokens.forEach((bytes, id) => {
    if (spec.kinds[id] === REGULAR) vocab[bytesToVocabString(bytes)] = id;
    else if (spec.kinds[id] === SPECIAL)
      added.push({ id, content: new TextDecoder().decode(bytes), single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  });
  const names = spec.tokens.map((b) => bytesToVocabString(b));
  const merges: string[] = [];
  for (let i = 0; i < mergeRules.length; i += 4) merges.push(`${names[mergeRules[i]]} ${names[mergeRules[i + 1]]}`);
  const preTokenizer =
    spec.pretokenizer === 'gpt2'
      ? byteLevel
      : {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: CL100K_PATTERN }, behavior: 'Isolated', invert: false },
            { ...byteLevel, use_regex: false },
          ],
        };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: spec.wholePieceFirst,
      vocab,
      merges,
    },
  };
}
