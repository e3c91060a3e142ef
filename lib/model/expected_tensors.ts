/**
 * What a model file must hold for its config, checked before anything is allocated: the
 * config in a file's metadata is only a claim, and a few hundred bytes can claim a model of
 * any size, so loaders compare the claim with the tensors actually present (names, dtype,
 * shapes; the safetensors reader has already checked that each tensor's bytes match its shape)
 * and refuse configs beyond {@link MAX_LOAD_PARAMETERS} before asking for memory.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import type { TransformerConfig } from './config.js';
import { transformerParameterCount } from './parameter_count.js';
import { SafetensorsError, type SafetensorsContents } from './safetensors.js';

/**
 * The largest model a file may describe: 1e9 parameters (4 GB of float32 parameters; the
 * native model holds gradients too, and training adds two AdamW moments, 16 GB in all).
 */
export const MAX_LOAD_PARAMETERS = 1_000_000_000;

/** The tensors of a transformer of `config`, in the native table's order (names and shapes). */
export function transformerTensorShapes(config: TransformerConfig): [string, number[]][] {
  const { vocabSize: V, dModel: C, hidden: H, layers: L } = config;
  const out: [string, number[]][] = [['wte.weight', [V, C]]];
  for (let l = 0; l < L; l++) {
    const p = `blocks.${l}.`;
    out.push([`${p}attn_norm.weight`, [C]], [`${p}attn.qkv.weight`, [3 * C, C]], [`${p}attn.proj.weight`, [C, C]]);
    out.push([`${p}mlp_norm.weight`, [C]], [`${p}mlp.fc.weight`, [H, C]], [`${p}mlp.proj.weight`, [C, H]]);
  }
  out.push(['final_norm.weight', [C]]);
  if (!config.tieEmbeddings) out.push(['lm_head.weight', [V, C]]);
  return out;
}

/** Names older files used for a tensor (files written before the `*.weight` convention). */
const LEGACY_NAMES: Readonly<Record<string, string>> = { 'wte.weight': 'wte' };

/**
 * The tensor `prefix + short` of `file`, or its legacy name (`wte` for `wte.weight`), with the
 * name it was found under; undefined when neither is present.
 * @throws SafetensorsError when the file holds both names.
 */
export function findTensor(file: SafetensorsContents, prefix: string, short: string, source: string) {
  const name = prefix + short;
  const legacy = LEGACY_NAMES[short] === undefined ? undefined : prefix + LEGACY_NAMES[short];
  const found = file.tensors.get(name);
  const old = legacy === undefined ? undefined : file.tensors.get(legacy);
  if (found && old) throw new SafetensorsError(`${source}: holds both '${name}' and its old name '${legacy}'`);
  if (found) return { name, tensor: found };
  return old ? { name: legacy!, tensor: old } : undefined;
}


/**
 * Checks that `file` holds every `prefix + name` tensor of a transformer of `config` as F32 of
 * the right shape, before the model is allocated.
 * @throws TokenfilterError E_TOO_LARGE (naming the file and the limit) for a config beyond
 *   {@link MAX_LOAD_PARAMETERS}; SafetensorsError for a missing, misshapen or non-F32 tensor.
 */
export function checkTransformerTensors(file: SafetensorsContents, config: TransformerConfig, source: string, prefix: string): void {
  const count = transformerParameterCount(config).total;
  if (count > MAX_LOAD_PARAMETERS)
    throw new TokenfilterError(
      'E_TOO_LARGE',
      `${source}: the config in its metadata describes a model of ${count.toExponential(3)} parameters, above the limit of ` +
        `${MAX_LOAD_PARAMETERS.toExponential(0)} (MAX_LOAD_PARAMETERS)`,
      { path: source },
    );
  for (const [short, shape] of transformerTensorShapes(config)) {
    const hit = findTensor(file, prefix, short, source);
    if (!hit) throw new SafetensorsError(`${source}: tensor '${prefix + short}' is missing`);
    const { name, tensor: found } = hit;
    if (found.dtype !== 'F32') throw new SafetensorsError(`${source}: tensor '${name}' has dtype ${found.dtype}, expected F32`);
    if (found.shape.length !== shape.length || found.shape.some((d, i) => d !== shape[i]))
      throw new SafetensorsError(`${source}: tensor '${name}' has shape [${found.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
}
