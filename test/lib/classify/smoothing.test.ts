import { describe, expect, it } from 'vitest';
import { smoothScores } from '../../../lib/classify/smoothing.js';

/** Float64 reference: the mean logit over the clipped window, summed directly. */
function reference(p: Float32Array, r: number): number[] {
  const logit = (x: number) => {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, x));
    return Math.log(q / (1 - q));
  };
  return Array.from(p, (_, i) => {
    let sum = 0;
    let count = 0;
    for (let j = Math.max(0, i - r); j <= Math.min(p.length - 1, i + r); j++, count++) sum += logit(p[j]);
    return 1 / (1 + Math.exp(-sum / count));
  });
}

describe('smoothScores', () => {
  it('matches a float64 reference on random scores for several radii, ends clipped', () => {
    for (const n of [1, 7, 300]) {
      const p = Float32Array.from({ length: n }, () => Math.random());
      p[0] = 0; // clamped, not -Infinity
      if (n > 1) p[n - 1] = 1;
      for (const r of [1, 3, 16, 1000]) {
        const got = smoothScores(p, r);
        const want = reference(p, r);
        for (let i = 0; i < n; i++) expect(got[i]).toBeCloseTo(want[i], 5);
      }
    }
  });

  it('radius 0 copies; the input is never changed; a long uniform run keeps its value', () => {
    const p = Float32Array.from([0.1, 0.9, 0.4]);
    const copy = smoothScores(p, 0);
    expect(Array.from(copy)).toEqual(Array.from(p));
    expect(copy).not.toBe(p);
    smoothScores(p, 2);
    expect(Array.from(p)).toEqual(Array.from(Float32Array.from([0.1, 0.9, 0.4])));
    const flat = new Float32Array(50).fill(0.8);
    for (const v of smoothScores(flat, 5)) expect(v).toBeCloseTo(0.8, 5);
  });

  it('lets neighbours outvote a lone token', () => {
    const p = new Float32Array(21).fill(0.95);
    p[10] = 0.05;
    expect(smoothScores(p, 4)[10]).toBeGreaterThan(0.5);
    expect(smoothScores(p, 0)[10]).toBeLessThan(0.5);
  });

  it('refuses a bad radius', () => {
    expect(() => smoothScores(new Float32Array(3), -1)).toThrow(/radius/);
    expect(() => smoothScores(new Float32Array(3), 1.5)).toThrow(/radius/);
  });
});
