import { describe, expect, it } from 'vitest';
import { computeForLoss, fitPowerLaw, predictLoss, relativeComputeSlowdown } from '../../../lib/eval/scaling.js';

describe('fitPowerLaw', () => {
  it('recovers known parameters from exact and noisy synthetic points', () => {
    const a = 3.1;
    const b = -0.07;
    const exact = [1e12, 3e12, 1e13, 3e13, 1e14].map((compute) => ({ compute, loss: Math.exp(a + b * Math.log(compute)) }));
    const fit = fitPowerLaw(exact);
    expect(fit.intercept).toBeCloseTo(a, 9);
    expect(fit.exponent).toBeCloseTo(b, 11);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(fit.computeRange).toEqual([1e12, 1e14]);

    let seed = 7;
    const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.002;
    const noisy = Array.from({ length: 40 }, (_, i) => {
      const compute = 1e12 * 10 ** (i / 20);
      return { compute, loss: Math.exp(a + b * Math.log(compute) + noise()) };
    });
    const nf = fitPowerLaw(noisy);
    expect(nf.exponent).toBeCloseTo(b, 2);
    expect(nf.residualStd).toBeGreaterThan(0);
    expect(nf.residualStd).toBeLessThan(0.002);
  });

  it('rejects unusable points', () => {
    expect(() => fitPowerLaw([{ compute: 1, loss: 1 }])).toThrow(/at least 2 points/);
    expect(() => fitPowerLaw([{ compute: 1, loss: 1 }, { compute: -1, loss: 1 }])).toThrow(/points\[1\]\.compute/);
    expect(() => fitPowerLaw([{ compute: 1, loss: 1 }, { compute: 2, loss: Number.NaN }])).toThrow(/points\[1\]\.loss/);
    expect(() => fitPowerLaw([{ compute: 5, loss: 1 }, { compute: 5, loss: 2 }])).toThrow(/different computes/);
  });
});

describe('relativeComputeSlowdown', () => {
  // Hand-worked: loss = 10 · C^-0.1, fitted on C in [1e10, 1e14].
  const fit = fitPowerLaw([1e10, 1e12, 1e14].map((compute) => ({ compute, loss: 10 * compute ** -0.1 })));

  it('matches a hand-worked example', () => {
    // The baseline reaches loss 10 · (1e11)^-0.1 = 0.7943 at C_b = 1e11; a filtered model that
    // spent 1e13 FLOPs to get there is 100x slower.
    const loss = 10 * 1e11 ** -0.1;
    const r = relativeComputeSlowdown(fit, { compute: 1e13, loss });
    expect(r.baselineCompute / 1e11).toBeCloseTo(1, 9);
    expect(r.slowdown).toBeCloseTo(100, 6);
    expect(r.extrapolated).toBe(false);
    expect(predictLoss(fit, 1e11)).toBeCloseTo(loss, 12);
    expect(computeForLoss(fit, loss) / 1e11).toBeCloseTo(1, 9);
  });

  it('flags extrapolation and refuses it beyond the limit', () => {
    const loss = 10 * 1e8 ** -0.1; // reached by the baseline at 1e8, 100x below the fitted range
    const r = relativeComputeSlowdown(fit, { compute: 1e12, loss }, { maxExtrapolation: 1000 });
    expect(r.extrapolated).toBe(true);
    expect(r.extrapolation).toBeCloseTo(100, 6);
    expect(r.slowdown).toBeCloseTo(1e4, 4);
    expect(() => relativeComputeSlowdown(fit, { compute: 1e12, loss }, { maxExtrapolation: 10 })).toThrow(/outside the fitted range/);
  });

  it('refuses a fit whose loss does not fall', () => {
    const flat = fitPowerLaw([{ compute: 1, loss: 2 }, { compute: 10, loss: 3 }]);
    expect(() => relativeComputeSlowdown(flat, { compute: 5, loss: 2.5 })).toThrow(/does not fall/);
  });
});
