// Causal attention vs a float64 oracle that builds the full [T, T] softmax; gradients by
// finite differences of L = sum(out * R).
import { describe, expect, it } from 'vitest';
import {
  bitsEqual, directionalDerivative, dot, expectClose, forEachBackend, freshSeed, makeRng, numericGradient, ops,
  randn, toF64, withThreads,
} from './helpers.js';

// qkv [B, T, 3C] -> out [B, T, C], lse [B, NH, T], all float64, materialising each [T, T] softmax.
function attentionRef(qkv: ArrayLike<number>, B: number, T: number, C: number, NH: number) {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  const out = new Float64Array(B * T * C);
  const lse = new Float64Array(B * NH * T);
  const scores = new Float64Array(T * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++) {
      for (let t = 0; t < T; t++) {
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let acc = 0;
          for (let d = 0; d < hs; d++) acc += qkv[(b * T + t) * 3 * C + h * hs + d] * qkv[(b * T + s) * 3 * C + C + h * hs + d];
          scores[t * T + s] = acc * scale;
          max = Math.max(max, acc * scale);
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += Math.exp(scores[t * T + s] - max);
        lse[(b * NH + h) * T + t] = max + Math.log(sum);
        for (let s = 0; s <= t; s++) {
          const p = Math.exp(scores[t * T + s] - max) / sum;
          for (let d = 0; d < hs; d++) out[(b * T + t) * C + h * hs + d] += p * qkv[(b * T + s) * 3 * C + 2 * C + h * hs + d];
        }
      }
    }
  return { out, lse };
}

function runForward(qkv: Float32Array, B: number, T: number, C: number, NH: number) {
  const out = new Float32Array(B * T * C);
  const lse = new Float32Array(B * NH * T);
  ops.attentionForward(out, lse, qkv, B, T, C, NH);
  return { out, lse };
}

function runBackward(qkv: Float32Array, dout: Float32Array, B: number, T: number, C: number, NH: number) {
  const { out, lse } = runForward(qkv, B, T, C, NH);
  const dqkv = new Float32Array(qkv.length).fill(Number.NaN); // written, never read
  ops.attentionBackward(dqkv, dout, qkv, out, lse, B, T, C, NH);
  return dqkv;
}

const forwardTol = { atol: 2e-5, rtol: 1e-4 };
const lseTol = { atol: 2e-5, rtol: 1e-5 };

