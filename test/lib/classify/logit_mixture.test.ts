import { describe, expect, it } from 'vitest';
import { featuresOfLayers } from '../../../lib/classify/layer_features.js';
import { labelsFromSpans } from '../../../lib/classify/labels.js';
import { fitLogistic } from '../../../lib/classify/logistic.js';
import { checkMixtureScales, mixedProbabilities, mixProbes, probeLogits } from '../../../lib/classify/logit_mixture.js';
import { binaryMetrics } from '../../../lib/classify/metrics.js';
import { TokenClassifier } from '../../../lib/classify/token_classifier.js';
import { TokenfilterError } from '../../../lib/errors.js';
import { GENERAL, MEDICAL, randomIds, savedTinyBiLM } from './fixtures.js';

/** Random features [n, d] and labels that depend on them. */
function data(n: number, d: number, seed: number): { x: Float32Array; y: Uint8Array } {
  const ids = randomIds(n * d, 1000, seed);
  const x = Float32Array.from(ids, (v) => v / 500 - 1);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) y[i] = x[i * d] + 0.5 * x[i * d + 1] > (ids[i] % 7) / 7 - 0.5 ? 1 : 0;
  return { x, y };
}

describe('logit mixtures', () => {
  it('is the probe on the concatenated features whose logit is a + scale · b', async () => {
    const a = data(300, 3, 1);
    const b = data(300, 4, 2);
    const pa = await fitLogistic(a.x, a.y, 3);
    const pb = await fitLogistic(b.x, a.y, 4);
    const za = probeLogits(pa, a.x);
    const zb = probeLogits(pb, b.x);
    // exact logits agree with the probe's probabilities
    const p = pa.predict(a.x);
    for (let i = 0; i < 300; i++) expect(1 / (1 + Math.exp(-za[i]))).toBeCloseTo(p[i], 6);
    const joined = new Float32Array(300 * 7);
    for (let i = 0; i < 300; i++) {
      joined.set(a.x.subarray(i * 3, i * 3 + 3), i * 7);
      joined.set(b.x.subarray(i * 4, i * 4 + 4), i * 7 + 3);
    }
    for (const scale of [0.25, 1, 3]) {
      const mixed = mixProbes(pa, pb, scale);
      expect(mixed.dimension).toBe(7);
      const expected = mixedProbabilities(za, zb, scale);
      const got = mixed.predict(joined);
      for (let i = 0; i < 300; i++) expect(got[i]).toBeCloseTo(expected[i], 6);
      const z = probeLogits(mixed, joined);
      for (let i = 0; i < 300; i++) expect(z[i]).toBeCloseTo(za[i] + scale * zb[i], 9);
    }
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => checkMixtureScales([bad])).toThrow(TokenfilterError);
    expect(() => mixProbes(pa, pb, 0)).toThrow(/mixture scales/);
  });

  it('is tried for every two single layers of a sweep, chosen on the blend, and scores as its saved layer set', async () => {
    const { bilm, tokenizer, bilmPath } = await savedTinyBiLM('tf-mix-');
    const paragraph = (k: number) => labelsFromSpans(tokenizer, `${MEDICAL.repeat(1 + (k % 2))}\n${GENERAL.repeat(2)}`, [[0, MEDICAL.length * (1 + (k % 2)), 'medical']], 'medical');
    const sentence = (k: number) => {
      const start = GENERAL.length * (1 + (k % 2));
      return labelsFromSpans(tokenizer, GENERAL.repeat(1 + (k % 2)) + MEDICAL + GENERAL, [[start, start + MEDICAL.length - 1, 'medical']], 'medical');
    };
    const train = [0, 1, 2].flatMap((k) => [paragraph(k), sentence(k)]);
    const valSets = [{ name: 'paragraph', sequences: [3, 4].map(paragraph) }, { name: 'sentence', sequences: [3, 4].map(sentence) }];
    const { classifier, sweep } = await TokenClassifier.train({ bilm, bilmPath, train, valSets, layers: [2, 0, [0, 1]], smoothing: [0, 4], mixtures: [0.5, 2] });
    // single layers 0 and 2 mix (the layer set 0+1 does not), once per scale
    expect(sweep.map((r) => [r.layers, r.mixtureScale])).toEqual([[[2], undefined], [[0], undefined], [[0, 1], undefined], [[0, 2], 0.5], [[0, 2], 2]]);
    const chosen = (classifier.report as { chosen: { blendF1: number } }).chosen;
    expect(chosen.blendF1).toBe(Math.max(...sweep.map((r) => r.blendF1)));
    // a mixture's validation figures are those of the layer-set classifier it saves as
    const p0 = await TokenClassifier.train({ bilm, bilmPath, train, valSets, layers: [0], smoothing: [0] });
    const p2 = await TokenClassifier.train({ bilm, bilmPath, train, valSets, layers: [2], smoothing: [0] });
    for (const r of sweep.filter((x) => x.mixtureScale !== undefined)) {
      const mixed = new TokenClassifier(bilm, bilmPath, [0, 2], mixProbes(p0.classifier.probe, p2.classifier.probe, r.mixtureScale!), r.maxF1.threshold, null, 'both', r.method);
      for (const [k, set] of valSets.entries()) {
        const scores = await mixed.scoreDocuments(set.sequences.map((q) => q.tokens));
        const m = binaryMetrics(Float32Array.from(scores.flatMap((x) => [...x])), Uint8Array.from(set.sequences.flatMap((q) => [...q.labels])), r.maxF1.threshold);
        expect(m.f1).toBeCloseTo(r.kinds[k].f1, 6);
      }
      // and its raw probabilities are the mixture of the two probes' on the concatenated features
      const doc = valSets[1].sequences[0].tokens;
      const [f0] = await featuresOfLayers(bilm, [doc], [0]);
      const [f2] = await featuresOfLayers(bilm, [doc], [2]);
      const expected = mixedProbabilities(probeLogits(p0.classifier.probe, f0), probeLogits(p2.classifier.probe, f2), r.mixtureScale!);
      const raw = (await mixed.rawScores([doc]))[0];
      raw.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    }
    await expect(TokenClassifier.train({ bilm, bilmPath, train, valSets, layers: [0, 2], mixtures: [0] })).rejects.toThrow(/mixture scales/);
  }, 60_000);
});
