/**
 * Logit mixtures of two probes: the probe whose logit is probe a's plus `scale` times probe b's,
 * each on its own layer. It is exactly a probe on the two layers' features concatenated ([a's
 * features, b's]), so it saves and scores like any layer-set probe (layer_features.ts). Unlike a
 * probe fitted on the concatenation, whose weights maximise the likelihood of the training tokens
 * (and so lean on whichever layer predicts best on average), the scale is chosen on the blend of
 * validation kinds: e.g. how much of a deep layer's paragraph context to add to the embeddings'
 * token evidence before a sentence inside another paragraph is lost.
 * @module
 */
import { TokenfilterError, CodedRangeError } from '../errors.js';
import { LogisticModel } from './logistic.js';

/** Scales tried by default for logit mixtures. */
export const DEFAULT_MIXTURE_SCALES: readonly number[] = [0.125, 0.25, 0.5, 1];

/** Checks mixture scales: finite and > 0. @throws TokenfilterError (E_OPTION). */
export function checkMixtureScales(scales: readonly number[]): void {
  for (const s of scales) if (!(Number.isFinite(s) && s > 0)) throw new TokenfilterError('E_OPTION', `mixture scales must be finite and > 0, got ${s}`);
}

/**
 * The probe on [a's features, b's features] whose logit is logit_a + scale · logit_b: the two
 * standardisations side by side, weights [w_a, scale · w_b], bias b_a + scale · b_b.
 * @throws TokenfilterError (E_OPTION) for a scale that is not finite and > 0.
 */
export function mixProbes(a: LogisticModel, b: LogisticModel, scale: number): LogisticModel {
  checkMixtureScales([scale]);
  const join = (x: Float64Array, y: Float64Array, s = 1) => {
    const out = new Float64Array(x.length + y.length);
    out.set(x);
    for (let j = 0; j < y.length; j++) out[x.length + j] = s * y[j];
    return out;
  };
  return new LogisticModel(join(a.mean, b.mean), join(a.invStd, b.invStd), join(a.weights, b.weights, scale), a.bias + scale * b.bias, {
    ...a.fit, mixture: { scale, fits: [a.fit, b.fit] },
  } as LogisticModel['fit']);
}

/**
 * Exact logits (float64) of a probe for feature rows [n, d]: x·(s∘w) + b − μ·(s∘w), the
 * standardisation folded in as in {@link LogisticModel.predict}.
 * @throws RangeError if the length is not a multiple of d.
 */
export function probeLogits(probe: LogisticModel, features: Float32Array): Float64Array {
  const d = probe.dimension;
  if (features.length % d !== 0) throw new CodedRangeError(`features has length ${features.length}, not a multiple of the probe's dimension ${d}`);
  const w = new Float64Array(d);
  let bias = probe.bias;
  for (let j = 0; j < d; j++) {
    w[j] = probe.invStd[j] * probe.weights[j];
    bias -= probe.mean[j] * w[j];
  }
  const n = features.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = bias;
    for (let j = 0, at = i * d; j < d; j++) z += features[at + j] * w[j];
    out[i] = z;
  }
  return out;
}

/** Probabilities σ(za + scale · zb) of a mixture from the two probes' logits. */
export function mixedProbabilities(za: Float64Array, zb: Float64Array, scale: number): Float32Array {
  if (za.length !== zb.length) throw new CodedRangeError(`logits of ${za.length} and ${zb.length} tokens`);
  const out = new Float32Array(za.length);
  for (let i = 0; i < za.length; i++) out[i] = 1 / (1 + Math.exp(-(za[i] + scale * zb[i])));
  return out;
}
