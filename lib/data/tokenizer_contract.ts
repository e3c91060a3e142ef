/**
 * The tokenizer contract every token artifact carries: vocabulary size, the `<|endoftext|>` and
 * `<|hidden|>` ids and the first 16 bytes of the tokenizer's hash. Readers compare a file's
 * contract with the tokenizer they expect and refuse a mismatch, naming both sides.
 *
 * Layout shared by token shards and side files (int32 words of the 256-word header, little
 * endian; llm.c/nanoGPT readers ignore these words, which they leave zero):
 *
 * | word   | field                                               |
 * |--------|-----------------------------------------------------|
 * | 8      | vocabulary size (0 = no contract recorded)          |
 * | 9      | end-of-text token id                                |
 * | 10     | hidden token id                                     |
 * | 11..14 | first 16 bytes of the tokenizer hash                |
 * @module
 */
import { createHash } from 'node:crypto';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';

/** What identifies a tokenizer to a file. A `Tokenizer` instance satisfies this interface. */
export interface TokenizerContract {
  /** Number of token ids; every id in a file is below it. */
  readonly vocabSize: number;
  /** Id of `<|endoftext|>`. */
  readonly eotId: number;
  /** Id of `<|hidden|>`. */
  readonly hiddenId: number;
  /** The tokenizer's hash (hex preferred; any string is accepted, see `tokenizerHashBytes` in lib/data/tokenizer_contract.ts). */
  readonly hash: string;
  /** Human-readable name, used in error messages only. */
  readonly name?: string;
}

/** A contract as read back from a file: the hash is the 16 recorded bytes as 32 hex digits. */
export interface RecordedContract {
  vocabSize: number;
  eotId: number;
  hiddenId: number;
  /** 32 lowercase hex digits, or '' when the file records no contract (vocabSize 0). */
  hashPrefix: string;
}

/** First header word of the contract block. */
export const CONTRACT_WORD = 8;
/** Words the contract block occupies (8..14). */
export const CONTRACT_WORDS = 7;

/**
 * The 16 bytes recorded for a hash: the first 32 digits when `hash` is hexadecimal with at least
 * 32 digits, else the first 16 bytes of SHA-256 of the string.
 */
export function tokenizerHashBytes(hash: string): Uint8Array {
  if (typeof hash !== 'string' || hash.length === 0) throw new CodedTypeError('tokenizer hash must be a non-empty string');
  if (/^[0-9a-fA-F]{32,}$/.test(hash)) return Uint8Array.from(Buffer.from(hash.slice(0, 32), 'hex'));
  return Uint8Array.from(createHash('sha256').update(hash).digest().subarray(0, 16));
}

/** The 32-hex-digit prefix a file records for `hash`. */
export function tokenizerHashPrefix(hash: string): string {
  return Buffer.from(tokenizerHashBytes(hash)).toString('hex');
}

/**
 * Checks a contract's fields: vocabSize an integer in [1, 2^31), ids below vocabSize.
 * @throws TypeError / RangeError naming `name`.
 */
export function validateContract(contract: TokenizerContract, name = 'tokenizer'): void {
  if (contract === null || typeof contract !== 'object') throw new CodedTypeError(`${name} must be an object`);
  const { vocabSize, eotId, hiddenId } = contract;
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 0x7fffffff)
    throw new CodedRangeError(`${name}.vocabSize must be an integer in [1, 2^31), got ${vocabSize}`);
  for (const [field, id] of [['eotId', eotId], ['hiddenId', hiddenId]] as const) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
      throw new CodedRangeError(`${name}.${field} must be an integer in [0, ${vocabSize}), got ${id}`);
  }
  tokenizerHashBytes(contract.hash);
}

