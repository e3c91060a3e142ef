import { describe, expect, it } from 'vitest';
import type { ExperimentRun, FilteringExperimentResults } from '../../../lib/experiment/experiment_results.js';
import { seedGroups, spreadOf, spreadText } from '../../../lib/experiment/seed_summary.js';

const size = { layers: 1, dModel: 32, heads: 1 };
function run(id: string, mode: ExperimentRun['mode'], seed: number, medical: number, biology: number, series: ExperimentRun['series'] = 'ladder', filter: ExperimentRun['filter'] = null): ExperimentRun {
  return {
    id, series, mode, size, seed, params: 1, nonEmbeddingParams: 1, filter, flagErrorRate: null, flaggedFraction: mode === 'baseline' ? 0 : 0.2,
    filterStats: null, steps: 10, trainTokens: 100, trainSupervisedTokens: 80, trainFlops: 1e9, finalTrainLoss: 1,
    loss: { medical, biology }, ci95: {}, seconds: 1, trainSeconds: 1, modelPath: '',
  };
}

describe('seedGroups', () => {
  it('pairs each filtered run with its own seed\'s baseline and gives mean ± half-range', () => {
    const runs = [
      run('baseline-1x32-s1', 'baseline', 1, 5.0, 4.0), run('baseline-1x32-s2', 'baseline', 2, 5.2, 4.1),
      run('remove-1x32-s1', 'remove', 1, 6.0, 4.2), run('remove-1x32-s2', 'remove', 2, 6.6, 4.1),
      run('sweep-remove-0.5-1x32-s1', 'remove', 1, 7.0, 5.0, 'sweep', { fraction: 0.5 }),
    ];
    const results = {
      runs: Object.fromEntries(runs.map((r) => [r.id, r])),
      slowdowns: [
        { id: 'remove-1x32-s1', domain: 'medical', slowdown: 3 }, { id: 'remove-1x32-s2', domain: 'medical', slowdown: 5 },
        { id: 'remove-1x32-s1', domain: 'biology', slowdown: 1.1 },
      ],
    } as unknown as FilteringExperimentResults;
    const groups = seedGroups(results);
    expect(groups.map((g) => [g.series, g.mode, g.setting, g.seeds])).toEqual([['ladder', 'remove', '', [1, 2]], ['sweep', 'remove', 'fraction 0.5', [1]]]);
    const ladder = groups[0];
    // Δ medical: +1.0 (seed 1) and +1.4 (seed 2)
    expect(ladder.delta.medical.mean).toBeCloseTo(1.2, 10);
    expect(ladder.delta.medical.spread).toBeCloseTo(0.2, 10);
    expect(ladder.delta.biology.mean).toBeCloseTo(0.1, 10);
    expect(ladder.slowdown.medical).toEqual({ mean: 4, spread: 1, n: 2 });
    // a slowdown missing for one seed gives no spread rather than a one-seed mean
    expect(ladder.slowdown.biology).toBeUndefined();
    expect(spreadText(ladder.delta.medical)).toBe('+1.200 ± 0.200');
    expect(spreadText(ladder.slowdown.medical, 2, '×')).toBe('4.00× ± 1.00');
    expect(spreadOf([])).toBeNull();
    expect(spreadOf([1, Number.NaN])).toBeNull();
  });
});
