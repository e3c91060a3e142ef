/**
 * A steering configuration kept in a JSON file, for commands that evaluate a model under
 * steering (`finetune-attack --eval-steering`): `{ "heads": [{ "layer", "head", "vector": [...] }],
 * "residual": [{ "layer", "direction": [...], "keep" }] }`, either part optional, as
 * {@link setSteering} takes it. The mixture comparison records its steered model's heads in this
 * form (`results.comparison.seeds[seed].steered.heads`).
 * @module
 */
import { readJsonFile } from '../data/json_file.js';
import { TokenfilterError, errorCode } from '../errors.js';
import type { Transformer } from '../model/transformer.js';
import { setSteering, type Steering } from './steering.js';

/**
 * Reads a steering configuration and checks it against `model` (layer and head indices, vector
 * widths, finite values, keep in [0, 1]); the model is left unsteered.
 * @throws TokenfilterError E_OPTION naming the file and the bad value, E_FILE_FORMAT for text
 *   that is not JSON; node:fs errors for a file that cannot be read.
 */
export async function readSteeringFile(path: string, model: Transformer): Promise<Steering> {
  const parsed = await readJsonFile(path);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TokenfilterError('E_OPTION', `${path}: a steering file holds one object with 'heads' and/or 'residual'`, { path });
  const steering = parsed as Steering;
  for (const key of ['heads', 'residual'] as const)
    if (steering[key] !== undefined && !Array.isArray(steering[key])) throw new TokenfilterError('E_OPTION', `${path}: '${key}' must be an array`, { path });
  try {
    setSteering(model, steering);
  } catch (error) {
    throw new TokenfilterError(errorCode(error) ?? 'E_OPTION', `${path}: ${(error as Error).message}`, { path, cause: error });
  } finally {
    setSteering(model, null);
  }
  if ((steering.heads?.length ?? 0) + (steering.residual?.length ?? 0) === 0)
    throw new TokenfilterError('E_OPTION', `${path}: the steering file steers nothing (no heads, no residual)`, { path });
  return steering;
}
