// AdamW (bias correction, decoupled weight decay, grad_scale) vs a float64 reference step.
import { describe, expect, it } from 'vitest';
import { bitsEqual, expectClose, forEachBackend, freshSeed, makeRng, ops, randn, withThreads } from './helpers.js';

interface Hyper { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; gradScale: number }

function adamwRef(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: Hyper) {
  const params = new Float64Array(p.length);
  const m2 = new Float64Array(p.length);
  const v2 = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const grad = g[i] * h.gradScale;
    m2[i] = h.beta1 * m[i] + (1 - h.beta1) * grad;
    v2[i] = h.beta2 * v[i] + (1 - h.beta2) * grad * grad;
    const mhat = m2[i] / (1 - h.beta1 ** h.step);
    const vhat = v2[i] / (1 - h.beta2 ** h.step);
    params[i] = p[i] - h.lr * (mhat / (Math.sqrt(vhat) + h.eps) + h.weightDecay * p[i]);
  }
  return { params, m: m2, v: v2 };
}

function update(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, h: Hyper) {
  const out = { params: p.slice(), m: m.slice(), v: v.slice() };
  ops.adamwUpdate(out.params, g, out.m, out.v, p.length, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.step, h.gradScale);
  return out;
}

describe('adamw', () => {
  it('matches a float64 step at every SIMD level and thread count (update atol 3e-7 rtol 1e-5; m atol 3e-8, v atol 3e-9, rtol 1e-5: float32 rounding of the moving-average terms)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const n = 100_003;
    const p = randn(rng, n);
    const g = randn(rng, n, 0.1);
    const m = randn(rng, n, 0.01);
    const v = Float32Array.from(randn(rng, n, 0.01), (x) => x * x);
    const cases: Hyper[] = [
      { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1, gradScale: 1 },
      { lr: 3e-4, beta1: 0.8, beta2: 0.999, eps: 1e-6, weightDecay: 0, step: 17, gradScale: 0.25 },
    ];
    for (const h of cases) {
      const ref = adamwRef(p, g, m, v, h);
      forEachBackend((level, threads) => {
        const out = update(p, g, m, v, h);
        const label = `seed ${seed} ${level} x${threads} step ${h.step}`;
        // the change to each parameter, within float32 rounding of the parameter itself
        const delta = Float64Array.from(out.params, (x, i) => x - p[i]);
        expectClose(delta, ref.params.map((x, i) => x - p[i]), { atol: 3e-7, rtol: 1e-5 }, `${label} params`);
        expectClose(out.m, ref.m, { atol: 3e-8, rtol: 1e-5 }, `${label} m`);
        expectClose(out.v, ref.v, { atol: 3e-9, rtol: 1e-5 }, `${label} v`);
      });
    }
  });

  it('is bit-identical on repeat', () => {
    const rng = makeRng(freshSeed());
    const n = 4099;
    const [p, g, m] = [randn(rng, n), randn(rng, n), randn(rng, n, 0.1)];
    const v = Float32Array.from(randn(rng, n), (x) => x * x);
    const h = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3, gradScale: 0.5 };
    for (const threads of [1, 2])
      withThreads(threads, () => {
        const a = update(p, g, m, v, h);
        const b = update(p, g, m, v, h);
        expect(bitsEqual(a.params, b.params) && bitsEqual(a.m, b.m) && bitsEqual(a.v, b.v)).toBe(true);
      });
  });

  it('rejects bad arguments with errors naming them', () => {
    const x = new Float32Array(4);
    expect(() => ops.adamwUpdate(x, x, x, new Float32Array(3), 4, 1e-3, 0.9, 0.95, 1e-8, 0, 1, 1)).toThrow(/v has length 3/);
    expect(() => ops.adamwUpdate(x, x, x, x, 4, 1e-3, 1, 0.95, 1e-8, 0, 1, 1)).toThrow(/beta1/);
    expect(() => ops.adamwUpdate(x, x, x, x, 4, 1e-3, 0.9, 0.95, 1e-8, 0, 0, 1)).toThrow(/step must be in/);
    expect(() => ops.adamwUpdate(x, new Float64Array(4), x, x, 4, 1e-3, 0.9, 0.95, 1e-8, 0, 1, 1)).toThrow(/grads must be a Float32Array/);
  });
});
