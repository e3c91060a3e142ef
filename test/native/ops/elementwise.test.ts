// ReLU², embedding and sum of squares vs float64 references.
import { describe, expect, it } from 'vitest';
import { bitsEqual, expectClose, forEachBackend, freshSeed, makeRng, numericGradient, ops, randn, toF64, withThreads } from './helpers.js';

describe('relu2', () => {
  it('forward and backward match float64 and finite differences at every SIMD level and thread count', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const n = 70_001;
    const inp = randn(rng, n);
    const dout = randn(rng, n);
    const refOut = Float64Array.from(inp, (x) => Math.max(x, 0) ** 2);
    // d/dx of sum(relu2(x) * dout), by central differences on a sample away from the kink at 0
    const sample = Array.from({ length: 200 }, () => rng.below(n)).filter((i) => Math.abs(inp[i]) > 1e-3);
    const numeric = sample.map((i) => {
      const f = (x: number) => Math.max(x, 0) ** 2 * dout[i];
      return (f(inp[i] + 1e-6) - f(inp[i] - 1e-6)) / 2e-6;
    });
    forEachBackend((level, threads) => {
      const label = `seed ${seed} ${level} x${threads}`;
      const out = new Float32Array(n);
      ops.relu2Forward(out, inp, n);
      expectClose(out, refOut, { atol: 0, rtol: 1e-6 }, `${label} out`);
      const dinp = new Float32Array(n).fill(Number.NaN);
      ops.relu2Backward(dinp, dout, inp, n);
      expectClose(sample.map((i) => dinp[i]), numeric, { atol: 1e-6, rtol: 1e-5 }, `${label} dinp`);
      expectClose(dinp, Float64Array.from(inp, (x, i) => 2 * Math.max(x, 0) * dout[i]), { atol: 0, rtol: 1e-6 }, `${label} dinp all`);
    });
  });

  it('rejects bad arguments', () => {
    expect(() => ops.relu2Forward(new Float32Array(3), new Float32Array(2), 3)).toThrow(/inp has length 2/);
    expect(() => ops.relu2Backward(new Float32Array(3), null, new Float32Array(3), 3)).toThrow(/dout must be a Float32Array/);
  });
});

describe('embedding', () => {
  it('forward copies rows; backward accumulates the finite-difference gradient (repeated tokens add up)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [N, C, V] = [9, 12, 5];
    const wte = randn(rng, V * C);
    const tokens = Uint32Array.from([0, 3, 3, 4, 1, 3, 0, 2, 4]);
    const R = randn(rng, N * C);
    const lookup = (w: ArrayLike<number>) => {
      let l = 0;
      for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) l += w[tokens[i] * C + c] * R[i * C + c];
      return l;
    };
    const numeric = numericGradient(lookup, toF64(wte));
    const start = randn(rng, V * C);
    forEachBackend((level, threads) => {
      const label = `seed ${seed} ${level} x${threads}`;
      const out = new Float32Array(N * C);
      ops.embeddingForward(out, tokens, wte, N, C, V);
      for (let i = 0; i < N; i++)
        expect(bitsEqual(out.subarray(i * C, (i + 1) * C), wte.subarray(tokens[i] * C, (tokens[i] + 1) * C)), label).toBe(true);
      const dwte = start.slice();
      ops.embeddingBackward(dwte, R, tokens, N, C, V);
      expectClose(dwte, numeric.map((g, i) => g + start[i]), { atol: 1e-5, rtol: 1e-5 }, `${label} dwte`);
    });
  });

  it('backward is bit-identical across thread counts at the model width', () => {
    const rng = makeRng(freshSeed());
    const [N, C, V] = [1024, 768, 300];
    const tokens = Uint32Array.from({ length: N }, () => rng.below(V));
    const dout = randn(rng, N * C);
    const run = (threads: number) =>
      withThreads(threads, () => {
        const dwte = new Float32Array(V * C);
        ops.embeddingBackward(dwte, dout, tokens, N, C, V);
        return dwte;
      });
    expect(bitsEqual(run(1), run(2))).toBe(true);
  });

  it('rejects token ids >= V and bad arrays, naming the argument', () => {
    const [N, C, V] = [2, 4, 3];
    const out = new Float32Array(N * C);
    const wte = new Float32Array(V * C);
    expect(() => ops.embeddingForward(out, Uint32Array.from([0, 3]), wte, N, C, V)).toThrow(/tokens\[1\] = 3 is out of range/);
    expect(() => ops.embeddingForward(out, Uint32Array.from([0]), wte, N, C, V)).toThrow(/tokens has length 1/);
    expect(() => ops.embeddingForward(out, Uint32Array.from([0, 1]), wte.subarray(1), N, C, V)).toThrow(/wte has length/);
    expect(() => ops.embeddingBackward(wte, out, [0, 1], N, C, V)).toThrow(/tokens must be a Uint32Array/);
    expect(() => ops.embeddingBackward(wte, out, Uint32Array.from([7, 1]), N, C, V)).toThrow(RangeError);
  });
});

describe('sumOfSquares', () => {
  it('matches float64 (rtol 1e-12) and is bit-identical for 1 and 2 threads at every SIMD level', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const n of [0, 1, 17, 300_001]) {
      const x = randn(rng, n, 3);
      let ref = 0;
      for (let i = 0; i < n; i++) ref += x[i] * x[i];
      let previous: number | undefined;
      forEachBackend((level, threads) => {
        const s = ops.sumOfSquares(x);
        expect(Math.abs(s - ref), `seed ${seed} ${level} x${threads} n=${n}`).toBeLessThanOrEqual(1e-12 * ref);
        if (threads === 2) expect(s).toBe(previous);
        previous = s;
      });
    }
  });

  it('rejects a non-Float32Array', () => {
    expect(() => ops.sumOfSquares(new Float64Array(3))).toThrow(/x must be a Float32Array/);
  });
});
