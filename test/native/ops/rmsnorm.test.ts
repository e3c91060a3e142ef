// RMSNorm vs a float64 reference; backward by finite differences of L = sum(out * R).
import { describe, expect, it } from 'vitest';
import {
  bitsEqual, directionalDerivative, dot, expectClose, forEachBackend, freshSeed, makeRng, numericGradient, ops,
  randn, toF64, withThreads,
} from './helpers.js';

const eps = 1e-5;

// inp [N, C], weight [C] -> out [N, C], rstd [N] in float64
function rmsnormRef(inp: ArrayLike<number>, weight: ArrayLike<number>, N: number, C: number) {
  const out = new Float64Array(N * C);
  const rstd = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let ss = 0;
    for (let j = 0; j < C; j++) ss += inp[i * C + j] ** 2;
    rstd[i] = 1 / Math.sqrt(ss / C + eps);
    for (let j = 0; j < C; j++) out[i * C + j] = inp[i * C + j] * rstd[i] * weight[j];
  }
  return { out, rstd };
}

function forward(inp: Float32Array, weight: Float32Array, N: number, C: number) {
  const out = new Float32Array(N * C);
  const rstd = new Float32Array(N);
  ops.rmsnormForward(out, rstd, inp, weight, N, C, eps);
  return { out, rstd };
}

// Returns the gradients added to the given starting buffers (backward accumulates).
function backward(inp: Float32Array, weight: Float32Array, dout: Float32Array, N: number, C: number, dinp0: Float32Array, dw0: Float32Array) {
  const { rstd } = forward(inp, weight, N, C);
  const dinp = dinp0.slice();
  const dweight = dw0.slice();
  ops.rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
  return { dinp, dweight };
}

describe('rmsnorm', () => {
  it('forward matches float64 at every SIMD level and thread count (atol 1e-5, rtol 1e-5)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const [N, C] of [[3, 7], [70, 768], [9, 100]]) {
      const inp = randn(rng, N * C, 3);
      const weight = randn(rng, C);
      const ref = rmsnormRef(inp, weight, N, C);
      forEachBackend((level, threads) => {
        const { out, rstd } = forward(inp, weight, N, C);
        const label = `seed ${seed} ${level} x${threads} N=${N} C=${C}`;
        expectClose(out, ref.out, { atol: 1e-5, rtol: 1e-5 }, `${label} out`);
        expectClose(rstd, ref.rstd, { atol: 0, rtol: 1e-5 }, `${label} rstd`);
      });
    }
  });

  it('backward accumulates the finite-difference gradient, every coordinate (atol 1e-4, rtol 1e-3)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [N, C] = [5, 19];
    const inp = randn(rng, N * C);
    const weight = randn(rng, C);
    const R = randn(rng, N * C);
    const dinp0 = randn(rng, N * C);
    const dw0 = randn(rng, C);
    const numInp = numericGradient((x) => dot(rmsnormRef(x, weight, N, C).out, R), toF64(inp));
    const numW = numericGradient((w) => dot(rmsnormRef(inp, w, N, C).out, R), toF64(weight));
    forEachBackend((level, threads) => {
      const { dinp, dweight } = backward(inp, weight, R, N, C, dinp0, dw0);
      const label = `seed ${seed} ${level} x${threads}`;
      expectClose(dinp, numInp.map((g, i) => g + dinp0[i]), { atol: 1e-4, rtol: 1e-3 }, `${label} dinp`);
      expectClose(dweight, numW.map((g, i) => g + dw0[i]), { atol: 1e-4, rtol: 1e-3 }, `${label} dweight`);
    });
  });

  it('backward passes directional checks at the model width', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [N, C] = [40, 768];
    const inp = randn(rng, N * C);
    const weight = randn(rng, C);
    const R = randn(rng, N * C);
    const u = toF64(randn(rng, N * C));
    const uw = toF64(randn(rng, C));
    const numInp = directionalDerivative((x) => dot(rmsnormRef(x, weight, N, C).out, R), toF64(inp), u);
    const numW = directionalDerivative((w) => dot(rmsnormRef(inp, w, N, C).out, R), toF64(weight), uw);
    forEachBackend((level, threads) => {
      const zeros = new Float32Array(N * C);
      const { dinp, dweight } = backward(inp, weight, R, N, C, zeros, new Float32Array(C));
      const label = `seed ${seed} ${level} x${threads}`;
      expect(Math.abs(dot(dinp, u) - numInp), `${label} dinp`).toBeLessThan(1e-4 * Math.abs(numInp) + 1e-3);
      expect(Math.abs(dot(dweight, uw) - numW), `${label} dweight`).toBeLessThan(1e-4 * Math.abs(numW) + 1e-3);
    });
  });

  it('is bit-identical on repeat for a fixed thread count', () => {
    const rng = makeRng(freshSeed());
    const [N, C] = [200, 96];
    const inp = randn(rng, N * C);
    const weight = randn(rng, C);
    const R = randn(rng, N * C);
    for (const threads of [1, 2])
      withThreads(threads, () => {
        const a = backward(inp, weight, R, N, C, new Float32Array(N * C), new Float32Array(C));
        const b = backward(inp, weight, R, N, C, new Float32Array(N * C), new Float32Array(C));
        expect(bitsEqual(a.dinp, b.dinp) && bitsEqual(a.dweight, b.dweight)).toBe(true);
      });
  });

  it('rejects bad arguments with errors naming them', () => {
    const [N, C] = [2, 4];
    const x = new Float32Array(N * C);
    const w = new Float32Array(C);
    expect(() => ops.rmsnormForward(x, new Float32Array(N), x, new Float32Array(C - 1), N, C, eps)).toThrow(/weight has length 3/);
    expect(() => ops.rmsnormForward(x, new Float32Array(N), [1, 2], w, N, C, eps)).toThrow(/inp must be a Float32Array/);
    expect(() => ops.rmsnormForward(x, new Float32Array(N), x, w, N, C, 0)).toThrow(/eps/);
    expect(() => ops.rmsnormBackward(x, w, x, x, w, new Float32Array(1), N, C)).toThrow(/rstd has length/);
  });
});
