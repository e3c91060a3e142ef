// Whole-model checks through the addon: gradient vs finite differences, loss masking,
// gradient accumulation, hidden-state definitions, argument validation and the busy guard.
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../lib/data/batch.js';
import { Transformer } from '../../lib/model/transformer.js';
import { ladderConfig, type TransformerOptions } from '../../lib/model/config.js';

const TINY: TransformerOptions = { vocabSize: 32, dModel: 16, layers: 2, heads: 2, context: 8, seed: 1 };

// Deterministic test randomness (mulberry32 + Box-Muller).
function rng(seed: number) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal, below: (n: number) => Math.floor(uniform() * n) };
}

function randomBatch(seed: number, B: number, T: number, V: number, maskRate = 0.3): Batch {
  const r = rng(seed);
  const n = B * T;
  const inputs = new Uint32Array(n).map(() => r.below(V));
  const targets = new Uint32Array(n).map(() => r.below(V));
  const lossMask = new Uint8Array(n).map(() => (r.uniform() < maskRate ? 0 : 1));
  lossMask[0] = 1;
  return { inputs, targets, lossMask, batch: B, context: T };
}

// Larger-than-init random parameters so every path carries a visible gradient.
function randomParameters(model: Transformer, seed: number): Float32Array {
  const r = rng(seed);
  const flat = new Float32Array(model.parameterCount().total);
  for (const t of model.tensorInfo()) {
    for (let i = 0; i < t.size; i++)
      flat[t.offset + i] = t.shape.length === 1 ? 1 + 0.2 * r.normal() : 0.35 * r.normal();
  }
  return flat;
}

async function gradients(model: Transformer, batches: Batch[]): Promise<{ loss: number; grads: Float32Array }> {
  const out = await model.native.step(batches, { zeroGradients: true, update: false });
  return { loss: out.supervised > 0 ? out.lossSum / out.supervised : 0, grads: model.getGradients() };
}

async function lossAt(model: Transformer, params: Float32Array, batch: Batch): Promise<number> {
  model.setParameters(params);
  const r = await model.native.evaluate(batch);
  return r.lossSum / r.supervised;
}

describe.each([true, false])('Transformer gradients (tieEmbeddings=%s)', (tie) => {
  it('match finite differences along random directions per tensor and for sampled parameters', async () => {
    const model = await Transformer.create({ ...TINY, tieEmbeddings: tie });
    const base = randomParameters(model, 7);
    model.setParameters(base);
    const batch = randomBatch(3, 2, 8, TINY.vocabSize);
    const { grads } = await gradients(model, [batch]);
    const r = rng(11);
    const kinds = new Set<string>();
    let worst = 0;
    for (const t of model.tensorInfo()) {
      kinds.add(t.name.replace(/blocks\.\d+\./, ''));
      // directional derivative along a random direction inside this tensor
      // (unit norm, step 1e-2: float32 loss noise ~1e-7 gives ~1e-5 of noise in the quotient)
      const dir = new Float64Array(t.size).map(() => r.normal());
      const norm = Math.hypot(...dir);
      dir.forEach((x, i) => (dir[i] = x / norm));
      const h = 1e-2;
      const plus = base.slice();
      const minus = base.slice();
      let analytic = 0;
      for (let i = 0; i < t.size; i++) {
        plus[t.offset + i] += h * dir[i];
        minus[t.offset + i] -= h * dir[i];
        analytic += grads[t.offset + i] * dir[i];
      }
      const numeric = ((await lossAt(model, plus, batch)) - (await lossAt(model, minus, batch))) / (2 * h);
      const err = Math.abs(numeric - analytic) / (Math.abs(numeric) + 5e-3);
      worst = Math.max(worst, err);
      expect(Math.abs(analytic), `${t.name}: directional derivative is not visible`).toBeGreaterThan(1e-4);
      expect(Math.abs(numeric - analytic), `${t.name}: analytic ${analytic} vs numeric ${numeric}`).toBeLessThan(5e-5 + 1e-2 * Math.abs(numeric));
      // two individual parameters of the tensor
      for (let k = 0; k < 2; k++) {
        const i = t.offset + r.below(t.size);
        const e = 1e-2;
        const p = base.slice();
        p[i] += e;
        const lp = await lossAt(model, p, batch);
        p[i] -= 2 * e;
        const lm = await lossAt(model, p, batch);
        const fd = (lp - lm) / (2 * e);
        expect(Math.abs(fd - grads[i]), `${t.name}[${i - t.offset}]: ${grads[i]} vs ${fd}`).toBeLessThan(2e-4 + 0.03 * Math.abs(fd));
      }
    }
    expect(kinds.size).toBe(tie ? 8 : 9);
    expect(worst).toBeLessThan(2e-2);
    console.log(`gradient check (tie=${tie}): worst relative error of directional derivatives ${worst.toExponential(2)}`);
  });
});

