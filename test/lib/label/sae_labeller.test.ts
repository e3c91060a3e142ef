// fitSaeLabeller on a planted problem: the residual stream at layer 0 is the token embedding, and
// "forget" tokens are a fixed set of ids, so an SAE trained on it has latents that fire on those
// ids alone. The labeller must find them, report moments of exactly the codes the labelling rule
// reads, and label held-out text far better than chance; bad inputs get clear errors.
import { describe, expect, it } from 'vitest';
import { tokenActivations } from '../../../lib/label/activations.js';
import { labelTokensWithEot } from '../../../lib/label/label_tokens.js';
import { LatentMoments } from '../../../lib/label/latent_moments.js';
import { SparseAutoencoder } from '../../../lib/label/sae.js';
import { fitSaeLabeller } from '../../../lib/label/sae_labeller.js';
import { Transformer } from '../../../lib/model/transformer.js';

const EOT = 0;

/** Documents of 30 tokens: runs of forget ids (40..47) inside retain ids (2..39); gold 1 on forget. */
function corpus(n: number, seed: number): { tokens: Uint32Array; labels: Uint8Array } {
  let state = seed;
  const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const tokens = new Uint32Array(n);
  const labels = new Uint8Array(n);
  for (let t = 0; t < n; t++) {
    const forget = Math.floor(t / 10) % 4 === 1;
    tokens[t] = t % 30 === 29 ? EOT : forget ? 40 + Math.floor(rand() * 8) : 2 + Math.floor(rand() * 38);
    labels[t] = tokens[t] === EOT ? 255 : forget ? 1 : 0;
  }
  return { tokens, labels };
}

