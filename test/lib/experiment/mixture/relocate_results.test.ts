// A study folder read under another path than the one it was written to reads its own model files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { relocateResults } from '../../../../lib/experiment/mixture/relocate_results.js';
import { readMixtureResults, type MixtureResults } from '../../../../lib/experiment/mixture/run_mixture.js';
import { tempDir } from '../../data/helpers.js';

const { dir, cleanup } = tempDir('tf-relocate-');
afterAll(cleanup);

/** A results record written at `from`, with runs, a removal model, the 0% model and RMU. */
function written(from: string): MixtureResults {
  const run = (id: string) => ({ id, modelPath: join(from, 'models', `${id}.safetensors`) });
  return {
    version: 1, updated: '', options: { out: from }, backend: {}, runs: { a: run('share-20-seed-1'), b: run('share-0-seed-1'), c: { id: 'x', modelPath: '/elsewhere/x.safetensors' } },
    comparison: { share: 0.2, settings: {}, seeds: { 1: {
      seed: 1, reference: { id: 'share-20-seed-1', loss: {} }, attacks: {},
      remove: { modelPath: join(from, 'models', 'remove-share-20-seed-1.safetensors') },
      absent: { modelPath: join(from, 'models', 'share-0-seed-1.safetensors') },
      rmu: { modelPath: join(from, 'comparison', 'attack-seed-1', 'rmu.safetensors') },
    } } },
  } as unknown as MixtureResults;
}

function touch(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '');
}

describe('relocateResults', () => {
  it('moves every recorded path under the old folder to the same file under the new one, where it exists', () => {
    const to = join(dir, 'copy');
    for (const f of ['models/share-20-seed-1.safetensors', 'models/share-0-seed-1.safetensors', 'comparison/attack-seed-1/rmu.safetensors']) touch(join(to, f));
    const results = written('/old/run1');
    expect(relocateResults(results, to)).toBe(4);
    expect(results.runs.a.modelPath).toBe(join(to, 'models', 'share-20-seed-1.safetensors'));
    expect(results.runs.b.modelPath).toBe(join(to, 'models', 'share-0-seed-1.safetensors'));
    expect(results.runs.c.modelPath).toBe('/elsewhere/x.safetensors'); // not under the old folder
    const seed = results.comparison!.seeds[1];
    expect(seed.remove!.modelPath).toBe('/old/run1/models/remove-share-20-seed-1.safetensors'); // no such file in the copy
    expect(seed.absent!.modelPath).toBe(join(to, 'models', 'share-0-seed-1.safetensors'));
    expect(seed.rmu!.modelPath).toBe(join(to, 'comparison', 'attack-seed-1', 'rmu.safetensors'));
  });

  it('changes nothing when the folder is where it was written, or for a path that only shares a prefix', () => {
    const here = join(dir, 'here');
    touch(join(here, 'models', 'share-20-seed-1.safetensors'));
    const same = written(here);
    expect(relocateResults(same, `${here}/`)).toBe(0);
    expect(same.runs.a.modelPath).toBe(join(here, 'models', 'share-20-seed-1.safetensors'));
    const prefix = written('/old/run1');
    prefix.runs.a.modelPath = '/old/run10/models/share-20-seed-1.safetensors';
    relocateResults(prefix, join(dir, 'copy'));
    expect(prefix.runs.a.modelPath).toBe('/old/run10/models/share-20-seed-1.safetensors');
  });

  it('is applied by readMixtureResults', async () => {
    const folder = join(dir, 'read');
    touch(join(folder, 'models', 'share-20-seed-1.safetensors'));
    writeFileSync(join(folder, 'results.json'), JSON.stringify(written('/old/run1')));
    const results = await readMixtureResults(folder);
    expect(results!.runs.a.modelPath).toBe(join(folder, 'models', 'share-20-seed-1.safetensors'));
    expect(results!.runs.b.modelPath).toBe('/old/run1/models/share-0-seed-1.safetensors');
  });
});
