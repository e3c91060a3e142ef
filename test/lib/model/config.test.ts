import { describe, expect, it } from 'vitest';
import { ladderConfig, resolveTransformerConfig, TRANSFORMER_DEFAULTS } from '../../../lib/model/config.js';
import { cosineSchedule } from '../../../lib/model/schedule.js';

const BASE = { vocabSize: 100, dModel: 64, layers: 2, heads: 4, context: 32 };

describe('resolveTransformerConfig', () => {
  it('fills defaults in one place', () => {
    const c = resolveTransformerConfig(BASE);
    expect(c).toEqual({ ...BASE, ...TRANSFORMER_DEFAULTS, hidden: 256 });
    // a resolved config round-trips
    expect(resolveTransformerConfig(c)).toEqual(c);
  });

  it('rejects misspelled options, bad types and shapes that do not divide', () => {
    expect(() => resolveTransformerConfig({ ...BASE, dmodel: 64 } as never)).toThrow(/unknown config option 'dmodel'/);
    expect(() => resolveTransformerConfig({ ...BASE, heads: 5 })).toThrow(/divisible by heads/);
    expect(() => resolveTransformerConfig({ ...BASE, heads: 64 })).toThrow(/must be even/);
    expect(() => resolveTransformerConfig({ ...BASE, layers: 0 })).toThrow(RangeError);
    expect(() => resolveTransformerConfig({ ...BASE, layers: 1.5 })).toThrow(TypeError);
    expect(() => resolveTransformerConfig({ ...BASE, mlpRatio: 0.001 })).toThrow(/mlpRatio × dModel/);
    expect(() => resolveTransformerConfig({ ...BASE, ropeBase: 1 })).toThrow(/ropeBase/);
    expect(() => resolveTransformerConfig({ ...BASE, seed: -1 })).toThrow(/seed/);
    expect(() => resolveTransformerConfig({ ...BASE, tieEmbeddings: 'yes' as never })).toThrow(/tieEmbeddings/);
    expect(() => resolveTransformerConfig({ ...BASE, hidden: 3 } as never)).toThrow(/hidden/);
  });
});

describe('ladderConfig', () => {
  it('uses width = 64 × depth and head size 64', () => {
    const c = ladderConfig(3, { vocabSize: 256, context: 128 });
    expect([c.dModel, c.layers, c.heads, c.hidden]).toEqual([192, 3, 3, 768]);
    expect(ladderConfig(4, { vocabSize: 256, context: 128, headSize: 32 }).heads).toBe(8);
    expect(() => ladderConfig(0, { vocabSize: 256, context: 128 })).toThrow(RangeError);
    expect(() => ladderConfig(3, { vocabSize: 256, context: 128, headSize: 128 })).toThrow(/not divisible/);
    expect(() => ladderConfig(3, { vocabSize: 256, context: 128, width: 3 } as never)).toThrow(/unknown ladder option/);
  });
});

describe('cosineSchedule', () => {
  it('warms up linearly, then decays by cosine to minRatio × peak', () => {
    const lr = cosineSchedule({ peak: 1, warmupSteps: 4, totalSteps: 14, minRatio: 0.1 });
    expect([0, 1, 2, 3].map(lr)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(lr(4)).toBeCloseTo(1, 12);
    expect(lr(9)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * 5) / 9)), 12);
    expect(lr(13)).toBeCloseTo(0.1, 12);
    expect(lr(100)).toBeCloseTo(0.1, 12);
    for (let s = 4; s < 13; s++) expect(lr(s + 1)).toBeLessThan(lr(s));
    const open = cosineSchedule({ peak: 2, warmupSteps: 0, totalSteps: undefined, minRatio: 0.1 });
    expect(open(1000)).toBe(2);
    expect(() => cosineSchedule({ peak: 1, warmupSteps: 5, totalSteps: 5, minRatio: 0.1 })).toThrow(/below totalSteps/);
    expect(() => cosineSchedule({ peak: 1, warmupSteps: 0, totalSteps: 5, minRatio: 2 })).toThrow(/minRatio/);
  });
});
