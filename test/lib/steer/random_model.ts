import { Transformer } from '../../../lib/model/transformer.js';
import { makeRng } from '../../native/ops/helpers.js';

/** A model with larger-than-init random parameters (gains near 1), so every path carries signal. */
export async function randomModel(config: { vocabSize: number; dModel: number; layers: number; heads: number; context: number }, seed: number): Promise<Transformer> {
  const model = await Transformer.create({ ...config, seed });
  const r = makeRng(seed);
  const flat = model.getParameters();
  for (const t of model.tensorInfo())
    for (let i = 0; i < t.size; i++) flat[t.offset + i] = t.shape.length === 1 ? 1 + 0.2 * r.normal() : 0.3 * r.normal();
  model.setParameters(flat);
  return model;
}
