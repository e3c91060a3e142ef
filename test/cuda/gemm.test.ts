// The device GEMMs against a float64 reference, for every transpose pair, edge shapes that are
// not multiples of the 64 x 64 / 128 x 128 tiles or the depth stage, padded leading dimensions
// (odd ones too, so the tiled kernel's float4 loads fall back to element loads), alpha and beta
// (beta = 0 must not read C: it starts as NaN; the padding of ldc is never written). Each
// kernel is tested by name ('simple': 64 x 64; 'tiled': 128 x 128 x 32 tensor cores, bf16 /
// tf32 only) on the same shapes, and 'auto' (what the models use) on both sides of its switch.
// Tolerance per element, from its own products p_k = a_ik b_kj: the inputs' rounding gives an
// error of about u·sqrt(Σ p_k²) (u = unit roundoff of the input format: tf32 2^-11, bf16 2^-9),
// fp32 accumulation at most about 2^-24 Σ|p_k| per step; allowed: |alpha| (c·u·sqrt(Σ p_k²) +
// 2^-20 Σ|p_k|) + 1e-6 |beta C| with c = 8 (fp32: u = 2^-24), i.e. about 7 standard deviations.
import { expect, it } from 'vitest';
import { freshSeed, makeRng, randn } from '../native/ops/helpers.js';
import { describeCuda, gpuOps } from './helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);
const UNIT = { fp32: 2 ** -24, tf32: 2 ** -11, bf16: 2 ** -9 } as const;

interface Case { ta: boolean; tb: boolean; M: number; N: number; K: number; alpha: number; beta: number; lda: number; ldb: number; ldc: number }

// Float64 C = alpha op(A) op(B) + beta C0 (C0 ignored when beta = 0) and each element's tolerance.
function reference(c: Case, A: Float32Array, B: Float32Array, C0: Float32Array, u: number): { want: Float64Array; tol: Float64Array } {
  const want = new Float64Array(c.M * c.N), tol = new Float64Array(c.M * c.N);
  for (let i = 0; i < c.M; i++)
    for (let j = 0; j < c.N; j++) {
      let s = 0, sq = 0, abs = 0;
      for (let k = 0; k < c.K; k++) {
        const p = (c.ta ? A[k * c.lda + i] : A[i * c.lda + k]) * (c.tb ? B[j * c.ldb + k] : B[k * c.ldb + j]);
        s += p;
        sq += p * p;
        abs += Math.abs(p);
      }
      const c0 = c.beta === 0 ? 0 : c.beta * C0[i * c.ldc + j];
      want[i * c.N + j] = c.alpha * s + c0;
      tol[i * c.N + j] = Math.abs(c.alpha) * (8 * u * Math.sqrt(sq) + 2 ** -20 * abs) + 1e-6 * Math.abs(c0);
    }
  return { want, tol };
}

type Kernel = 'auto' | 'simple' | 'tiled';

function runCase(c: Case, precision: keyof typeof UNIT, kernel: Kernel = 'auto'): void {
  const A = randn(rng, (c.ta ? c.K : c.M) * c.lda), B = randn(rng, (c.tb ? c.N : c.K) * c.ldb);
  const C = c.beta === 0 ? new Float32Array(c.M * c.ldc).fill(Number.NaN) : randn(rng, c.M * c.ldc);
  const { want, tol } = reference(c, A, B, C, UNIT[precision]);
  const got = C.subarray(0, (c.M - 1) * c.ldc + c.N);
  const before = Float32Array.from(got);
  gpuOps.gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, c.lda, B, c.ldb, c.beta, got, c.ldc, precision, kernel);
  const label = `${precision} ${kernel} ${c.ta ? 'T' : 'N'}${c.tb ? 'T' : 'N'} ${c.M}x${c.N}x${c.K} alpha ${c.alpha} beta ${c.beta}`;
  let worst = -1, ratio = 0;
  for (let i = 0; i < c.M; i++)
    for (let j = 0; j < c.N; j++) {
      const r = Math.abs(got[i * c.ldc + j] - want[i * c.N + j]) / tol[i * c.N + j];
      if (!(r <= ratio)) [worst, ratio] = [i * c.N + j, r];
    }
  if (worst >= 0 && !(ratio <= 1)) {
    const i = Math.floor(worst / c.N), j = worst % c.N;
    expect.fail(`${label}: worst (${i}, ${j}): got ${got[i * c.ldc + j]}, expected ${want[worst]} (${ratio.toFixed(2)}x the tolerance ${tol[worst]})`);
  }
  for (let i = 0; i + 1 < c.M; i++)
    for (let j = c.N; j < c.ldc; j++) expect(Object.is(got[i * c.ldc + j], before[i * c.ldc + j]), `${label}: padding`).toBe(true);
}

const SMALL = [[1, 1, 1], [5, 7, 3], [64, 64, 32], [65, 130, 33], [200, 77, 300]];
// multiples of the 128 tile and depth 32, one past them, and a K shorter than a stage
const LARGE = [[128, 128, 32], [256, 384, 96], [129, 257, 33], [300, 200, 70], [130, 140, 5]];

function sweep(shapes: number[][], precision: keyof typeof UNIT, kernel: Kernel, pads: [number, number, number]): void {
  for (const [M, N, K] of shapes)
    for (const ta of [false, true])
      for (const tb of [false, true])
        for (const [alpha, beta] of [[1, 0], [0.5, 1.5]])
          runCase({ ta, tb, M, N, K, alpha, beta, lda: (ta ? M : K) + pads[0], ldb: (tb ? K : N) + pads[1], ldc: N + pads[2] }, precision, kernel);
}

describeCuda(`CUDA GEMM vs float64 (seed ${seed})`, () => {
  for (const precision of ['fp32', 'tf32', 'bf16'] as const) {
    it(`${precision} simple: every transpose pair, edge shapes, padded strides, alpha/beta (tolerance: header comment)`, () => {
      sweep(SMALL, precision, 'simple', [3, 1, 2]);
      sweep(LARGE.slice(0, 3), precision, 'simple', [3, 1, 2]);
    });
    // simple below 128 or below one 128-block per SM; 1600 x 1500 is 156 blocks, more than the SMs of an A100 / H100 / H200
    it(`${precision} auto: both sides of its switch (tolerance: header comment)`, () => {
      sweep([[127, 300, 40], [128, 128, 64], [300, 129, 33], [1600, 1500, 9]], precision, 'auto', [0, 0, 0]);
    });
  }
  for (const precision of ['tf32', 'bf16'] as const) {
    it(`${precision} tiled: every transpose pair, edge shapes, aligned and odd strides, alpha/beta (tolerance: header comment)`, () => {
      sweep(LARGE, precision, 'tiled', [0, 0, 0]); // float4 loads
      sweep(LARGE, precision, 'tiled', [4, 8, 1]); // float4 loads, padded
      sweep(LARGE, precision, 'tiled', [3, 1, 2]); // element loads
      sweep(SMALL, precision, 'tiled', [1, 0, 0]); // one partial tile
    });
  }
  it('the tiled kernel refuses fp32 (no tensor-core fp32)', () => {
    const A = new Float32Array(4), C = new Float32Array(4);
    expect(() => gpuOps.gemm(false, false, 2, 2, 2, 1, A, 2, A, 2, 0, C, 2, 'fp32', 'tiled')).toThrow(/bf16 or tf32/);
  });
});
