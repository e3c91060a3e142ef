/**
 * How many parameters a transformer of a given config has, counted from the config alone (the
 * native model allocates exactly this many: test/lib/model/expected_tensors.test.ts). The one
 * parameter count in the package: models, loaders and size limits all read it from here.
 * @module
 */
import type { TransformerConfig } from './config.js';

/** Parameter counts. */
export interface ParameterCount {
  /** Every parameter (the tied embedding counted once). */
  total: number;
  /** Without the token embedding and the untied LM head. */
  nonEmbedding: number;
}

/**
 * The parameters of a transformer of `config`: per block, q/k/v and output projections (4·C²),
 * the MLP (2·C·H) and two RMSNorm gains (2·C); one final norm gain (C); the token embedding
 * (V·C), and the LM head (V·C) when it is not tied.
 */
export function transformerParameterCount(config: TransformerConfig): ParameterCount {
  const { vocabSize: V, dModel: C, hidden: H, layers: L } = config;
  const nonEmbedding = L * (4 * C * C + 2 * C * H + 2 * C) + C;
  return { total: nonEmbedding + V * C * (config.tieEmbeddings ? 1 : 2), nonEmbedding };
}
