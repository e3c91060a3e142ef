// Choosing z and minLatents on a labelled sample: the candidate whose labels match the sample's
// labels best wins, candidates above the number of latents are skipped, bad candidates throw.
import { describe, expect, it } from 'vitest';
import { chooseRule } from '../../../lib/label/rule_choice.js';

const EOT = 9;

/**
 * 3 latents with mean 0 and std 1: forget tokens have 2 latents at 1.5, retain tokens one at 1.5
 * and one at 0.7 (a zero row between them stops the spans from growing into them).
 */
function sample() {
  const rows = [
    { codes: [1.5, 1.5, 0], label: 1, id: 1 },
    { codes: [1.5, 1.5, 0], label: 1, id: 2 },
    { codes: [0, 0, 0], label: 0, id: 3 },
    { codes: [1.5, 0.7, 0], label: 0, id: 4 },
    { codes: [0, 0, 0], label: 255, id: EOT },
    { codes: [0.7, 1.5, 0], label: 0, id: 5 },
    { codes: [0, 0, 0], label: 0, id: 6 },
  ];
  return {
    codes: Float32Array.from(rows.flatMap((r) => r.codes)),
    tokens: Uint32Array.from(rows.map((r) => r.id)),
    labels: Uint8Array.from(rows.map((r) => r.label)),
    eotId: EOT,
    mean: new Float32Array(3),
    std: new Float32Array([1, 1, 1]),
  };
}

describe('chooseRule', () => {
  it('keeps the rule whose labels match the sample best, with every candidate scored in order', () => {
    const choice = chooseRule(sample(), { z: [0.5, 1], minLatents: [1, 2, 5] });
    // z 1 with 2 latents: exactly the two forget tokens; z 0.5 with 2 latents also takes the two
    // retain tokens with 1.5 and 0.7; 5 > 3 latents is skipped
    expect(choice.candidates.map((c) => [c.z, c.minLatents])).toEqual([[0.5, 1], [0.5, 2], [1, 1], [1, 2]]);
    expect([choice.best.z, choice.best.minLatents]).toEqual([1, 2]);
    expect(choice.best.f1).toBe(1);
    expect(choice.best.flaggedFraction).toBeCloseTo(2 / 6, 12);
    const loose = choice.candidates.find((c) => c.z === 0.5 && c.minLatents === 2)!;
    expect(loose.precision).toBeCloseTo(0.5, 12);
    expect(loose.recall).toBe(1);
  });

  it('takes the earlier candidate on a tie', () => {
    const choice = chooseRule(sample(), { z: [1, 1.2], minLatents: [2] });
    expect(choice.best.z).toBe(1);
  });

  it('rejects empty, non-finite or non-integer candidates, and a list with no usable minLatents', () => {
    expect(() => chooseRule(sample(), { z: [], minLatents: [1] })).toThrow(/at least one/);
    expect(() => chooseRule(sample(), { z: [Number.NaN], minLatents: [1] })).toThrow(/finite/);
    expect(() => chooseRule(sample(), { z: [1], minLatents: [1.5] })).toThrow(/positive integer/);
    expect(() => chooseRule(sample(), { z: [1], minLatents: [4] })).toThrow(/exceeds the 3 selected latents/);
  });
});
