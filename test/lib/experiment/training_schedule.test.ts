import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../../lib/data/batch.js';
import { BatchSampler } from '../../../lib/data/sampler.js';
import { writeShard } from '../../../lib/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '../../../lib/data/side_file.js';
import { isTokenfilterError } from '../../../lib/errors.js';
import { delayedBatches, stepsForSupervisedTokens, supervisedIn } from '../../../lib/experiment/training_schedule.js';
import { trainMasked } from '../../../lib/model/train.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { fakeTokenizer, tempDir } from '../data/helpers.js';

const tok = fakeTokenizer(64);
const { dir, cleanup } = tempDir('tf-schedule-');
afterAll(cleanup);

/** A shard of 6,000 tokens; with `maskShare`, a loss mask that hides about that share of positions. */
async function shard(name: string, maskShare: number): Promise<string> {
  const path = join(dir, `${name}.bin`);
  const tokens = Uint32Array.from({ length: 6000 }, (_, i) => (i * 7 + (i >> 3)) % 60);
  await writeShard(path, tokens, { tokenizer: tok });
  if (maskShare > 0) {
    const mask = Uint8Array.from({ length: tokens.length }, (_, i) => (((i * 2654435761) >>> 0) / 4294967296 < maskShare ? 0 : 1));
    await writeSideFile(sideFilePathFor(path, SideFileKind.LossMask), mask, { kind: SideFileKind.LossMask, tokenizer: tok });
  }
  return path;
}

const B = 4;
const T = 16;
const sampler = (path: string, seed = 3) => new BatchSampler({ shards: [path], batch: B, context: T, seed, expectTokenizer: tok });

describe('stepsForSupervisedTokens', () => {
  it("trains a filtered model until its supervised tokens equal the baseline's within one batch", async () => {
    const full = await shard('full', 0);
    const masked = await shard('masked', 0.3);
    const baselineSteps = 12;
    const run = async (path: string, steps: number) => {
      const model = await Transformer.create({ vocabSize: 64, layers: 1, dModel: 16, heads: 2, context: T, seed: 1 });
      const s = sampler(path);
      try {
        return await trainMasked(model, s, { steps, lr: 1e-3 });
      } finally {
        s.close();
      }
    };
    const baseline = await run(full, baselineSteps);
    expect(baseline.supervisedTokens).toBe(baselineSteps * B * T);
    const s = sampler(masked);
    const steps = stepsForSupervisedTokens(s, baseline.supervisedTokens, 1000);
    s.close();
    expect(steps).toBeGreaterThan(baselineSteps);
    const filtered = await run(masked, steps);
    expect(filtered.steps).toBe(steps);
    expect(filtered.supervisedTokens).toBeGreaterThanOrEqual(baseline.supervisedTokens);
    expect(filtered.supervisedTokens - baseline.supervisedTokens).toBeLessThan(B * T);
    // one step fewer would fall short: the fewest steps that reach the target
    expect(filtered.supervisedTokens - filtered.supervisedTokens / steps).toBeLessThan(baseline.supervisedTokens + B * T);
  });

  it('refuses a target the batches cannot reach and a bad target with E_OPTION', () => {
    const empty: Batch = { inputs: new Uint32Array(4), targets: new Uint32Array(4), lossMask: new Uint8Array(4), batch: 1, context: 4 };
    const none = function* () {
      for (;;) yield empty;
    };
    for (const call of [() => stepsForSupervisedTokens(none(), 10, 50), () => stepsForSupervisedTokens(none(), 0, 50), () => stepsForSupervisedTokens([], 5, 50)]) {
      let caught: unknown;
      try {
        call();
      } catch (error) {
        caught = error;
      }
      expect(isTokenfilterError(caught, 'E_OPTION')).toBe(true);
    }
  });
});

describe('delayedBatches', () => {
  it('reads the unfiltered stream for the first steps, then the filtered one from its start', async () => {
    const full = await shard('full2', 0);
    const masked = await shard('masked2', 0.5);
    const a = sampler(full, 5);
    const b = sampler(masked, 5);
    const got = [...take(delayedBatches(a, b, 3), 6)];
    const a2 = sampler(full, 5);
    const b2 = sampler(masked, 5);
    const want = [...take(a2, 3), ...take(b2, 3)];
    expect(got.map((x) => Array.from(x.inputs))).toEqual(want.map((x) => Array.from(x.inputs)));
    expect(got.slice(0, 3).every((x) => supervisedIn(x) === B * T)).toBe(true);
    expect(got.slice(3).every((x) => supervisedIn(x) < B * T)).toBe(true);
    for (const s of [a, b, a2, b2]) s.close();
    expect(() => [...take(delayedBatches([], [], -1), 1)]).toThrow(/switchAt/);
  });
});

function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let k = 0;
  for (const x of items) {
    yield x;
    if (++k >= n) return;
  }
}