describe('attention', () => {
  // Shapes exercise hs = 16, 32, 64, 128, T below, at and across block sizes (64), and B, NH > 1.
  const shapes = [
    { B: 2, T: 5, C: 32, NH: 2 },
    { B: 1, T: 67, C: 96, NH: 3 },
    { B: 2, T: 130, C: 128, NH: 2 },
    { B: 1, T: 193, C: 256, NH: 2 },
  ];

  it('forward matches the float64 oracle at every SIMD level and thread count (atol 2e-5, rtol 1e-4)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const { B, T, C, NH } of shapes) {
      const qkv = randn(rng, B * T * 3 * C);
      const ref = attentionRef(qkv, B, T, C, NH);
      forEachBackend((level, threads) => {
        const { out, lse } = runForward(qkv, B, T, C, NH);
        const label = `seed ${seed} ${level} x${threads} B=${B} T=${T} C=${C} NH=${NH}`;
        expectClose(out, ref.out, forwardTol, `${label} out`);
        expectClose(lse, ref.lse, lseTol, `${label} lse`);
      });
    }
  });

  it('handles large scores without overflow (scores up to ~100)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [B, T, C, NH] = [1, 40, 32, 1];
    const qkv = randn(rng, B * T * 3 * C, 2.5);
    const ref = attentionRef(qkv, B, T, C, NH);
    const { out, lse } = runForward(qkv, B, T, C, NH);
    expectClose(out, ref.out, { atol: 1e-4, rtol: 1e-4 }, `seed ${seed} out`);
    expectClose(lse, ref.lse, { atol: 1e-3, rtol: 1e-5 }, `seed ${seed} lse`);
  });

  it('backward matches central differences of the float64 forward, every coordinate (atol 1e-4, rtol 1e-3)', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    const [B, T, C, NH] = [2, 6, 8, 2];
    const qkv = randn(rng, B * T * 3 * C);
    const R = randn(rng, B * T * C);
    const loss = (x: Float64Array) => dot(attentionRef(x, B, T, C, NH).out, R);
    const numeric = numericGradient(loss, toF64(qkv));
    forEachBackend((level, threads) => {
      const dqkv = runBackward(qkv, R, B, T, C, NH);
      expectClose(dqkv, numeric, { atol: 1e-4, rtol: 1e-3 }, `seed ${seed} ${level} x${threads} dqkv`);
    });
  });

  it('backward passes directional finite-difference checks on q, k and v separately at larger shapes', () => {
    const seed = freshSeed();
    const rng = makeRng(seed);
    for (const { B, T, C, NH } of shapes.slice(1)) {
      const qkv = randn(rng, B * T * 3 * C);
      const R = randn(rng, B * T * C);
      const loss = (x: Float64Array) => dot(attentionRef(x, B, T, C, NH).out, R);
      // a random direction restricted to the q, k or v part of every row, and L's derivative along it
      const checks = [0, 1, 2].map((part) => {
        const u = new Float64Array(qkv.length);
        for (let row = 0; row < B * T; row++)
          for (let c = 0; c < C; c++) u[row * 3 * C + part * C + c] = rng.normal();
        return { part, u, numeric: directionalDerivative(loss, toF64(qkv), u) };
      });
      forEachBackend((level, threads) => {
        const dqkv = runBackward(qkv, R, B, T, C, NH);
        for (const { part, u, numeric } of checks) {
          const analytic = dot(dqkv, u);
          const label = `seed ${seed} ${level} x${threads} T=${T} part ${'qkv'[part]}`;
          expect(Math.abs(analytic - numeric), label).toBeLessThan(1e-3 * Math.abs(numeric) + 1e-3);
        }
      });
    }
  });

  it('is bit-identical on repeat for a fixed thread count', () => {
    const rng = makeRng(freshSeed());
    const [B, T, C, NH] = [2, 70, 64, 2];
    const qkv = randn(rng, B * T * 3 * C);
    const R = randn(rng, B * T * C);
    for (const threads of [1, 2])
      withThreads(threads, () => {
        const a = runBackward(qkv, R, B, T, C, NH);
        const b = runBackward(qkv, R, B, T, C, NH);
        expect(bitsEqual(a, b)).toBe(true);
        expect(bitsEqual(runForward(qkv, B, T, C, NH).out, runForward(qkv, B, T, C, NH).out)).toBe(true);
      });
  });

  it('rejects bad arguments with errors naming them', () => {
    const [B, T, C, NH] = [1, 4, 8, 2];
    const out = new Float32Array(B * T * C);
    const lse = new Float32Array(B * NH * T);
    const qkv = new Float32Array(B * T * 3 * C);
    expect(() => ops.attentionForward(out, lse, new Float64Array(qkv.length), B, T, C, NH)).toThrow(TypeError);
    expect(() => ops.attentionForward(out, lse, new Float64Array(qkv.length), B, T, C, NH)).toThrow(/qkv/);
    expect(() => ops.attentionForward(out, lse, qkv.subarray(1), B, T, C, NH)).toThrow(RangeError);
    expect(() => ops.attentionForward(out, new Float32Array(3), qkv, B, T, C, NH)).toThrow(/lse/);
    expect(() => ops.attentionForward(out, lse, qkv, B, T, C, 3)).toThrow(/multiple of NH/);
    expect(() => ops.attentionForward(out, lse, qkv, 0, T, C, NH)).toThrow(/B must be/);
    expect(() => ops.attentionBackward(qkv, out, qkv, out.subarray(2), lse, B, T, C, NH)).toThrow(/out has length/);
    expect(() => ops.attentionBackward(qkv, 'x', qkv, out, lse, B, T, C, NH)).toThrow(/dout must be a Float32Array/);
  });
});
