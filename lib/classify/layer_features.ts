/**
 * Probe features read from several biLM layers at once: row t is the concatenation of the
 * biLM's features at t for each layer of a set, in ascending layer order (e.g. `[0, 3]`: the
 * embeddings, then the states after block 3). A probe on such a set can weigh a token's identity
 * (layer 0) against the context a deeper layer carries, which a single layer cannot.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import type { BiLM, FeatureOptions } from './bilm.js';

/** A set of biLM layers whose features are concatenated (ascending, no repeats). */
export type LayerSet = readonly number[];

/** A sweep entry: one layer, or a set of layers read together. */
export type LayerChoice = number | LayerSet;

/**
 * The layer set of a sweep entry, checked against a biLM with `layerCount` layers (0 … L + 1):
 * sorted ascending.
 * @throws TokenfilterError (E_OPTION) for an empty set, a repeated layer or one out of range.
 */
export function layerSetOf(choice: LayerChoice, layerCount: number): LayerSet {
  const layers = typeof choice === 'number' ? [choice] : [...choice].sort((a, b) => a - b);
  if (layers.length === 0) throw new TokenfilterError('E_OPTION', 'a layer set must name at least one layer');
  layers.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= layerCount) throw new TokenfilterError('E_OPTION', `layer ${l} is not a layer of the biLM (0 … ${layerCount - 1})`);
    if (i > 0 && layers[i - 1] === l) throw new TokenfilterError('E_OPTION', `layer ${l} is given twice in one layer set`);
  });
  return layers;
}

/** The short name of a layer set: `3`, `0+3`. */
export function layerSetName(layers: LayerSet): string {
  return layers.join('+');
}

/**
 * Parses a sweep list: comma-separated entries, each a layer or layers joined by `+`
 * (`0,2,0+3`). Layer ranges are checked later, against the biLM.
 * @throws TokenfilterError (E_OPTION) for an empty list or an entry that is not non-negative integers.
 */
export function parseLayerChoices(text: string): LayerChoice[] {
  const entries = text.split(',').map((e) => e.trim());
  if (entries.length === 0 || entries.some((e) => e === '')) throw new TokenfilterError('E_OPTION', `expected comma-separated layers or layer sets like 0,2,0+3, got ${JSON.stringify(text)}`);
  return entries.map((e) => {
    const parts = e.split('+').map((p) => p.trim());
    if (parts.some((p) => !/^\d+$/.test(p))) throw new TokenfilterError('E_OPTION', `layer entry ${JSON.stringify(e)} is not layers joined by '+'`);
    const layers = parts.map(Number);
    return layers.length === 1 ? layers[0] : layers;
  });
}

/** The width of the features of a layer set: the biLM's features at one layer times the set's size. */
export function layerSetDimension(bilm: BiLM, layers: LayerSet, direction: FeatureOptions['direction'] = 'both'): number {
  return bilm.dimensionOf(direction) * layers.length;
}

/**
 * Features [n, D·k] of each document for the k layers of `layers` (see
 * {@link BiLM.featuresOfDocuments}): row t holds the D features of the first layer at t, then
 * the second's, and so on. One layer gives exactly the biLM's features.
 */
export async function featuresOfLayers(bilm: BiLM, documents: readonly Uint32Array[], layers: LayerSet, options: FeatureOptions = {}): Promise<Float32Array[]> {
  if (layers.length === 1) return bilm.featuresOfDocuments(documents, layers[0], options);
  const D = bilm.dimensionOf(options.direction);
  const k = layers.length;
  const outputs = documents.map((doc) => new Float32Array(doc.length * D * k));
  for (let j = 0; j < k; j++) {
    const part = await bilm.featuresOfDocuments(documents, layers[j], options);
    part.forEach((f, d) => {
      const out = outputs[d];
      for (let t = 0; t < documents[d].length; t++) out.set(f.subarray(t * D, (t + 1) * D), (t * k + j) * D);
    });
  }
  return outputs;
}
