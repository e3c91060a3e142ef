// Every stage's resolve() refuses unknown or misspelled option names with E_OPTION and the
// nearest valid name, and fills the stage's defaults from its one DEFAULTS object.
import { describe, expect, it } from 'vitest';
import { isTokenfilterError } from '../../../lib/errors.js';
import { resolveDemoOptions, DEMO_DEFAULTS } from '../../../lib/demo/demo_config.js';
import { checkOptionKeys, nearestName } from '../../../lib/stages/option_keys.js';
import { resolveEvaluate, EVALUATE_STAGE_DEFAULTS } from '../../../lib/stages/evaluate.js';
import { resolveFilter } from '../../../lib/stages/filter.js';
import { resolveLabel, LABEL_STAGE_DEFAULTS, selectMinLatents } from '../../../lib/stages/label.js';
import { resolveScore } from '../../../lib/stages/score.js';
import { corpusTokenizer } from '../../../lib/stages/tokenize.js';
import { resolveTrain, TRAIN_STAGE_DEFAULTS } from '../../../lib/stages/train.js';
import { LABEL_DEFAULTS } from '../../../lib/label/label_tokens.js';
import { SELECT_DEFAULTS } from '../../../lib/label/select_latents.js';
import { SparseAutoencoder } from '../../../lib/label/sae.js';

function optionError(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(isTokenfilterError(error, 'E_OPTION'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected an E_OPTION error');
}

describe('nearestName', () => {
  it('finds the closest valid name across case, underscores and typos, and nothing for a far one', () => {
    expect(nearestName('z_score', ['zScore', 'minLatents'])).toBe('zScore');
    expect(nearestName('minlatents', ['zScore', 'minLatents'])).toBe('minLatents');
    expect(nearestName('mnLatents', ['z', 'minLatents'])).toBe('minLatents');
    expect(nearestName('learningRate', ['z', 'minLatents'])).toBeUndefined();
  });

  it('checkOptionKeys names the stage, the key and the suggestion', () => {
    expect(optionError(() => checkOptionKeys('label', { z_score: 1 }, ['zScore']))).toBe("unknown option 'z_score' for stage label; did you mean 'zScore'?");
    expect(optionError(() => checkOptionKeys('label', { colour: 1 }, ['z']))).toBe("unknown option 'colour' for stage label");
    expect(() => checkOptionKeys('label', { z: 1 }, ['z'])).not.toThrow();
  });
});

describe('stage resolvers', () => {
  const tokenizer = { vocabSize: 300, hash: 'h', specials: {} } as never;
  const sae = SparseAutoencoder.create({ dModel: 8, dSae: 64, kind: 'topk', k: 32, seed: 1 });

  it('train: defaults from TRAIN_STAGE_DEFAULTS, misspellings and bad counts refused', () => {
    const o = resolveTrain({ name: 'x', stream: { shards: ['a.bin'] }, tokenizer, steps: 5 });
    expect(o).toMatchObject({ ...TRAIN_STAGE_DEFAULTS, steps: 5 });
    expect(optionError(() => resolveTrain({ name: 'x', stream: { shards: ['a.bin'] }, tokenizer, steps: 5, bach: 3 } as never)))
      .toBe("unknown option 'bach' for stage train; did you mean 'batch'?");
    expect(optionError(() => resolveTrain({ name: 'x', stream: { shards: ['a.bin'] }, tokenizer } as never))).toBe("stage train needs 'steps'");
    expect(optionError(() => resolveTrain({ name: 'x', stream: { shards: ['a.bin'] }, tokenizer, steps: 0 }))).toMatch(/steps must be a positive integer/);
    expect(optionError(() => resolveTrain({ name: 'x', stream: {} as never, tokenizer, steps: 5 }))).toMatch(/exactly one of shards, sources and open/);
  });

  it('evaluate, filter and score refuse misspelled keys', () => {
    expect(resolveEvaluate({ heldOut: { tokens: new Uint32Array(1), labels: new Uint8Array(1) }, labelNames: ['a'] })).toMatchObject(EVALUATE_STAGE_DEFAULTS);
    expect(optionError(() => resolveEvaluate({ heldOut: { tokens: new Uint32Array(1), labels: new Uint8Array(1) }, labelNames: ['a'], maxWindow: 3 } as never))).toMatch(/did you mean 'maxWindows'/);
    expect(optionError(() => resolveFilter({ shards: ['a.bin'], out: 'o', mode: 'mask', treshold: 0.5 } as never))).toMatch(/unknown option 'treshold' for stage filter; did you mean 'threshold'/);
    expect(optionError(() => resolveFilter({ shards: ['a.bin'], out: 'o', mode: 'mask' }))).toMatch(/exactly one of threshold and fraction/);
    expect(optionError(() => resolveFilter({ shards: ['a.bin'], out: 'o', mode: 'blur' as never, threshold: 0.5 }))).toMatch(/unknown mode 'blur'/);
    expect(resolveScore({ shards: ['a.bin'], classifier: 'c', out: 'o' }).task).toEqual({ index: 0, count: 1 });
    expect(optionError(() => resolveScore({ shards: ['a.bin'], classifer: 'c', out: 'o' } as never))).toMatch(/did you mean 'classifier'/);
  });

  it('label: the rule from LABEL_DEFAULTS, the log rule after selection, misspellings refused', () => {
    expect(LABEL_STAGE_DEFAULTS).toMatchObject({ z: LABEL_DEFAULTS.z, minLatents: LABEL_DEFAULTS.minLatents, select: SELECT_DEFAULTS });
    const base = { shards: ['a.bin'], out: 'o', activations: 'acts', sae, latents: [1, 2, 3] };
    expect(resolveLabel(base)).toMatchObject({ z: 4, minLatents: 2, batch: LABEL_STAGE_DEFAULTS.batch });
    expect(resolveLabel({ ...base, selected: 128 }).minLatents).toBe(selectMinLatents(128, 32));
    expect(resolveLabel({ ...base, selected: 128, minLatents: 3 }).minLatents).toBe(3);
    expect(optionError(() => resolveLabel({ ...base, z_score: 1 } as never))).toBe("unknown option 'z_score' for stage label; did you mean 'z'?");
    expect(optionError(() => resolveLabel({ ...base, minLatents: 0 }))).toMatch(/minLatents must be a positive integer/);
  });

  it('tokenize and the demo configuration refuse misspelled keys', async () => {
    await expect(corpusTokenizer({ path: '/nonexistent/t.json', texts: [], vocabSze: 300 } as never)).rejects.toThrow(/unknown option 'vocabSze' for stage tokenize; did you mean 'vocabSize'/);
    expect(resolveDemoOptions({})).toMatchObject(DEMO_DEFAULTS);
    expect(optionError(() => resolveDemoOptions({ minLatent: 3 } as never))).toMatch(/did you mean 'minLatents'/);
  });
});