describe('Transformer loss masking', () => {
  it('ignores the target at a masked position in the loss and every gradient', async () => {
    const model = await Transformer.create(TINY);
    model.setParameters(randomParameters(model, 5));
    const batch = randomBatch(4, 2, 8, TINY.vocabSize, 0.5);
    const masked = batch.lossMask.findIndex((m) => m === 0);
    expect(masked).toBeGreaterThanOrEqual(0);
    const a = await gradients(model, [batch]);
    const changed = { ...batch, targets: batch.targets.slice() };
    changed.targets[masked] = (changed.targets[masked] + 1) % TINY.vocabSize;
    const b = await gradients(model, [changed]);
    expect(b.loss).toBe(a.loss);
    expect(b.grads).toEqual(a.grads);
    expect(await model.loss(changed)).toBe(await model.loss(batch));
  });

  it('gives zero gradient, zero loss and no NaN for a fully masked batch', async () => {
    const model = await Transformer.create(TINY);
    const batch = { ...randomBatch(5, 2, 8, TINY.vocabSize), lossMask: new Uint8Array(16) };
    const { loss, grads } = await gradients(model, [batch]);
    expect(loss).toBe(0);
    expect(grads.every((g) => g === 0)).toBe(true);
    expect(await model.loss(batch)).toBe(0);
  });

  it('returns the mean of the per-position losses over unmasked targets', async () => {
    const model = await Transformer.create(TINY);
    const batch = randomBatch(6, 2, 8, TINY.vocabSize, 0.4);
    const per = await model.tokenLosses(batch);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < per.length; i++) {
      if (batch.lossMask[i]) { sum += per[i]; count++; } else expect(per[i]).toBe(0);
    }
    expect(await model.loss(batch)).toBeCloseTo(sum / count, 5);
    // and per-position losses agree with log-softmax of the logits
    const logits = await model.logits(batch.inputs, { batch: 2 });
    const V = TINY.vocabSize;
    for (let i = 0; i < per.length; i++) {
      if (!batch.lossMask[i]) continue;
      const row = logits.subarray(i * V, (i + 1) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      expect(per[i]).toBeCloseTo(lse - row[batch.targets[i]], 4);
    }
  });

  it('accumulates micro-batches into the gradient of the mean over all their unmasked targets', async () => {
    const model = await Transformer.create(TINY);
    model.setParameters(randomParameters(model, 8));
    const a = randomBatch(9, 1, 8, TINY.vocabSize);
    const b = randomBatch(10, 1, 8, TINY.vocabSize);
    const joined: Batch = {
      inputs: Uint32Array.from([...a.inputs, ...b.inputs]),
      targets: Uint32Array.from([...a.targets, ...b.targets]),
      lossMask: Uint8Array.from([...a.lossMask, ...b.lossMask]),
      batch: 2,
      context: 8,
    };
    const split = await gradients(model, [a, b]);
    const whole = await gradients(model, [joined]);
    expect(split.loss).toBeCloseTo(whole.loss, 5);
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < whole.grads.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(split.grads[i] - whole.grads[i]));
      maxAbs = Math.max(maxAbs, Math.abs(whole.grads[i]));
    }
    expect(maxDiff).toBeLessThan(1e-5 * Math.max(1, maxAbs));
  });
});

describe('Transformer layout', () => {
  it('counts parameters and FLOPs per token for a ladder rung', async () => {
    const config = ladderConfig(2, { vocabSize: 100, context: 32 });
    const model = await Transformer.create(config);
    const { dModel: C, layers: L, hidden: H } = config;
    expect(model.parameterCount()).toEqual({ total: 12 * L * C * C + 100 * C + (2 * L + 1) * C, nonEmbedding: 12 * L * C * C + (2 * L + 1) * C });
    expect(model.flopsPerToken()).toBe(6 * (L * (4 * C * C + 2 * C * H) + 100 * C) + 6 * L * 32 * C);
    const names = model.tensorInfo().map((t) => t.name);
    expect(names.slice(0, 7)).toEqual(['wte.weight', 'blocks.0.attn_norm.weight', 'blocks.0.attn.qkv.weight', 'blocks.0.attn.proj.weight',
      'blocks.0.mlp_norm.weight', 'blocks.0.mlp.fc.weight', 'blocks.0.mlp.proj.weight']);
    // decayed tensors (linear layers' matrices) form one contiguous range at the start of the block
    const decayed = model.tensorInfo().filter((t) => t.decay).sort((a, b) => a.offset - b.offset);
    let end = 0;
    for (const t of decayed) { expect(t.offset).toBe(end); end += t.size; }
    expect(decayed.every((t) => t.shape.length === 2 && t.name !== 'wte.weight')).toBe(true);
  });
});

