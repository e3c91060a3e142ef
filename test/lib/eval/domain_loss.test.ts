import { describe, expect, it } from 'vitest';
import { domainLosses } from '../../../lib/eval/domain_loss.js';
import { Transformer } from '../../../lib/model/transformer.js';

describe('domainLosses', () => {
  it('splits the model loss by the label of each target token', async () => {
    const model = await Transformer.create({ vocabSize: 50, dModel: 32, layers: 1, heads: 2, context: 16, seed: 3 });
    const n = 16 * 10 + 1;
    const tokens = Uint32Array.from({ length: n }, () => Math.floor(Math.random() * 50));
    const labels = Uint8Array.from(tokens, (t) => (t < 10 ? 1 : t < 20 ? 2 : t < 45 ? 0 : 7));
    const result = await domainLosses(model, { tokens, labels }, { labelNames: ['general', 'medical', 'biology'], batch: 3, seed: 1 });

    // every window in one batch: the overall mean over labelled targets must match
    const T = 16;
    const W = 10;
    const inputs = new Uint32Array(W * T);
    const targets = new Uint32Array(W * T);
    const lossMask = new Uint8Array(W * T);
    let counted = { general: 0, medical: 0, biology: 0 } as Record<string, number>;
    for (let w = 0; w < W; w++)
      for (let t = 0; t < T; t++) {
        inputs[w * T + t] = tokens[w * T + t];
        targets[w * T + t] = tokens[w * T + t + 1];
        const label = labels[w * T + t + 1];
        lossMask[w * T + t] = label < 3 ? 1 : 0;
        if (label < 3) counted[['general', 'medical', 'biology'][label]]++;
      }
    const overall = await model.loss({ inputs, targets, lossMask, batch: W, context: T });
    let weighted = 0;
    let total = 0;
    for (const name of ['general', 'medical', 'biology']) {
      expect(result[name].tokens).toBe(counted[name]);
      weighted += result[name].loss * result[name].tokens;
      total += result[name].tokens;
      const [lo, hi] = result[name].ci95;
      expect(lo).toBeLessThanOrEqual(result[name].loss);
      expect(hi).toBeGreaterThanOrEqual(result[name].loss);
    }
    expect(weighted / total).toBeCloseTo(overall, 4);
    counted = {};
  });

  it('rejects mismatched labels and bad options', async () => {
    const model = await Transformer.create({ vocabSize: 20, dModel: 16, layers: 1, heads: 2, context: 8, seed: 1 });
    const tokens = new Uint32Array(40);
    await expect(domainLosses(model, { tokens, labels: new Uint8Array(39) }, { labelNames: ['a'] })).rejects.toThrow(/one label per token/);
    await expect(domainLosses(model, { tokens, labels: new Uint8Array(40) }, { labelNames: ['a'], context: 9 })).rejects.toThrow(/options.context/);
  });
});
