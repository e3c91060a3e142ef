import { describe, expect, it } from 'vitest';
import { blendThreshold, selectOnBlend } from '../../../lib/classify/blend_selection.js';
import { binaryMetrics } from '../../../lib/classify/metrics.js';
import { Random } from '../../../lib/data/random.js';

describe('blendThreshold', () => {
  it('finds the threshold of the best mean F1 over kinds (checked against every threshold)', () => {
    const random = new Random(4);
    const kind = (name: string, n: number, shift: number) => {
      const labels = Uint8Array.from({ length: n }, () => (random.next() < 0.3 ? 1 : 0));
      const scores = Float32Array.from(labels, (y) => Math.min(1, Math.max(0, 0.5 * random.next() + (y ? shift : 0))));
      return { name, scores, labels };
    };
    const kinds = [kind('paragraph', 400, 0.4), kind('sentence', 300, 0.2)];
    const result = blendThreshold(kinds, 1e6);
    let best = -1;
    for (const t of new Set([...kinds[0].scores, ...kinds[1].scores])) {
      const mean = (binaryMetrics(kinds[0].scores, kinds[0].labels, t).f1 + binaryMetrics(kinds[1].scores, kinds[1].labels, t).f1) / 2;
      best = Math.max(best, mean);
    }
    expect(result.objective).toBeCloseTo(best, 12);
    expect((result.kinds[0].f1 + result.kinds[1].f1) / 2).toBeCloseTo(result.objective, 12);
    expect(result.kinds.map((k) => k.name)).toEqual(['paragraph', 'sentence']);
  });

  it("with 'worst', finds the threshold of the best worst-kind F1, ties to the better mean (checked against every threshold)", () => {
    const random = new Random(6);
    for (let trial = 0; trial < 5; trial++) {
      const kind = (name: string, n: number, shift: number) => {
        const labels = Uint8Array.from({ length: n }, () => (random.next() < 0.3 ? 1 : 0));
        const scores = Float32Array.from(labels, (y) => Math.round(20 * Math.min(1, Math.max(0, 0.5 * random.next() + (y ? shift : 0)))) / 20);
        return { name, scores, labels };
      };
      const kinds = [kind('paragraph', 400, 0.4), kind('sentence', 300, 0.15)];
      const result = blendThreshold(kinds, 1e6, 'worst');
      let best = { worst: -1, mean: -1 };
      for (const t of new Set([...kinds[0].scores, ...kinds[1].scores])) {
        const f = kinds.map((k) => binaryMetrics(k.scores, k.labels, t).f1);
        const worst = Math.min(...f);
        const mean = (f[0] + f[1]) / 2;
        if (worst > best.worst || (worst === best.worst && mean > best.mean)) best = { worst, mean };
      }
      expect(result.objective).toBeCloseTo(best.worst, 12);
      expect(Math.min(...result.kinds.map((k) => k.f1))).toBeCloseTo(result.objective, 12);
      expect((result.kinds[0].f1 + result.kinds[1].f1) / 2).toBeCloseTo(best.mean, 12);
      // never below what the mean's threshold gives the worst kind
      expect(result.objective).toBeGreaterThanOrEqual(Math.min(...blendThreshold(kinds, 1e6).kinds.map((k) => k.f1)) - 1e-12);
    }
    expect(() => blendThreshold([kind0()], 10, 'median' as never)).toThrow(/'mean' or 'worst'/);
  });
});

function kind0() {
  return { name: 'a', scores: Float32Array.from([0.1, 0.9]), labels: Uint8Array.from([0, 1]) };
}

describe('selectOnBlend', () => {
  it('passes over a setting whose mean is best but which is the worst on one kind', () => {
    const settings = [
      { f1: [0.99, 0.3], objective: 0.645 }, // best mean, worst on sentences
      { f1: [0.85, 0.4], objective: 0.625 },
      { f1: [0.8, 0.35], objective: 0.575 }, // worst on paragraphs
    ];
    expect(selectOnBlend(settings)).toBe(1);
  });

  it('never picks a setting that is worst on either kind when one that is not exists (random tables)', () => {
    const random = new Random(8);
    for (let trial = 0; trial < 2000; trial++) {
      const n = 2 + Math.floor(random.next() * 8);
      const settings = Array.from({ length: n }, () => {
        const f1 = [random.next(), random.next()];
        return { f1, objective: (f1[0] + f1[1]) / 2 };
      });
      const chosen = settings[selectOnBlend(settings)];
      const worst = [0, 1].map((k) => Math.min(...settings.map((s) => s.f1[k])));
      const someoneFine = settings.some((s) => s.f1.every((f, k) => f > worst[k]));
      if (someoneFine) for (const k of [0, 1]) expect(chosen.f1[k]).toBeGreaterThan(worst[k]);
      // and it is the best mean among those allowed
      const allowed = settings.filter((s) => !someoneFine || s.f1.every((f, k) => f > worst[k]));
      expect(chosen.objective).toBe(Math.max(...allowed.map((s) => s.objective)));
    }
  });
});
