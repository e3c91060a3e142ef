// RoPE ("rotate half" pairs (d, d + hs/2), angle t * base^(-2d/hs)) vs a float64 reference.
import { describe, expect, it } from 'vitest';
import { bitsEqual, dot, expectClose, forEachBackend, freshSeed, makeRng, numericGradient, ops, randn, toF64, withThreads } from './helpers.js';

const base = 10000;

// Rotates the q part of x in place (float64): x [B, T, rowStride], heads at h * hs.
function ropeRef(x: Float64Array, B: number, T: number, NH: number, hs: number, rowStride: number): Float64Array {
  const y = Float64Array.from(x);
  const half = hs / 2;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < NH; h++)
        for (let d = 0; d < half; d++) {
          const angle = t * Math.pow(base, (-2 * d) / hs);
          const i0 = (b * T + t) * rowStride + h * hs + d;
          const i1 = i0 + half;
          y[i0] = x[i0] * Math.cos(angle) - x[i1] * Math.sin(angle);
          y[i1] = x[i0] * Math.sin(angle) + x[i1] * Math.cos(angle);
        }
  return y;
}

describe('rope', () => {
  it('forward matches float64 on the q part of a fused qkv buffer, leaving k and v untouched (atol 2e-5, rtol 1e-5)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const [B, T, NH, hs] of [[2, 5, 2, 4], [2, 300, 3, 64], [1, 17, 2, 34], [1, 4096, 1, 64]]) {
      const C = NH * hs;
      const qkv = randn(rng, B * T * 3 * C);
      const ref = ropeRef(toF64(qkv), B, T, NH, hs, 3 * C);
      forEachBackend((level, threads) => {
        const x = qkv.slice();
        ops.ropeForward(x, B, T, NH, hs, 3 * C, base);
        expectClose(x, ref, { atol: 2e-5, rtol: 1e-5 }, `seed ${seed} ${level} x${threads} T=${T} hs=${hs}`);
      });
      // the k part: pass a view starting at C
      const x = qkv.slice();
      ops.ropeForward(x.subarray(C), B, T, NH, hs, 3 * C, base);
      const refK = ropeRef(toF64(qkv.subarray(C)), B, T, NH, hs, 3 * C);
      expectClose(x.subarray(C), refK.subarray(0, x.length - C), { atol: 2e-5, rtol: 1e-5 }, `seed ${seed} k part`);
      expect(bitsEqual(x.subarray(0, C), qkv.subarray(0, C))).toBe(true);
    }
  });

  it('backward is the gradient of L = sum(rope(x) * R) (finite differences, every coordinate)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [B, T, NH, hs] = [2, 6, 2, 8];
    const C = NH * hs;
    const x = randn(rng, B * T * 3 * C);
    const R = randn(rng, B * T * 3 * C);
    const numeric = numericGradient((v) => dot(ropeRef(v, B, T, NH, hs, 3 * C), R), toF64(x));
    forEachBackend((level, threads) => {
      const g = R.slice();
      ops.ropeBackward(g, B, T, NH, hs, 3 * C, base);
      expectClose(g, numeric, { atol: 1e-5, rtol: 1e-4 }, `seed ${seed} ${level} x${threads}`);
    });
  });

  it('backward undoes forward and results repeat bit for bit', () => {
    const rng = makeRng(freshSeed());
    const [B, T, NH, hs] = [2, 64, 4, 32];
    const x = randn(rng, B * T * NH * hs);
    const y = x.slice();
    ops.ropeForward(y, B, T, NH, hs, NH * hs, base);
    ops.ropeBackward(y, B, T, NH, hs, NH * hs, base);
    expectClose(y, x, { atol: 1e-5, rtol: 1e-5 }, 'round trip');
    for (const threads of [1, 2])
      withThreads(threads, () => {
        const a = x.slice();
        const b = x.slice();
        ops.ropeForward(a, B, T, NH, hs, NH * hs, base);
        ops.ropeForward(b, B, T, NH, hs, NH * hs, base);
        expect(bitsEqual(a, b)).toBe(true);
      });
  });

  it('rejects bad arguments with errors naming them', () => {
    const x = new Float32Array(2 * 4 * 8);
    expect(() => ops.ropeForward(x, 2, 4, 2, 3, 8, base)).toThrow(/hs must be even/);
    expect(() => ops.ropeForward(x, 2, 4, 2, 4, 6, base)).toThrow(/rowStride/);
    expect(() => ops.ropeForward(x.subarray(1), 2, 4, 2, 4, 8, base)).toThrow(/x has length/);
    expect(() => ops.ropeForward(new Float64Array(64), 2, 4, 2, 4, 8, base)).toThrow(/x must be a Float32Array/);
    expect(() => ops.ropeBackward(x, 2, 4, 2, 4, 8, Number.NaN)).toThrow(/base/);
  });
});
