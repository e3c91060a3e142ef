import { describe, expect, it } from 'vitest';
import { candidateMethods, DEFAULT_SEGMENTATION_GRID, describeScoreMethod, LEXICON_SEGMENTATION_GRID } from '../../../lib/classify/score_method.js';

describe('candidateMethods', () => {
  it('tries every radius, then every segmentation of the default grid up to switch cost 128, each once', () => {
    const methods = candidateMethods([0, 4]);
    const g = DEFAULT_SEGMENTATION_GRID;
    expect(methods.length).toBe(2 + g.switchCosts.length * g.sentenceShares.length * g.freeLineBreaks.length * g.biases.length);
    expect(methods.length).toBe(2 + 84);
    expect(methods.slice(0, 2)).toEqual([{ kind: 'smooth', radius: 0 }, { kind: 'smooth', radius: 4 }]);
    const names = methods.map(describeScoreMethod);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('segment c=128 s=32 l=32 b=-1');
    expect(names).toContain('segment c=2 s=2 l=0 b=1');
    expect(candidateMethods([8], false)).toEqual([{ kind: 'smooth', radius: 8 }]);
  });

  it("tries the lexicon's grid: no bias, sentence ends down to free, each once", () => {
    const methods = candidateMethods([0], LEXICON_SEGMENTATION_GRID);
    expect(methods.length).toBe(1 + 4 * 3 * 2 + 4);
    const names = methods.map(describeScoreMethod);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('segment c=4 s=0 l=0 b=0');
    expect(names).toContain('segment c=16 s=2 l=2 b=0');
    expect(methods.every((m) => m.kind === 'smooth' || m.bias === 0)).toBe(true);
  });
});
