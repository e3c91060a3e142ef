// Backpropagation from a hidden state (Transformer.hiddenStateBackward): S = Σ w ⊙ h_l for a
// random w; its gradient against central differences, zero gradient above layer l, accumulation,
// the returned S, and argument validation.
import { describe, expect, it } from 'vitest';
import { Transformer } from '../../lib/model/transformer.js';
import type { TransformerOptions } from '../../lib/model/config.js';

const SMALL: TransformerOptions = { vocabSize: 32, dModel: 16, layers: 3, heads: 2, context: 8, seed: 1 };
const B = 2;
const T = 8;

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

// Larger-than-init random parameters so every path carries a visible gradient.
function randomParameters(model: Transformer, seed: number): Float32Array {
  const r = rng(seed);
  const flat = new Float32Array(model.parameterCount().total);
  for (const t of model.tensorInfo())
    for (let i = 0; i < t.size; i++) flat[t.offset + i] = t.shape.length === 1 ? 1 + 0.2 * r.normal() : 0.35 * r.normal();
  return flat;
}

function setup(seed: number, layer: number, tie = true) {
  const r = rng(seed);
  const tokens = new Uint32Array(B * T).map(() => r.below(SMALL.vocabSize));
  // w scaled so S is O(1) (a mean-like functional, like the losses built on it)
  const w = new Float32Array(B * T * SMALL.dModel).map(() => r.normal() / Math.sqrt(B * T));
  return { tokens, w, layer, tie };
}

// S(params) = Σ w ⊙ h_layer, accumulated in float64 from the float32 hidden states.
async function functional(model: Transformer, params: Float32Array, tokens: Uint32Array, layer: number, w: Float32Array): Promise<number> {
  model.setParameters(params);
  const h = await model.hiddenStates(tokens, layer, { batch: B });
  let s = 0;
  for (let i = 0; i < h.length; i++) s += w[i] * h[i];
  return s;
}

// ‖w ⊙ h_layer‖₂: the scale of S's float32 rounding noise. Each float32 h_i carries a relative
// error of a few ulps (2^-24 ≈ 6e-8) per op it went through, up to ~1e-6; these errors are
// uncorrelated across elements, so S(p ± h·d) is known to about 1e-6 · ‖w ⊙ h‖₂ and a central
// quotient with step 1e-2 to about 1e-4 · ‖w ⊙ h‖₂.
async function noiseScale(model: Transformer, params: Float32Array, tokens: Uint32Array, layer: number, w: Float32Array): Promise<number> {
  model.setParameters(params);
  const h = await model.hiddenStates(tokens, layer, { batch: B });
  let s = 0;
  for (let i = 0; i < h.length; i++) s += (w[i] * h[i]) ** 2;
  return Math.sqrt(s);
}

async function analytic(model: Transformer, tokens: Uint32Array, layer: number, w: Float32Array) {
  model.zeroGradients();
  const s = await model.hiddenStateBackward(tokens, layer, w, { batch: B });
  return { s, grads: model.getGradients() };
}

/** Block index of a tensor name (`blocks.{i}.…`), or undefined. */
const blockOf = (name: string) => (name.startsWith('blocks.') ? Number(name.split('.')[1]) : undefined);

describe.each([true, false])('hiddenStateBackward (tieEmbeddings=%s)', (tie) => {
  it('matches central differences below the layer and gives zero gradient above it', async () => {
    const layer = 2; // the residual after block 2 (1-based) = after tensors blocks.0 and blocks.1
    const model = await Transformer.create({ ...SMALL, tieEmbeddings: tie });
    const base = randomParameters(model, 17);
    model.setParameters(base);
    const { tokens, w } = setup(5, layer, tie);
    const { s, grads } = await analytic(model, tokens, layer, w);
    // S returned by the native pass is the same functional the test evaluates
    expect(s).toBeCloseTo(await functional(model, base, tokens, layer, w), 5);
    expect(model.getParameters()).toEqual(base);

    const noise = 1e-4 * (await noiseScale(model, base, tokens, layer, w));
    const r = rng(23);
    let worst = 0;
    let checked = 0;
    for (const t of model.tensorInfo()) {
      const block = blockOf(t.name);
      const feeds = t.name === 'wte.weight' || (block !== undefined && block < layer);
      const g = grads.subarray(t.offset, t.offset + t.size);
      if (!feeds) {
        // blocks at or above the layer, the final norm and an untied head do not feed h_layer
        expect(g.every((x) => x === 0), `${t.name} should get no gradient`).toBe(true);
        continue;
      }
      // Directional derivative along a random unit direction inside the tensor, step 1e-2:
      // tolerance = the quotient's float32 noise (see noiseScale) plus 1% for the O(h²)
      // truncation term (a float64 model would allow far less; this one computes in float32).
      const dir = new Float64Array(t.size).map(() => r.normal());
      const norm = Math.hypot(...dir);
      const h = 1e-2;
      const plus = base.slice();
      const minus = base.slice();
      let directional = 0;
      for (let i = 0; i < t.size; i++) {
        const d = dir[i] / norm;
        plus[t.offset + i] += h * d;
        minus[t.offset + i] -= h * d;
        directional += g[i] * d;
      }
      const numeric = ((await functional(model, plus, tokens, layer, w)) - (await functional(model, minus, tokens, layer, w))) / (2 * h);
      expect(Math.abs(directional), `${t.name}: directional derivative is not visible`).toBeGreaterThan(1e-3);
      expect(Math.abs(numeric - directional), `${t.name}: analytic ${directional} vs numeric ${numeric}`).toBeLessThan(noise + 1e-2 * Math.abs(numeric));
      worst = Math.max(worst, Math.abs(numeric - directional) / (Math.abs(numeric) + 1e-3));
      // and single parameters (same noise bound; 3% relative for the larger curvature along one axis)
      for (let k = 0; k < 2; k++) {
        const i = t.offset + r.below(t.size);
        const p = base.slice();
        p[i] += h;
        const fp = await functional(model, p, tokens, layer, w);
        p[i] -= 2 * h;
        const fm = await functional(model, p, tokens, layer, w);
        const fd = (fp - fm) / (2 * h);
        expect(Math.abs(fd - grads[i]), `${t.name}[${i - t.offset}]: ${grads[i]} vs ${fd}`).toBeLessThan(noise + 0.03 * Math.abs(fd));
      }
      checked++;
    }
    // wte and the six tensors of each of blocks 0 and 1
    expect(checked).toBe(13);
    console.log(`hidden-state gradient check (tie=${tie}): worst relative error of directional derivatives ${worst.toExponential(2)}, noise bound ${noise.toExponential(2)}`);
  });
});

