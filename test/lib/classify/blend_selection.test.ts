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
});

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
