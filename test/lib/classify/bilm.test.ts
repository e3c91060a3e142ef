import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BiLM, reverseBatch } from '../../../lib/classify/bilm.js';
import { planWindows } from '../../../lib/classify/windows.js';
import { Transformer } from '../../../lib/model/transformer.js';
import { randomIds, tinyBiLM, tinyTokenizer } from './fixtures.js';

/** Positions whose forward / backward halves changed between two feature arrays. */
function changed(a: Float32Array, b: Float32Array, C: number): { forward: number[]; backward: number[] } {
  const out = { forward: [] as number[], backward: [] as number[] };
  for (let t = 0; t < a.length / (2 * C); t++) {
    let f = false, g = false;
    for (let j = 0; j < C; j++) {
      if (a[t * 2 * C + j] !== b[t * 2 * C + j]) f = true;
      if (a[t * 2 * C + C + j] !== b[t * 2 * C + C + j]) g = true;
    }
    if (f) out.forward.push(t);
    if (g) out.backward.push(t);
  }
  return out;
}

describe('BiLM features', () => {
  it('forward features depend only on tokens ≤ t, backward only on tokens ≥ t', async () => {
    const bilm = await tinyBiLM();
    const C = bilm.forward.config.dModel;
    for (const n of [12, 16]) {
      const tokens = randomIds(n, 256, n);
      for (const layer of [1, 3]) {
        const base = await bilm.features(tokens, layer);
        for (const p of [0, 5, n - 1]) {
          const perturbed = Uint32Array.from(tokens);
          perturbed[p] = (perturbed[p] + 1) % 256;
          const diff = changed(base, await bilm.features(perturbed, layer), C);
          expect(diff.forward).toEqual(Array.from({ length: n - p }, (_, k) => p + k));
          expect(diff.backward).toEqual(Array.from({ length: p + 1 }, (_, k) => k));
        }
      }
    }
  });

  it('keeps the dependence one-sided through overlapping windows of a long document', async () => {
    const bilm = await tinyBiLM();
    const C = bilm.forward.config.dModel;
    const tokens = randomIds(50, 256, 9);
    const base = await bilm.features(tokens, 2);
    const p = 25;
    const perturbed = Uint32Array.from(tokens);
    perturbed[p] = (perturbed[p] + 7) % 256;
    const diff = changed(base, await bilm.features(perturbed, 2), C);
    expect(diff.forward.every((t) => t >= p)).toBe(true);
    expect(diff.backward.every((t) => t <= p)).toBe(true);
    expect(diff.forward).toContain(p);
    expect(diff.backward).toContain(p);
  });

  it('gives the same features batched with other documents as alone', async () => {
    const bilm = await tinyBiLM();
    const docs = [randomIds(40, 256, 1), randomIds(7, 256, 2), randomIds(16, 256, 3), new Uint32Array(0)];
    const together = await bilm.featuresOfDocuments(docs, 2, { batch: 3 });
    for (let k = 0; k < docs.length; k++) expect(together[k]).toEqual(await bilm.features(docs[k], 2));
  });

  it('gives one direction alone as the matching half of both', async () => {
    const bilm = await tinyBiLM();
    const C = bilm.forward.config.dModel;
    const tokens = randomIds(40, 256, 6);
    const both = await bilm.features(tokens, 2);
    const forward = await bilm.features(tokens, 2, { direction: 'forward' });
    const backward = await bilm.features(tokens, 2, { direction: 'backward' });
    for (let t = 0; t < tokens.length; t++) {
      expect(forward.subarray(t * C, (t + 1) * C)).toEqual(both.subarray(2 * t * C, (2 * t + 1) * C));
      expect(backward.subarray(t * C, (t + 1) * C)).toEqual(both.subarray((2 * t + 1) * C, (2 * t + 2) * C));
    }
  });

  it('saves and loads to identical features', async () => {
    const bilm = await tinyBiLM();
    const path = join(mkdtempSync(join(tmpdir(), 'tf-bilm-')), 'bilm.safetensors');
    await bilm.save(path);
    const loaded = await BiLM.load(path);
    const tokens = randomIds(30, 256, 4);
    expect(await loaded.features(tokens, 3)).toEqual(await bilm.features(tokens, 3));
    expect(loaded.tokenizer.hash).toBe(bilm.tokenizer.hash);
  });

  it('rejects a bad layer or token id', async () => {
    const bilm = await tinyBiLM();
    await expect(bilm.features(new Uint32Array([1, 2]), 4)).rejects.toThrow(/layer must be an integer in \[0, 3\]/);
    await expect(bilm.features(new Uint32Array([1, 99999]), 1)).rejects.toThrow(/documents\[0\]\[1\] = 99999 is out of range/);
  });
});

