import { describe, expect, it } from 'vitest';
import { resolveTransformerConfig } from '../../../lib/model/config.js';
import { transformerParameterCount } from '../../../lib/model/parameter_count.js';
import { Transformer } from '../../../lib/model/transformer.js';

describe('transformerParameterCount', () => {
  it('counts blocks, norms and the embedding (tied once, untied twice)', () => {
    const tied = resolveTransformerConfig({ vocabSize: 10, dModel: 4, layers: 2, heads: 2, context: 8 });
    // per block 4·16 + 2·4·16 + 2·4 = 200, two blocks and the final norm: 404; embedding 40
    expect(transformerParameterCount(tied)).toEqual({ total: 444, nonEmbedding: 404 });
    const untied = resolveTransformerConfig({ vocabSize: 10, dModel: 4, layers: 2, heads: 2, context: 8, tieEmbeddings: false });
    expect(transformerParameterCount(untied)).toEqual({ total: 484, nonEmbedding: 404 });
  });

  it('is what a model reports and what the native model allocates', () => {
    const config = resolveTransformerConfig({ vocabSize: 33, dModel: 12, layers: 1, heads: 3, context: 4, mlpRatio: 2, tieEmbeddings: false });
    const model = Transformer.uninitialized(config);
    expect(model.parameterCount()).toEqual(transformerParameterCount(config));
    expect(model.parameterCount().total).toBe(model.native.paramCount());
  });
});
