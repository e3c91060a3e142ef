// Generation with a KV cache against the full forward pass.
import { describe, expect, it } from 'vitest';
import { randomModel as randomModelOf } from './random_model.js';
import { sampleToken } from '../../../lib/steer/generate.js';
import { Sfc32 } from '../../../lib/data/random.js';
import { isTokenfilterError } from '../../../lib/errors.js';
import { freshSeed, makeRng } from '../../native/ops/helpers.js';

const CONFIG = { vocabSize: 50, dModel: 32, layers: 2, heads: 4, context: 24 };

const randomModel = (seed: number) => randomModelOf(CONFIG, seed);

describe('decode with a KV cache', () => {
  it("gives the full forward's logits at every position, prompt in one call then one token at a time", async () => {
    const seed = freshSeed();
    const model = await randomModel(seed);
    const r = makeRng(seed + 1);
    const T = 20;
    const tokens = Uint32Array.from({ length: T }, () => r.below(CONFIG.vocabSize));
    const full = await model.logits(tokens);
    const V = CONFIG.vocabSize;
    const cache = model.newDecodeCache();
    const prompt = 7;
    let logits: Float32Array = await model.decode(cache, tokens.subarray(0, prompt));
    for (let t = prompt - 1; t < T; t++) {
      const want = full.subarray(t * V, (t + 1) * V);
      let worst = 0;
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[v] - want[v]));
      expect(worst, `seed ${seed}, position ${t}`).toBeLessThan(1e-4);
      if (t + 1 < T) logits = await model.decode(cache, tokens.subarray(t + 1, t + 2));
    }
    expect(() => model.decode(cache, Uint32Array.of(1, 2, 3, 4, 5))).toThrow(/exceed the context of 24/);
  });

  it('greedy generation equals argmax of the full forward, token by token', async () => {
    const model = await randomModel(21);
    const prompt = Uint32Array.of(3, 14, 15, 9, 2);
    const generated = await model.generate(prompt, { maxTokens: 12, temperature: 0 });
    expect(generated.length).toBe(12);
    const seq = Array.from(prompt);
    for (const next of generated) {
      const logits = await model.logits(Uint32Array.from(seq));
      const last = logits.subarray((seq.length - 1) * CONFIG.vocabSize);
      let best = 0;
      for (let v = 1; v < CONFIG.vocabSize; v++) if (last[v] > last[best]) best = v;
      expect(next).toBe(best);
      seq.push(next);
    }
  });

  it('sampling is reproducible per seed, respects topK and stops at the stop token', async () => {
    const model = await randomModel(5);
    const prompt = Uint32Array.of(1, 2, 3);
    const a = await model.generate(prompt, { maxTokens: 10, seed: 4 });
    const b = await model.generate(prompt, { maxTokens: 10, seed: 4 });
    expect(Array.from(a)).toEqual(Array.from(b));
    const logits = Float32Array.from({ length: 10 }, (_, i) => i);
    const rng = new Sfc32(1);
    for (let i = 0; i < 200; i++) expect(sampleToken(logits, 1, 2, rng)).toBeGreaterThanOrEqual(8);
    const stop = a[2];
    const stopped = await model.generate(prompt, { maxTokens: 10, seed: 4, stopToken: stop });
    expect(stopped[stopped.length - 1]).toBe(stop);
    expect(stopped.length).toBeLessThanOrEqual(3);
  });

  it('refuses prompts past the context, out-of-vocabulary ids and bad options', async () => {
    const model = await randomModel(6);
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => model.generate(Uint32Array.of(1, 2), { maxTokens: 23 }), /exceeds the context of 24/],
      [() => model.generate(Uint32Array.of(1, 50), { maxTokens: 3 }), /prompt\[1\] = 50 is not below the vocabulary size 50/],
      [() => model.generate(new Uint32Array(0), { maxTokens: 3 }), /non-empty/],
      [() => model.generate(Uint32Array.of(1), { maxTokens: 3, temperature: -1 }), /temperature/],
      [() => model.generate(Uint32Array.of(1), { maxTokns: 3 } as never), /unknown generate option 'maxTokns'/],
    ];
    for (const [call, message] of cases) {
      const error = await call().then(() => null, (e: unknown) => e);
      expect(isTokenfilterError(error, 'E_OPTION'), String(message)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});
