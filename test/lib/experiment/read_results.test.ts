import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readExperimentResults } from '../../../lib/experiment/experiment_results.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readExperimentResults', () => {
  it('reads the snake_case run, slowdown and RMU records of results.json files written before as camelCase', async () => {
    const old = {
      version: 1, updated: '', backend: {}, options: { tokensPerParameter: 20 }, corpus: null, classifier: null, threshold: null, fits: null,
      runs: { 'mask-1x16-s1': { id: 'mask-1x16-s1', flagged_fraction: 0.2, model_path: 'm.safetensors', filter_stats: { flaggedFraction: 0.2 }, loss: { medical: 3 } } },
      slowdowns: [{ id: 'mask-1x16-s1', non_embedding_params: 10, baseline_compute: null }],
      extra: { rmu: { model_path: 'rmu.safetensors' } },
    };
    writeFileSync(join(dir, 'results.json'), JSON.stringify(old));
    const results = (await readExperimentResults(dir))!;
    expect(results.runs['mask-1x16-s1']).toEqual({ id: 'mask-1x16-s1', flaggedFraction: 0.2, modelPath: 'm.safetensors', filterStats: { flaggedFraction: 0.2 }, loss: { medical: 3 } });
    expect(results.slowdowns).toEqual([{ id: 'mask-1x16-s1', nonEmbeddingParams: 10, baselineCompute: null }]);
    expect(results.extra.rmu).toEqual({ modelPath: 'rmu.safetensors' });
    expect(results.options).toEqual({ tokensPerParameter: 20 });
  });

  it('is null when the folder has no results.json', async () => {
    expect(await readExperimentResults(join(dir, 'none'))).toBeNull();
  });
});