describe('fitSaeLabeller', () => {
  it('finds the forget latents and labels held-out text with them', async () => {
    const model = await Transformer.create({ vocabSize: 48, dModel: 16, layers: 1, heads: 2, context: 32, seed: 7 });
    const sample = corpus(3000, 11);
    const fit = await fitSaeLabeller({
      model, layer: 0, tokens: sample.tokens, labels: sample.labels, dSae: 64, k: 4, steps: 300, batchRows: 256, lr: 3e-3,
      select: { top: 8, minSupport: 5 },
    });
    expect(fit.training?.explainedVariance).toBeGreaterThan(0.5);
    expect(fit.latents.length).toBeGreaterThan(0);
    expect(fit.latents[0].precision).toBeGreaterThan(0.8);
    for (const l of fit.latents) expect(l.score).toBeGreaterThanOrEqual(1);
    // the moments are those of the exact codes of the chosen latents over the sample
    const encoder = fit.sae.encoderFor(fit.latents.map((l) => l.latent));
    const codes = new Float32Array(sample.tokens.length * fit.latents.length);
    for await (const b of tokenActivations(model, sample.tokens, { layer: 0, context: 32 }))
      codes.set(await fit.sae.selectedCodes(b.activations, encoder), b.start * fit.latents.length);
    const moments = new LatentMoments(fit.latents.length).update(codes);
    Array.from(moments.meanF32()).forEach((m, i) => expect(fit.mean[i]).toBeCloseTo(m, 4));
    Array.from(moments.std()).forEach((s, i) => expect(fit.std[i]).toBeCloseTo(s, 4));

    // held-out text: the rule with these latents recovers the forget runs
    const heldOut = corpus(1500, 99);
    const held = new Float32Array(heldOut.tokens.length * fit.latents.length);
    for await (const b of tokenActivations(model, heldOut.tokens, { layer: 0, context: 32 }))
      held.set(await fit.sae.selectedCodes(b.activations, encoder), b.start * fit.latents.length);
    const labels = labelTokensWithEot(held, heldOut.tokens, EOT, { tokens: heldOut.tokens.length, latents: fit.latents.length, mean: fit.mean, std: fit.std, z: 0, minLatents: 1 });
    let tp = 0, fp = 0, fn = 0;
    heldOut.labels.forEach((g, t) => {
      if (g === 255) return;
      if (labels[t] && g === 1) tp++;
      else if (labels[t]) fp++;
      else if (g === 1) fn++;
    });
    const f1 = (2 * tp) / (2 * tp + fp + fn);
    expect(f1).toBeGreaterThan(0.6);
  }, 60_000);

  it('keeps the moments exact over several encode blocks (TopK codes kept sparse from the first pass)', async () => {
    const model = await Transformer.create({ vocabSize: 48, dModel: 16, layers: 1, heads: 2, context: 32, seed: 7 });
    const sample = corpus(20_000, 5); // three 8192-token blocks
    const fit = await fitSaeLabeller({ model, layer: 1, tokens: sample.tokens, labels: sample.labels, dSae: 48, k: 6, steps: 60, batchRows: 128, select: { top: 6, minSupport: 5 } });
    const encoder = fit.sae.encoderFor(fit.latents.map((l) => l.latent));
    const codes = new Float32Array(sample.tokens.length * fit.latents.length);
    for await (const b of tokenActivations(model, sample.tokens, { layer: 1, context: 32 }))
      codes.set(await fit.sae.selectedCodes(b.activations, encoder), b.start * fit.latents.length);
    const moments = new LatentMoments(fit.latents.length).update(codes);
    expect(moments.count).toBe(20_000);
    Array.from(moments.meanF32()).forEach((m, i) => expect(fit.mean[i]).toBeCloseTo(m, 5));
    Array.from(moments.std()).forEach((s, i) => expect(fit.std[i]).toBeCloseTo(s, 5));
  });

  it('chooses the rule on the sample: the candidate whose labels of the sample match its labels best', async () => {
    const model = await Transformer.create({ vocabSize: 48, dModel: 16, layers: 1, heads: 2, context: 32, seed: 7 });
    const sample = corpus(3000, 11);
    const options = { model, layer: 0, tokens: sample.tokens, labels: sample.labels, dSae: 64, k: 4, steps: 150, batchRows: 256, lr: 3e-3, select: { top: 8, minSupport: 5 } };
    const rules = { z: [0, 1, 3], minLatents: [1, 2, 50] };
    await expect(fitSaeLabeller({ ...options, rules })).rejects.toThrow(/rules need eotId/);
    const fit = await fitSaeLabeller({ ...options, rules, eotId: EOT });
    expect((await fitSaeLabeller({ ...options, steps: 5 })).rule).toBeNull();
    const rule = fit.rule!;
    // minLatents 50 exceeds the (at most 8) chosen latents: skipped
    expect(rule.candidates.map((c) => [c.z, c.minLatents])).toEqual([[0, 1], [0, 2], [1, 1], [1, 2], [3, 1], [3, 2]]);
    expect(rule.best.f1).toBe(Math.max(...rule.candidates.map((c) => c.f1)));
    expect(rule.best.f1).toBeGreaterThan(0.6);
    // the best rule's score is that of labelling the sample's exact codes with it
    const encoder = fit.sae.encoderFor(fit.latents.map((l) => l.latent));
    const codes = new Float32Array(sample.tokens.length * fit.latents.length);
    for await (const b of tokenActivations(model, sample.tokens, { layer: 0, context: 32 }))
      codes.set(await fit.sae.selectedCodes(b.activations, encoder), b.start * fit.latents.length);
    const labels = labelTokensWithEot(codes, sample.tokens, EOT, { tokens: sample.tokens.length, latents: fit.latents.length, mean: fit.mean, std: fit.std, z: rule.best.z, minLatents: rule.best.minLatents });
    let tp = 0, fp = 0, fn = 0;
    sample.labels.forEach((g, t) => {
      if (g === 255) return;
      if (labels[t] && g === 1) tp++;
      else if (labels[t]) fp++;
      else if (g === 1) fn++;
    });
    expect(rule.best.f1).toBeCloseTo((2 * tp) / (2 * tp + fp + fn), 6);
  }, 60_000);

  it('continues from a given SAE without training when steps is 0', async () => {
    const model = await Transformer.create({ vocabSize: 48, dModel: 16, layers: 1, heads: 2, context: 32, seed: 7 });
    const sample = corpus(1200, 3);
    const first = await fitSaeLabeller({ model, layer: 0, tokens: sample.tokens, labels: sample.labels, dSae: 32, k: 4, steps: 100, batchRows: 128, select: { minSupport: 5 } });
    const before = Float32Array.from(first.sae.parameters);
    const again = await fitSaeLabeller({ model, layer: 0, tokens: sample.tokens, labels: sample.labels, sae: first.sae, steps: 0, select: { minSupport: 5 } });
    expect(again.training).toBeNull();
    expect(Array.from(again.sae.parameters)).toEqual(Array.from(before));
    expect(again.latents.map((l) => l.latent)).toEqual(first.latents.map((l) => l.latent));
  }, 60_000);

  it('fits the input scale of a given, fresh SAE only when asked (a given SAE is continued as it is)', async () => {
    const model = await Transformer.create({ vocabSize: 48, dModel: 16, layers: 1, heads: 2, context: 32, seed: 7 });
    const sample = corpus(600, 3);
    const fresh = () => SparseAutoencoder.create({ dModel: 16, dSae: 32, kind: 'topk', k: 4, auxK: 8, seed: 2 });
    const options = { model, layer: 0, tokens: sample.tokens, labels: sample.labels, steps: 2, batchRows: 64, select: { minSupport: 1, minScore: -100 } };
    const continued = await fitSaeLabeller({ ...options, sae: fresh() });
    expect(continued.sae.inputScale).toBe(1);
    const fitted = await fitSaeLabeller({ ...options, sae: fresh(), fitInputScale: true });
    // E‖x·s‖² = dModel over the first batch: the layer-0 stream is the embeddings, far from unit scale
    expect(fitted.sae.inputScale).not.toBe(1);
    expect(fitted.sae.inputScale).toBeGreaterThan(0);
  }, 60_000);

  it('refuses bad inputs with clear errors', async () => {
    const model = await Transformer.create({ vocabSize: 48, dModel: 16, layers: 1, heads: 2, context: 32, seed: 7 });
    const { tokens, labels } = corpus(300, 5);
    await expect(fitSaeLabeller({ model, layer: 0, tokens, labels: labels.subarray(1) })).rejects.toThrow(/labels has length 299, tokens 300/);
    await expect(fitSaeLabeller({ model, layer: 0, tokens: new Uint32Array(0), labels: new Uint8Array(0) })).rejects.toThrow(/no tokens/);
    await expect(fitSaeLabeller({ model, layer: 0, tokens, labels, steps: 0 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(fitSaeLabeller({ model, layer: 5, tokens, labels, steps: 1 })).rejects.toThrow(/layer must be an integer in \[0, 2\]/);
    // retain only: no latent can be specific to the forget label
    await expect(fitSaeLabeller({ model, layer: 0, tokens, labels: new Uint8Array(300), dSae: 16, k: 2, steps: 5 })).rejects.toThrow(/no SAE latent fires specifically/);
  }, 60_000);
});