describe('reverseBatch', () => {
  it('reverses each window: inputs are the targets read backwards and vice versa', () => {
    const window = [10, 11, 12, 13, 14];
    const batch = { inputs: Uint32Array.from(window.slice(0, 4)), targets: Uint32Array.from(window.slice(1)), lossMask: Uint8Array.from([1, 0, 1, 1]), batch: 1, context: 4 };
    const r = reverseBatch(batch);
    expect(Array.from(r.inputs)).toEqual([14, 13, 12, 11]);
    expect(Array.from(r.targets)).toEqual([13, 12, 11, 10]);
    expect(Array.from(r.lossMask)).toEqual([1, 1, 0, 1]);
  });
});

describe('planWindows', () => {
  it('partitions every position, each kept inside its window', () => {
    for (const T of [1, 2, 5, 16]) {
      for (let n = 0; n < 60; n++) {
        const pieces = planWindows(n, T);
        let next = 0;
        for (const p of pieces) {
          expect(p.keepFrom).toBe(next);
          expect(p.start).toBeLessThanOrEqual(p.keepFrom);
          expect(p.keepTo).toBeLessThanOrEqual(p.start + p.length);
          expect(p.length).toBeLessThanOrEqual(T);
          next = p.keepTo;
        }
        expect(next).toBe(n);
      }
    }
  });
});

describe('BiLM.withForward', () => {
  it('keeps a trained forward model as is and trains only the backward one', async () => {
    const tokenizer = await tinyTokenizer();
    const forward = await Transformer.create({ vocabSize: tokenizer.vocabSize, dModel: 16, layers: 1, heads: 2, context: 16, seed: 9 });
    const before = Float32Array.from(forward.getParameters());
    const bilm = await BiLM.withForward(forward, tokenizer);
    expect(bilm.forward).toBe(forward);
    expect(bilm.backward.config).toEqual({ ...forward.config, seed: forward.config.seed + 1 });
    const backwardBefore = Float32Array.from(bilm.backward.getParameters());
    const ids = randomIds(17 * 4, tokenizer.vocabSize, 5);
    const batch = { inputs: ids.slice(0, 64), targets: ids.slice(1, 65), lossMask: new Uint8Array(64).fill(1), batch: 4, context: 16 };
    const summary = await bilm.trainDirection('backward', [batch, batch, batch], { steps: 3, lr: 1e-2 });
    expect(summary.steps).toBe(3);
    expect(Array.from(forward.getParameters())).toEqual(Array.from(before));
    expect(Array.from(bilm.backward.getParameters())).not.toEqual(Array.from(backwardBefore));
  });

  it('refuses a model of another vocabulary', async () => {
    const tokenizer = await tinyTokenizer();
    const other = await Transformer.create({ vocabSize: tokenizer.vocabSize + 1, dModel: 16, layers: 1, heads: 2, context: 16, seed: 9 });
    await expect(BiLM.withForward(other, tokenizer)).rejects.toThrow(/vocabulary \(301\) is not the tokenizer's \(300\)/);
  });
});
