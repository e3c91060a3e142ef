/**
 * The tokenizer contract of a model or checkpoint file: `tokenfilter train` (and `rmu`,
 * `finetune-attack`) record the contract of the shards the model learned from in the safetensors
 * metadata (`__metadata__.tokenizer`, a JSON string; the tokenizer itself goes beside it, see
 * lib/model/model_tokenizer.ts), so later pairings of that model with shards (eval,
 * attacks, RMU) compare tokenizers and not only vocabulary sizes. Models saved without it
 * (other tools, older files) are compared by vocabulary size alone.
 * @module
 */
import { checkSameContract, type RecordedContract } from '../data/tokenizer_contract.js';
import { readSafetensorsMetadata } from './safetensors.js';

/** The metadata key holding the contract. */
export const TOKENIZER_METADATA_KEY = 'tokenizer';

/** The metadata entry recording `contract` in a model file. */
export function contractMetadata(contract: RecordedContract): Record<string, string> {
  const { vocabSize, eotId, hiddenId, hashPrefix } = contract;
  return { [TOKENIZER_METADATA_KEY]: JSON.stringify({ vocabSize, eotId, hiddenId, hashPrefix }) };
}

function isContract(value: unknown): value is RecordedContract {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Record<string, unknown>;
  return (
    [c.vocabSize, c.eotId, c.hiddenId].every((v) => Number.isInteger(v) && (v as number) >= 0) &&
    typeof c.hashPrefix === 'string' &&
    /^[0-9a-f]{32}$/.test(c.hashPrefix)
  );
}

/**
 * The contract a model file records, read from its header only; null when it records none or the
 * header cannot be read (loading the model reports a malformed file).
 */
export async function readModelContract(path: string): Promise<RecordedContract | null> {
  try {
    return contractFromMetadata(await readSafetensorsMetadata(path));
  } catch {
    return null;
  }
}

/** The contract recorded in a model file's metadata; null when it records none (or a malformed one). */
export function contractFromMetadata(metadata: Record<string, string>): RecordedContract | null {
  const text = metadata[TOKENIZER_METADATA_KEY];
  if (typeof text !== 'string') return null;
  try {
    const contract: unknown = JSON.parse(text);
    return isContract(contract) ? contract : null;
  } catch {
    return null;
  }
}

/**
 * Refuses a shard written with another tokenizer than the model file learned from (when the
 * model records one).
 * @throws TokenfilterError E_TOKENIZER_MISMATCH naming both files.
 */
export async function checkModelAgainstShard(modelPath: string, shard: { path: string; tokenizer: RecordedContract }): Promise<void> {
  const recorded = await readModelContract(modelPath);
  if (recorded) checkSameContract(recorded, modelPath, shard.tokenizer, shard.path);
}