/** Writes the contract block into a 256-word header. */
export function writeContract(header: Int32Array, contract: TokenizerContract): void {
  header[CONTRACT_WORD] = contract.vocabSize;
  header[CONTRACT_WORD + 1] = contract.eotId;
  header[CONTRACT_WORD + 2] = contract.hiddenId;
  const bytes = tokenizerHashBytes(contract.hash);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  for (let i = 0; i < 4; i++) header[CONTRACT_WORD + 3 + i] = view.getInt32(4 * i, true);
}

/**
 * Reads the contract block of a header.
 * @throws TokenfilterError E_FILE_FORMAT naming `file` when the recorded values are impossible
 *   (negative sizes, ids out of range).
 */
export function readContract(header: Int32Array, file: string): RecordedContract {
  const vocabSize = header[CONTRACT_WORD];
  const eotId = header[CONTRACT_WORD + 1];
  const hiddenId = header[CONTRACT_WORD + 2];
  if (vocabSize < 0)
    throw new TokenfilterError('E_FILE_FORMAT', `${file}: header records a negative vocabulary size (${vocabSize})`, { path: file });
  if (vocabSize === 0) return { vocabSize: 0, eotId: 0, hiddenId: 0, hashPrefix: '' };
  for (const [field, id] of [['end-of-text id', eotId], ['hidden id', hiddenId]] as const) {
    if (id < 0 || id >= vocabSize)
      throw new TokenfilterError('E_FILE_FORMAT', `${file}: header records ${field} ${id} outside the vocabulary of ${vocabSize}`, { path: file });
  }
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) bytes.writeInt32LE(header[CONTRACT_WORD + 3 + i], 4 * i);
  return { vocabSize, eotId, hiddenId, hashPrefix: bytes.toString('hex') };
}

/** One line describing a contract, for error messages. */
export function describeContract(c: TokenizerContract | RecordedContract): string {
  if ('hashPrefix' in c) {
    if (c.vocabSize === 0) return 'no tokenizer recorded (a plain llm.c/nanoGPT file)';
    return `vocab ${c.vocabSize}, eot ${c.eotId}, hidden ${c.hiddenId}, hash ${c.hashPrefix}`;
  }
  const name = c.name ? `'${c.name}' ` : '';
  return `${name}vocab ${c.vocabSize}, eot ${c.eotId}, hidden ${c.hiddenId}, hash ${tokenizerHashPrefix(c.hash)}`;
}

/**
 * Refuses a file whose recorded contract differs from the expected tokenizer.
 * @throws TokenfilterError E_TOKENIZER_MISMATCH naming the file and both contracts.
 */
export function checkContract(recorded: RecordedContract, expected: TokenizerContract, file: string): void {
  const same =
    recorded.vocabSize === expected.vocabSize &&
    recorded.eotId === expected.eotId &&
    recorded.hiddenId === expected.hiddenId &&
    recorded.hashPrefix === tokenizerHashPrefix(expected.hash);
  if (!same)
    throw new TokenfilterError(
      'E_TOKENIZER_MISMATCH',
      `${file}: tokenizer mismatch: the file was written with ${describeContract(recorded)}, ` +
        `but the expected tokenizer is ${describeContract(expected)}`,
      { path: file },
    );
}

/**
 * Refuses two files that pair up (a shard and its scores, labels or loss mask; two shards
 * trained on together) but were written with different tokenizers. A file that records no
 * contract (a plain llm.c / nanoGPT shard) pairs only with another such file.
 * @throws TokenfilterError E_TOKENIZER_MISMATCH naming both files and both contracts.
 */
export function checkSameContract(a: RecordedContract, aFile: string, b: RecordedContract, bFile: string): void {
  const same = a.vocabSize === b.vocabSize && a.eotId === b.eotId && a.hiddenId === b.hiddenId && a.hashPrefix === b.hashPrefix;
  if (!same)
    throw new TokenfilterError(
      'E_TOKENIZER_MISMATCH',
      `${bFile}: tokenizer mismatch with ${aFile}: ${bFile} was written with ${describeContract(b)}, ` +
        `${aFile} with ${describeContract(a)}`,
      { path: bFile },
    );
}
