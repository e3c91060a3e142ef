import { describe, expect, it } from 'vitest';
import { Random, Sfc32, hashUnit } from '../../../lib/data/random.js';

describe('the package’s seeded randomness', () => {
  it('Random keeps the mulberry32 stream that classifier subsampling (and so saved results) depend on', () => {
    const r = new Random(7);
    expect([r.next(), r.next(), r.next()]).toEqual([0.9823943767696619, 0.3341257639694959, 0.6892532545607537]);
  });

  it('Random.fromState gives the unmixed stream domainLosses resamples with', () => {
    const expected: [number, number[]][] = [
      [0, [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]],
      [12345, [0.9797282677609473, 0.3067522644996643, 0.484205421525985]],
      [2 ** 32 + 5, [0.6897749109193683, 0.7727432732935995, 0.21976301027461886]],
    ];
    for (const [state, values] of expected) {
      const r = Random.fromState(state);
      expect([r.next(), r.next(), r.next()]).toEqual(values);
    }
  });

  it('choose picks exactly k, shuffle permutes', () => {
    const mask = new Random(3).choose(100, 17);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(17);
    expect(new Random(3).shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('sfc32 and hashUnit are deterministic in their seeds', () => {
    const a = new Sfc32(1, 2), b = new Sfc32(1, 2), c = new Sfc32(1, 3);
    const da = [a.nextUint32(), a.nextUint32()];
    expect([b.nextUint32(), b.nextUint32()]).toEqual(da);
    expect([c.nextUint32(), c.nextUint32()]).not.toEqual(da);
    expect(hashUnit(1, 2, 3)).toBe(hashUnit(1, 2, 3));
    expect(hashUnit(1, 2, 3)).not.toBe(hashUnit(1, 2, 4));
  });
});
