import { describe, expect, it } from 'vitest';
import { ScoreHistogram } from '../../../lib/filter/score_histogram.js';
import { encodeFloat16 } from '../../../lib/data/float16.js';
import { thresholdForFraction } from '../../../lib/filter/threshold.js';

describe('ScoreHistogram', () => {
  it('gives the exact threshold for uint8 scores, merged across shards', () => {
    const shards = Array.from({ length: 4 }, () => Uint8Array.from({ length: 5000 }, () => Math.floor(Math.random() * 256)));
    const all = new Uint8Array(20000);
    shards.forEach((s, i) => all.set(s, i * 5000));
    const parts = shards.map((s) => new ScoreHistogram().add(s));
    const merged = parts.reduce((a, b) => a.merge(b), new ScoreHistogram());
    for (const f of [0.01, 0.1, 0.25, 0.5, 0.9]) {
      const exact = thresholdForFraction(all, f);
      const t = merged.thresholdForFraction(f);
      expect(t).toBe(exact);
      let flagged = 0;
      for (const v of all) if (v >= Math.round(t * 255)) flagged++;
      expect(flagged).toBeGreaterThanOrEqual(Math.round(f * all.length));
    }
  });

  it('flags at least the requested fraction of float32 scores, within a bfloat16 bucket', () => {
    const s = Float32Array.from({ length: 50000 }, () => Math.random());
    const h = new ScoreHistogram().add(s);
    for (const f of [0.03125, 0.0625, 0.125, 0.25, 0.5]) {
      const t = h.thresholdForFraction(f);
      const exact = thresholdForFraction(s, f);
      expect(t).toBeLessThanOrEqual(exact);
      expect(exact - t).toBeLessThanOrEqual(exact * 2 ** -7);
      let flagged = 0;
      for (const v of s) if (v >= t) flagged++;
      expect(flagged / s.length).toBeGreaterThanOrEqual(f - 1e-12);
      expect(h.fractionAtOrAbove(t)).toBeCloseTo(flagged / s.length, 12);
    }
    expect(h.thresholdForFraction(0)).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses mixed encodings and bad scores', () => {
    const h = new ScoreHistogram().add(new Float32Array([0.5]));
    expect(() => h.add(new Uint8Array([3]))).toThrow(/holds bfloat16 scores, not uint8/);
    expect(() => new ScoreHistogram().add(new Float32Array([1.5]))).toThrow(/scores\[0\] = 1.5/);
    expect(() => h.thresholdForFraction(-1)).toThrow(RangeError);
  });

  it('counts float16 side-file scores exactly', () => {
    const probs = Float32Array.from({ length: 4000 }, () => Math.random());
    const bits = encodeFloat16(probs);
    const h = new ScoreHistogram().add({ float16Bits: bits.subarray(0, 2000) }).merge(new ScoreHistogram().add({ float16Bits: bits.subarray(2000) }));
    expect(h.total).toBe(4000);
    const t = h.thresholdForFraction(0.25);
    expect(h.fractionAtOrAbove(t)).toBeGreaterThanOrEqual(0.25);
  });
});
