import { describe, expect, it } from 'vitest';
import { featuresOfLayers, layerSetDimension, layerSetName, layerSetOf, parseLayerChoices } from '../../../lib/classify/layer_features.js';
import { TokenfilterError } from '../../../lib/errors.js';
import { randomIds, tinyBiLM } from './fixtures.js';

describe('featuresOfLayers', () => {
  it('concatenates each layer\'s features per token, in ascending layer order, across windows', async () => {
    const bilm = await tinyBiLM();
    const D = bilm.dimensionOf('both');
    // longer than the context (16): read in overlapping windows
    const documents = [randomIds(41, bilm.tokenizer.vocabSize, 1), randomIds(7, bilm.tokenizer.vocabSize, 2)];
    const layers = layerSetOf([3, 0, 1], bilm.layerCount);
    expect(layers).toEqual([0, 1, 3]);
    const joined = await featuresOfLayers(bilm, documents, layers);
    const single: Float32Array[][] = [];
    for (const l of layers) single.push(await bilm.featuresOfDocuments(documents, l));
    expect(layerSetDimension(bilm, layers)).toBe(3 * D);
    documents.forEach((doc, d) => {
      expect(joined[d].length).toBe(doc.length * 3 * D);
      for (let t = 0; t < doc.length; t++)
        layers.forEach((_, j) => expect(joined[d].subarray((t * 3 + j) * D, (t * 3 + j + 1) * D)).toEqual(single[j][d].subarray(t * D, (t + 1) * D)));
    });
    // layers really differ, so a wrong order would show
    expect(single[0][0]).not.toEqual(single[2][0]);
    // one layer is the biLM's own features; one direction halves the width
    expect((await featuresOfLayers(bilm, documents, [2]))[0]).toEqual((await bilm.featuresOfDocuments(documents, 2))[0]);
    const forward = await featuresOfLayers(bilm, documents, [0, 2], { direction: 'forward' });
    expect(forward[1].length).toBe(7 * 2 * bilm.dimensionOf('forward'));
  });

  it('checks layer sets and parses sweep lists', async () => {
    const bilm = await tinyBiLM();
    for (const bad of [[], [0, 0], [bilm.layerCount], [-1], [1.5]])
      expect(() => layerSetOf(bad, bilm.layerCount)).toThrow(TokenfilterError);
    expect(layerSetOf(2, bilm.layerCount)).toEqual([2]);
    expect(layerSetName([0, 3])).toBe('0+3');
    expect(parseLayerChoices('0, 2,3+0,1+2+3')).toEqual([0, 2, [3, 0], [1, 2, 3]]);
    for (const bad of ['', '0,,1', '0+', 'a', '1+-2', '2.5'])
      expect(() => parseLayerChoices(bad), bad).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });
});
