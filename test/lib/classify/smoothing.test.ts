import { describe, expect, it } from 'vitest';
import { breaksOf, lineBreakIds, smoothScores } from '../../../lib/classify/smoothing.js';
import { tinyTokenizer } from './fixtures.js';

/** Float64 reference: the mean logit over the clipped window, summed directly; breaks[j] = 1 ends a segment after j. */
function reference(p: Float32Array, r: number, breaks?: Uint8Array): number[] {
  const segment = new Int32Array(p.length);
  for (let j = 1; j < p.length; j++) segment[j] = segment[j - 1] + (breaks?.[j - 1] ?? 0);
  const logit = (x: number) => {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, x));
    return Math.log(q / (1 - q));
  };
  return Array.from(p, (_, i) => {
    let sum = 0;
    let count = 0;
    for (let j = Math.max(0, i - r); j <= Math.min(p.length - 1, i + r); j++) {
      if (segment[j] !== segment[i]) continue;
      sum += logit(p[j]);
      count++;
    }
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

  it('never crosses a break, matching the reference on random breaks', () => {
    for (const n of [1, 9, 200]) {
      const p = Float32Array.from({ length: n }, () => Math.random());
      const breaks = Uint8Array.from({ length: n }, () => (Math.random() < 0.1 ? 1 : 0));
      for (const r of [1, 5, 64]) {
        const got = smoothScores(p, r, breaks);
        const want = reference(p, r, breaks);
        for (let i = 0; i < n; i++) expect(got[i]).toBeCloseTo(want[i], 5);
      }
    }
    // a confident run before a break leaves the next line alone
    const p = Float32Array.from([0.99, 0.99, 0.99, 0.2, 0.2]);
    const split = smoothScores(p, 4, Uint8Array.from([0, 0, 1, 0, 0]));
    expect(split[3]).toBeCloseTo(0.2, 5);
    expect(smoothScores(p, 4)[3]).toBeGreaterThan(0.5);
    expect(() => smoothScores(p, 1, new Uint8Array(2))).toThrow(/breaks has 2 entries for 5 scores/);
  });

  it('finds the ids holding a line break', async () => {
    const tokenizer = await tinyTokenizer();
    const table = lineBreakIds(tokenizer);
    expect(table).toHaveLength(tokenizer.vocabSize);
    expect(lineBreakIds(tokenizer)).toBe(table); // decoded once per tokenizer
    const tokens = tokenizer.encode('the patient\nthe river\r\nthe town');
    const breaks = breaksOf(tokens, table);
    const text = Array.from(tokens, (id) => tokenizer.decode([id]));
    expect(Array.from(breaks)).toEqual(text.map((s) => (/[\n\r]/.test(s) ? 1 : 0)));
    expect(breaks.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
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