describe('Transformer inference', () => {
  it('defines hidden states: 0 = embeddings, L + 1 = final norm output, and re-sizes for new shapes', async () => {
    const model = await Transformer.create(TINY);
    const tokens = Uint32Array.from([1, 2, 3, 4, 5, 6]);
    const h0 = await model.hiddenStates(tokens, 0);
    const wte = model.tensors().get('wte.weight')!.data;
    const C = TINY.dModel;
    for (let t = 0; t < tokens.length; t++) expect(h0.subarray(t * C, (t + 1) * C)).toEqual(wte.subarray(tokens[t] * C, (tokens[t] + 1) * C));
    const last = await model.hiddenStates(tokens, 3);
    // RMS of the final norm output is ~1 with unit gains
    const rms = Math.sqrt(last.subarray(0, C).reduce((s, x) => s + x * x, 0) / C);
    expect(rms).toBeGreaterThan(0.95);
    expect(rms).toBeLessThan(1.0001);
    const h2 = await model.hiddenStates(tokens, 2);
    expect(h2).not.toEqual(h0);
    // a longer batch after a shorter one: buffers grow, results for a prefix unchanged (causal)
    const longer = Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    const h2long = await model.hiddenStates(longer, 2, { batch: 2 });
    expect(Array.from(h2long.subarray(0, 6 * C))).toEqual(Array.from(h2).map((x) => expect.closeTo(x, 5)));
  });

  it('rejects bad arguments with clear errors', async () => {
    const model = await Transformer.create(TINY);
    const ok = randomBatch(1, 1, 8, TINY.vocabSize);
    await expect(model.loss({ ...ok, inputs: new Int32Array(8) as unknown as Uint32Array })).rejects.toThrow(TypeError);
    await expect(model.loss({ ...ok, targets: new Uint32Array(7) })).rejects.toThrow(/length 7, expected/);
    await expect(model.loss({ ...ok, targets: ok.targets.map(() => 32) })).rejects.toThrow(/out of range for a vocabulary of 32/);
    // the native layer re-checks what the TypeScript layer already checked
    expect(() => model.native.evaluate({ ...ok, inputs: ok.inputs.map(() => 99) })).toThrow(/batch.inputs\[0\] = 99/);
    expect(() => model.native.evaluate({ ...ok, lossMask: new Uint8Array(8).fill(2) })).toThrow(/must be 0 or 1/);
    expect(() => model.native.evaluate({ ...ok, batch: 2 })).toThrow(/length 8, expected 16/);
    expect(() => model.native.evaluate({ ...ok, context: 9 })).toThrow(RangeError);
    await expect(model.logits(new Uint32Array(9))).rejects.toThrow(/context/);
    await expect(model.hiddenStates(new Uint32Array(4), 4)).rejects.toThrow(/layer/);
    const bad = model.getParameters();
    bad[5] = NaN;
    expect(() => model.setParameters(bad)).toThrow(/non-finite value .* at index 5/);
    expect(() => model.setParameters(new Float32Array(3))).toThrow(/length 3/);
    await expect(Transformer.create({ ...TINY, heads: 3 })).rejects.toThrow(/divisible by heads/);
    await expect(Transformer.create({ ...TINY, heads: 16 })).rejects.toThrow(/must be even/);
    expect(() => new (model.native.constructor)({ vocabSize: 4, dModel: 6, layers: 1, heads: 4, hidden: 8, context: 4, tieEmbeddings: true, ropeBase: 1e4, normEps: 1e-5 })).toThrow(/divisible/);
  });

  it('stops a step at its cancel flag with an AbortError and leaves the parameters unchanged', async () => {
    const model = await Transformer.create(TINY);
    const before = model.getParameters();
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(cancel, 0, 1);
    const options = { zeroGradients: true, update: true, lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-7, weightDecay: 0.1, clip: 1 };
    await expect(model.native.step([randomBatch(1, 2, 8, 32), randomBatch(2, 2, 8, 32)], options, cancel)).rejects.toMatchObject({ name: 'AbortError' });
    expect(model.getParameters()).toEqual(before);
    Atomics.store(cancel, 0, 0);
    await model.native.step([randomBatch(1, 2, 8, 32)], options, cancel);
    expect(model.getParameters()).not.toEqual(before);
  });

  it('refuses a second operation while one is running', async () => {
    const model = await Transformer.create(TINY);
    const batch = randomBatch(2, 2, 8, TINY.vocabSize);
    const first = model.loss(batch);
    await expect(model.loss(batch)).rejects.toThrow(/busy/);
    expect(() => model.getParameters()).toThrow(/busy/);
    await first;
    await expect(model.loss(batch)).resolves.toBeGreaterThan(0);
    // ids are copied once validated: changing them while the worker runs cannot reach the core
    const pending = model.loss(batch);
    batch.inputs.fill(4_000_000_000);
    expect(Number.isFinite(await pending)).toBe(true);
  });
});
