// Latent selection on hand-built activations: specific latents rank first by ratio, covering
// latents by AUROC, support and score cuts apply, top contexts are the strongest positions.
import { describe, expect, it } from 'vitest';
import { LatentSelector } from '../../../lib/label/select_latents.js';

describe('LatentSelector', () => {
  // 200 tokens, first 100 forget. Latent 0: fires on 30 forget tokens only (specific, rare).
  // Latent 1: fires on all forget and 10 retain tokens (covering). Latent 2: fires everywhere.
  // Latent 3: fires on retain only.
  const T = 200;
  const L = 4;
  const acts = new Float32Array(T * L);
  const labels = new Uint8Array(T);
  for (let t = 0; t < T; t++) {
    const forget = t < 100;
    labels[t] = forget ? 1 : 0;
    if (forget && t % 10 < 3) acts[t * L] = 1 + t / 100;
    if (forget || t % 10 === 0) acts[t * L + 1] = 0.5;
    acts[t * L + 2] = 0.2;
    if (!forget) acts[t * L + 3] = 1;
  }
  labels[150] = 255; // ignored

  it('ranks by firing-rate ratio and by AUROC', () => {
    const s = new LatentSelector(L, { contexts: 3 }).add(acts.subarray(0, 100 * L), labels.subarray(0, 100)).add(acts.subarray(100 * L), labels.subarray(100), 100);
    const byRatio = s.rank('ratio').map((r) => r.latent);
    expect(byRatio.slice(0, 2)).toEqual([0, 1]);
    expect(byRatio[3]).toBe(3);
    const best = s.rank('auroc')[0];
    expect(best.latent).toBe(1);
    expect(s.rank()[0].latent).toBe(1); // AUROC is the default ranking (SELECT_DEFAULTS.by)
    expect(best.auroc).toBeCloseTo((1 + 1 - 9 / 99) / 2, 10); // token 150 is ignored
    const zero = s.rank().find((r) => r.latent === 0)!;
    expect(zero).toMatchObject({ forgetFires: 30, retainFires: 0, precision: 1 });
    expect(zero.score).toBeCloseTo(Math.log2((31 / 101) / (1 / 100)), 10);
    expect(s.topContexts(0).map((c) => c.position)).toEqual([92, 91, 90]);
  });

  it('applies top, minScore and minSupport', () => {
    const s = new LatentSelector(L).add(acts, labels);
    expect(s.select({ top: 10, by: 'ratio' }).map((r) => r.latent)).toEqual([0, 1]);
    expect(s.select({ top: 10 }).map((r) => r.latent)).toEqual([1, 0]);
    expect(s.select({ top: 10, minSupport: 50 }).map((r) => r.latent)).toEqual([1]);
    expect(s.select({ top: 1, by: 'auroc' }).map((r) => r.latent)).toEqual([1]);
    expect(s.select({ top: 10, minScore: 10 })).toEqual([]);
  });

  it('uses a per-latent cut and refuses bad shapes', () => {
    const s = new LatentSelector(L, { cut: [1.5, 0, 0, 0] }).add(acts, labels);
    expect(s.rank().find((r) => r.latent === 0)!.forgetFires).toBe(14); // 1 + t/100 > 1.5 for t > 50 with t % 10 < 3
    expect(() => new LatentSelector(L).add(acts, labels.subarray(1))).toThrow(/expected labels.length × latents = 199 × 4/);
    expect(() => new LatentSelector(L, { cut: [1] })).toThrow(/cut has length 1/);
    expect(() => new LatentSelector(0)).toThrow(/latents must be a positive integer/);
  });
});
