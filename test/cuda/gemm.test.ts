// The device GEMMs against a float64 reference, for every transpose pair, edge shapes that are
// not multiples of the 64 x 64 tile or the depth stage, padded leading dimensions, alpha and
// beta (beta = 0 must not read C: it starts as NaN). Tolerances scale with sqrt(K) for N(0, 1)
// inputs: fp32 2e-5·√K, tf32 4e-3·√K, bf16 3e-2·√K (a few standard deviations of the
// rounding error of the inputs: unit roundoff 2^-24, 2^-11, 2^-8).
import { expect, it } from 'vitest';
import { expectClose, freshSeed, makeRng, randn } from '../native/ops/helpers.js';
import { describeCuda, gpuOps } from './helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);
const TOL = { fp32: 2e-5, tf32: 4e-3, bf16: 3e-2 } as const;

// C = alpha op(A) op(B) + beta C0 in float64 (C0 ignored when beta = 0)
function reference(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
  B: Float32Array, ldb: number, beta: number, C0: Float32Array, ldc: number): Float64Array {
  const out = Float64Array.from(C0);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      out[i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * C0[i * ldc + j]);
    }
  return out;
}

describeCuda(`CUDA GEMM vs float64 (seed ${seed})`, () => {
  for (const precision of ['fp32', 'tf32', 'bf16'] as const) {
    it(`${precision}: every transpose pair, edge shapes, padded strides, alpha/beta (atol ${TOL[precision]}·√K)`, () => {
      const shapes = [[1, 1, 1], [5, 7, 3], [64, 64, 32], [65, 130, 33], [200, 77, 300]];
      for (const [M, N, K] of shapes)
        for (const ta of [false, true])
          for (const tb of [false, true])
            for (const [alpha, beta] of [[1, 0], [0.5, 1.5]]) {
              const lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
              const A = randn(rng, (ta ? K : M) * lda), B = randn(rng, (tb ? N : K) * ldb);
              const C = beta === 0 ? new Float32Array(M * ldc).fill(Number.NaN) : randn(rng, M * ldc);
              const want = reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
              const got = C.subarray(0, (M - 1) * ldc + N);
              const before = Float32Array.from(got);
              gpuOps.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, got, ldc, precision);
              const label = `${precision} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${M}x${N}x${K} alpha ${alpha} beta ${beta}`;
              const rows: number[] = [], wantRows: number[] = [];
              for (let i = 0; i < M; i++)
                for (let j = 0; j < N; j++) {
                  rows.push(got[i * ldc + j]);
                  wantRows.push(want[i * ldc + j]);
                }
              expectClose(rows, wantRows, { atol: TOL[precision] * Math.sqrt(K), rtol: 0 }, label);
              // the padding columns of ldc are never written
              for (let i = 0; i + 1 < M; i++)
                for (let j = N; j < ldc; j++) expect(Object.is(got[i * ldc + j], before[i * ldc + j]), `${label}: padding`).toBe(true);
            }
    });
  }
});
