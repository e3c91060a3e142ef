/**
 * The tokenizer a model or checkpoint file carries, so the file alone can encode text: beside the
 * contract (`__metadata__.tokenizer`, lib/model/model_contract.ts) the whole tokenizer as Hugging
 * Face `tokenizer.json` text in `__metadata__.tokenizer_json`, unless the writer is told not to
 * (`embedTokenizer: false`, CLI `--no-embed-tokenizer`; cl100k adds about 4 MB to each file).
 * Readers check that an embedded tokenizer is the one its contract names.
 * @module
 */
import { TokenfilterError, CodedTypeError } from '../errors.js';
import { Tokenizer } from '../data/tokenizer.js';
import { tokenizerHashPrefix, type RecordedContract } from '../data/tokenizer_contract.js';
import { contractFromMetadata, contractMetadata } from './model_contract.js';
import { readSafetensorsMetadata } from './safetensors.js';

/** The metadata key holding the embedded tokenizer JSON. */
export const TOKENIZER_JSON_METADATA_KEY = 'tokenizer_json';

/** Whether a model or checkpoint file embeds its tokenizer's JSON. */
export interface EmbedTokenizerOptions {
  /** Embed the tokenizer JSON (default true). False records the contract only. */
  embedTokenizer?: boolean;
}

/** The contract a file records for `tokenizer`. */
export function recordedContractOf(tokenizer: Tokenizer): RecordedContract {
  const { vocabSize, eotId, hiddenId } = tokenizer;
  return { vocabSize, eotId, hiddenId, hashPrefix: tokenizerHashPrefix(tokenizer.hash) };
}

function sameContract(a: RecordedContract, b: RecordedContract): boolean {
  return a.vocabSize === b.vocabSize && a.eotId === b.eotId && a.hiddenId === b.hiddenId && a.hashPrefix === b.hashPrefix;
}

const jsonCache = new WeakMap<Tokenizer, string>();

/** `tokenizer.toJSON()` as text, serialised once per tokenizer (cl100k takes about a second). */
function tokenizerJsonText(tokenizer: Tokenizer): string {
  let text = jsonCache.get(tokenizer);
  if (text === undefined) {
    text = JSON.stringify(tokenizer.toJSON());
    jsonCache.set(tokenizer, text);
  }
  return text;
}

/**
 * The metadata entries recording `tokenizer` in a model or checkpoint file: its contract, and its
 * JSON when it is a {@link Tokenizer} and `embedTokenizer` is not false. A bare contract (shards
 * record no more than that) is recorded alone.
 * @throws TypeError for anything but a Tokenizer or a recorded contract.
 */
export function tokenizerMetadata(tokenizer: Tokenizer | RecordedContract, options: EmbedTokenizerOptions = {}): Record<string, string> {
  if (tokenizer instanceof Tokenizer) {
    const entries = contractMetadata(recordedContractOf(tokenizer));
    if (options.embedTokenizer !== false) entries[TOKENIZER_JSON_METADATA_KEY] = tokenizerJsonText(tokenizer);
    return entries;
  }
  const bad = tokenizer === null || typeof tokenizer !== 'object' || typeof tokenizer.hashPrefix !== 'string';
  if (bad) throw new CodedTypeError('tokenizer must be a Tokenizer or a recorded contract { vocabSize, eotId, hiddenId, hashPrefix }');
  return contractMetadata(tokenizer);
}

/**
 * The tokenizer embedded in a file's metadata, or null when it embeds none.
 * @throws TokenfilterError E_FILE_FORMAT naming `path` when the JSON is not a tokenizer, when
 *   it is not the tokenizer the file's contract names, or when its vocabulary is not the model's.
 */
export function tokenizerFromMetadata(metadata: Record<string, string>, path: string): Tokenizer | null {
  const text = metadata[TOKENIZER_JSON_METADATA_KEY];
  if (text === undefined) return null;
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromJSON(text);
  } catch (error) {
    throw new TokenfilterError('E_FILE_FORMAT', `${path}: metadata '${TOKENIZER_JSON_METADATA_KEY}': ${(error as Error).message}`, { path, cause: error });
  }
  const contract = contractFromMetadata(metadata);
  const own = recordedContractOf(tokenizer);
  if (contract && !sameContract(own, contract))
    throw new TokenfilterError(
      'E_FILE_FORMAT',
      `${path}: the embedded tokenizer (hash ${own.hashPrefix}, vocab ${own.vocabSize}) is not the one the file's contract names (hash ${contract.hashPrefix}, vocab ${contract.vocabSize})`,
      { path },
    );
  const vocab = configVocabulary(metadata);
  if (vocab !== undefined && vocab !== tokenizer.vocabSize)
    throw new TokenfilterError('E_FILE_FORMAT', `${path}: the embedded tokenizer has ${tokenizer.vocabSize} ids, the model ${vocab}`, { path });
  return tokenizer;
}

/** The vocabulary size of a model file's `config` metadata, when it has a readable one. */
function configVocabulary(metadata: Record<string, string>): number | undefined {
  try {
    const vocabSize: unknown = (JSON.parse(metadata.config ?? 'null') as { vocabSize?: unknown } | null)?.vocabSize;
    return typeof vocabSize === 'number' ? vocabSize : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tokenizer a model or checkpoint file embeds (reading the header only), or null when it
 * embeds none (written with `embedTokenizer: false`, by another tool, or before tokenizers were
 * embedded).
 * @example
 * ```ts
 * const tokenizer = await readModelTokenizer('model.safetensors');
 * const model = await Transformer.load('model.safetensors');
 * const logits = await model.logits(tokenizer!.encode('The patient was given aspirin.'));
 * ```
 * @throws SafetensorsError for a malformed header; TokenfilterError E_FILE_FORMAT as
 *   {@link tokenizerFromMetadata}; file-system errors as node:fs throws them.
 */
export async function readModelTokenizer(path: string): Promise<Tokenizer | null> {
  return tokenizerFromMetadata(await readSafetensorsMetadata(path), path);
}

/**
 * What a model derived from `sourceModel` (RMU, a fine-tuning attack) records: `contract`, plus
 * the source's embedded tokenizer when it has one (checked against `contract`).
 * @throws as {@link readModelTokenizer}.
 */
export async function derivedTokenizerMetadata(sourceModel: string, contract: RecordedContract): Promise<Record<string, string>> {
  const tokenizer = await readModelTokenizer(sourceModel);
  if (tokenizer === null) return contractMetadata(contract);
  const own = recordedContractOf(tokenizer);
  if (!sameContract(own, contract))
    throw new TokenfilterError('E_TOKENIZER_MISMATCH', `${sourceModel}: its embedded tokenizer (hash ${own.hashPrefix}) is not the shards' (hash ${contract.hashPrefix})`, { path: sourceModel });
  return tokenizerMetadata(tokenizer);
}