describe('hiddenStateBackward', () => {
  it('covers layer 0 (embedding only) and L + 1 (through the final norm)', async () => {
    const model = await Transformer.create(SMALL);
    const base = randomParameters(model, 3);
    model.setParameters(base);
    const { tokens, w } = setup(8, 0);
    const zero = await analytic(model, tokens, 0, w);
    for (const t of model.tensorInfo()) {
      const g = zero.grads.subarray(t.offset, t.offset + t.size);
      expect(g.some((x) => x !== 0), t.name).toBe(t.name === 'wte.weight');
    }
    // d h_0 / d wte[token] = identity: the embedding gradient is the scatter-sum of w rows
    const C = SMALL.dModel;
    const wte = model.tensorInfo().find((t) => t.name === 'wte.weight')!;
    const expected = new Float64Array(wte.size);
    for (let p = 0; p < tokens.length; p++) for (let c = 0; c < C; c++) expected[tokens[p] * C + c] += w[p * C + c];
    zero.grads.subarray(wte.offset, wte.offset + wte.size).forEach((x, i) => expect(x).toBeCloseTo(expected[i], 5));

    const top = SMALL.layers! + 1;
    const last = await analytic(model, tokens, top, w);
    const norm = model.tensorInfo().find((t) => t.name === 'final_norm.weight')!;
    expect(last.grads.subarray(norm.offset, norm.offset + norm.size).some((x) => x !== 0)).toBe(true);
    expect(last.s).toBeCloseTo(await functional(model, base, tokens, top, w), 5);
    // directional check on the final norm gain
    const h = 1e-2;
    const plus = base.slice();
    const minus = base.slice();
    plus[norm.offset] += h;
    minus[norm.offset] -= h;
    const fd = ((await functional(model, plus, tokens, top, w)) - (await functional(model, minus, tokens, top, w))) / (2 * h);
    const noise = 1e-4 * (await noiseScale(model, base, tokens, top, w));
    expect(Math.abs(fd - last.grads[norm.offset])).toBeLessThan(noise + 0.03 * Math.abs(fd));
  });

  it('accumulates into the gradient block until zeroGradients', async () => {
    const model = await Transformer.create(SMALL);
    const { tokens, w } = setup(9, 2);
    const once = await analytic(model, tokens, 2, w);
    await model.hiddenStateBackward(tokens, 2, w, { batch: B });
    const twice = model.getGradients();
    let worst = 0;
    for (let i = 0; i < twice.length; i++) worst = Math.max(worst, Math.abs(twice[i] - 2 * once.grads[i]));
    expect(worst).toBeLessThan(1e-6 * Math.max(...once.grads.map(Math.abs)));
    model.zeroGradients();
    expect(model.getGradients().every((x) => x === 0)).toBe(true);
  });

  it('rejects bad arguments naming them', async () => {
    const model = await Transformer.create(SMALL);
    const { tokens, w } = setup(1, 1);
    await expect(model.hiddenStateBackward(tokens, 1, w.subarray(1), { batch: B })).rejects.toThrow(/dHidden/);
    const nan = w.slice();
    nan[7] = NaN;
    await expect(model.hiddenStateBackward(tokens, 1, nan, { batch: B })).rejects.toThrow(/dHidden.*7|7.*dHidden/);
    await expect(model.hiddenStateBackward(tokens, 5, w, { batch: B })).rejects.toThrow(/layer/);
    await expect(model.hiddenStateBackward(tokens, -1, w, { batch: B })).rejects.toThrow(/layer/);
    await expect(model.hiddenStateBackward(tokens.map(() => 32), 1, w, { batch: B })).rejects.toThrow(/tokens/);
    await expect(model.hiddenStateBackward(tokens, 1, new Float64Array(w) as unknown as Float32Array, { batch: B })).rejects.toThrow(TypeError);
    await expect(model.hiddenStateBackward(tokens, 1, w, { batch: 3 })).rejects.toThrow(/batch × context/);
    expect(model.getGradients().every((x) => x === 0)).toBe(true);
  });
});
