import { describe, expect, it } from 'vitest';
import { binaryMetrics, precisionRecallF1 } from '../../../lib/classify/metrics.js';
import { blendThreshold } from '../../../lib/classify/blend_selection.js';
import { filterTokens } from '../../../lib/filter/filter_tokens.js';

describe('precisionRecallF1: one implementation, one empty-case rule', () => {
  it('is the usual precision, recall and harmonic mean when every count is there', () => {
    const r = precisionRecallF1(3, 1, 2);
    expect(r.precision).toBe(3 / 4);
    expect(r.recall).toBe(3 / 5);
    expect(r.f1).toBeCloseTo((2 * (3 / 4) * (3 / 5)) / (3 / 4 + 3 / 5), 15);
    expect(r.f1).toBe(6 / 9);
  });

  it('a rate with nothing to count is 1; F1 is 1 only when nothing was there and nothing flagged', () => {
    expect(precisionRecallF1(0, 0, 0)).toEqual({ precision: 1, recall: 1, f1: 1 });
    expect(precisionRecallF1(0, 0, 4)).toEqual({ precision: 1, recall: 0, f1: 0 });
    expect(precisionRecallF1(0, 4, 0)).toEqual({ precision: 0, recall: 1, f1: 0 });
    expect(precisionRecallF1(0, 2, 3)).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  it('refuses counts that are not non-negative integers', () => {
    expect(() => precisionRecallF1(-1, 0, 0)).toThrow(RangeError);
    expect(() => precisionRecallF1(0, 0.5, 0)).toThrow(RangeError);
  });

  it('binaryMetrics, the blend objective and filter statistics follow the same rule', () => {
    // nothing flagged at threshold 2, nothing positive in the labels
    const none = binaryMetrics(Float32Array.of(0.1, 0.2), Uint8Array.of(0, 0), 2);
    expect([none.precision, none.recall, none.f1]).toEqual([1, 1, 1]);
    const missed = binaryMetrics(Float32Array.of(0.1, 0.2), Uint8Array.of(1, 0), 2);
    expect([missed.precision, missed.recall, missed.f1]).toEqual([1, 0, 0]);
    // a kind with no positives scores F1 1 at a threshold above every negative
    const blend = blendThreshold([
      { name: 'clean', scores: Float32Array.of(0.1, 0.2), labels: Uint8Array.of(0, 0) },
      { name: 'mixed', scores: Float32Array.of(0.9, 0.1), labels: Uint8Array.of(1, 0) },
    ]);
    expect(blend.objective).toBe(1);
    // a filter that flags nothing: precision 1, recall 0 against the forget label
    const tokens = Uint32Array.of(5, 6, 7, 0);
    const r = filterTokens(tokens, Float32Array.of(0, 0, 0, 0), { mode: 'mask', threshold: 0.5, eotId: 0, labels: Uint8Array.of(1, 0, 0, 0), forgetLabel: 1 });
    expect(r.stats.forget).toEqual({ precision: 1, recall: 0, f1: 0 });
  });
});
