import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { NATIVE_EXPORT_NAMES } from '../../lib/native_types.js';

describe('NativeAddon describes every export of the addon', () => {
  it('lists exactly the loaded exports (the CUDA hooks only in a CUDA build)', () => {
    const loaded = Object.keys(native).sort();
    const declared = NATIVE_EXPORT_NAMES.filter((n) => n !== '_cudaOps' || n in native).sort();
    expect(loaded).toEqual(declared);
  });

  it('the namespaces hold the functions the interface names', () => {
    expect(Object.keys(native.sae).sort()).toEqual(['SaeModel', 'encodeSelected', 'labelTokens', 'latentMoments', 'topkActivation']);
    expect(Object.keys(native.filter).sort()).toEqual(['firstInvalidProbability', 'tokenFilter']);
    expect(Object.keys(native.logistic).sort()).toEqual(['fit', 'objective', 'predict']);
    const model = new native.TransformerModel({ vocabSize: 8, dModel: 8, layers: 1, heads: 2, hidden: 32, context: 4, tieEmbeddings: true, ropeBase: 10000, normEps: 1e-5 });
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(model)).filter((m) => m !== 'constructor').sort();
    expect(methods).toEqual([
      'activationBytesFor', 'decode', 'evaluate', 'headOutputs', 'hiddenBackward', 'hiddenStates', 'init', 'logits', 'newCache', 'paramCount',
      'profile', 'readGradients', 'readOptimizer', 'readParameters', 'resetProfile', 'savedActivationBytesFor', 'setHeadShift',
      'setProfiling', 'setResidualSteering', 'step', 'tensors', 'writeOptimizer', 'writeParameters', 'zeroGradients',
    ]);
  });
});
