import { describe, expect, it } from 'vitest';
import { flagErrorRate, flipFlags, flipFlagsAtFraction } from '../../../lib/eval/label_noise.js';
import { isTokenfilterError } from '../../../lib/errors.js';

describe('flipFlags', () => {
  const n = 50_000;
  const scores = Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const clean = Float32Array.from(scores, (s) => (s >= 0.3 ? 1 : 0));

  it('thresholds without flipping at rate 0 and inverts everything at rate 1', () => {
    expect(flipFlags(scores, 0.3, 0, 1)).toEqual(clean);
    expect(flipFlags(scores, 0.3, 1, 1)).toEqual(Float32Array.from(clean, (f) => 1 - f));
  });

  it('flips about the requested share, reproducibly per seed', () => {
    for (const rate of [0.05, 0.2, 0.5]) {
      const flipped = flipFlags(scores, 0.3, rate, 7);
      let changed = 0;
      for (let i = 0; i < n; i++) changed += flipped[i] !== clean[i] ? 1 : 0;
      // binomial standard deviation at n = 5e4 is at most 0.0023
      expect(Math.abs(changed / n - rate)).toBeLessThan(0.012);
      expect(flipFlags(scores, 0.3, rate, 7)).toEqual(flipped);
      expect(flipFlags(scores, 0.3, rate, 8)).not.toEqual(flipped);
    }
  });

  it('measures the error rate against labels, ignoring unlabelled positions', () => {
    const flags = Float32Array.of(1, 0, 1, 0, 1);
    const truth = Uint8Array.of(1, 1, 0, 0, 255);
    expect(flagErrorRate(flags, truth, 1)).toBe(0.5);
    expect(() => flagErrorRate(flags, truth.subarray(1), 1)).toThrow(/length/);
  });

  it('refuses bad arguments', () => {
    expect(() => flipFlags(scores, 0.3, 1.5, 1)).toThrow(/rate/);
    expect(() => flipFlags(scores, -1, 0.1, 1)).toThrow(/threshold/);
    expect(() => flipFlags(scores, 0.3, 0.1, -2)).toThrow(/seed/);
    expect(() => flipFlags([0.1] as unknown as Float32Array, 0.3, 0.1, 1)).toThrow(/Float32Array/);
  });
});

describe('flipFlagsAtFraction', () => {
  const n = 40_000;
  const scores = Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const clean = Float32Array.from(scores, (s) => (s >= 0.8 ? 1 : 0));
  const count = (f: Float32Array) => f.reduce((a, b) => a + b, 0);

  it('keeps the flagged count exactly and moves as many flags off as on', () => {
    const flagged = count(clean);
    for (const rate of [0, 0.1, 0.4, 1]) {
      const noisy = flipFlagsAtFraction(scores, 0.8, rate, 3);
      expect(count(noisy)).toBe(flagged);
      let lost = 0;
      let gained = 0;
      for (let i = 0; i < n; i++) {
        if (clean[i] === 1 && noisy[i] === 0) lost++;
        if (clean[i] === 0 && noisy[i] === 1) gained++;
      }
      expect(lost).toBe(Math.round(rate * flagged));
      expect(gained).toBe(lost);
      // against the clean flags as truth, the error rate is 2k / n
      const truth = Uint8Array.from(clean);
      expect(flagErrorRate(noisy, truth, 1)).toBeCloseTo((2 * lost) / n, 10);
    }
    expect(flipFlagsAtFraction(scores, 0.8, 0.3, 3)).toEqual(flipFlagsAtFraction(scores, 0.8, 0.3, 3));
    expect(flipFlagsAtFraction(scores, 0.8, 0.3, 4)).not.toEqual(flipFlagsAtFraction(scores, 0.8, 0.3, 3));
  });

  it('never flags an ineligible position and refuses bad arguments with E_OPTION', () => {
    const eligible = Uint8Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 0 : 1));
    const noisy = flipFlagsAtFraction(scores, 0.8, 1, 5, eligible);
    for (let i = 0; i < n; i += 10) expect(noisy[i]).toBe(0);
    for (const call of [
      () => flipFlagsAtFraction(scores, 0.8, 1.5, 1),
      () => flipFlagsAtFraction(scores, -1, 0.1, 1),
      () => flipFlagsAtFraction(scores, 0.8, 0.1, -1),
      () => flipFlagsAtFraction(scores, 0.8, 0.1, 1, new Uint8Array(3)),
    ]) {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(isTokenfilterError(caught, 'E_OPTION')).toBe(true);
    }
  });
});
