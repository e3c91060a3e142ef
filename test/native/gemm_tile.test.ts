// The CUDA tiled GEMM's index math (native/kernels/gemm_tile_math.h), run on the host: the
// emulation (_gemmTiledEmulate) moves data exactly as gemm_tiled.cu does (which thread loads
// which float4 of which operand tile, where it lands in shared memory, how the WMMA fragments
// read it in the layout the kernel declares, where the epilogue writes) and must give the
// float64 product within fp32 rounding, for every transpose pair, edge tiles, padded and odd
// leading dimensions, alpha and beta. A read of shared memory nobody wrote would be NaN; the
// padding of ldc must stay untouched.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { freshSeed, makeRng, randn } from './ops/helpers.js';

const seed = freshSeed();
const rng = makeRng(seed);

describe(`CUDA tiled GEMM index math, emulated on the host (seed ${seed})`, () => {
  it('computes op(A) op(B) for every transpose pair and edge shape (fp32 tolerance)', () => {
    for (const [M, N, K] of [[128, 128, 32], [5, 7, 3], [129, 257, 33], [300, 140, 70], [256, 130, 100]])
      for (const ta of [false, true])
        for (const tb of [false, true])
          for (const [alpha, beta, pad] of [[1, 0, 0], [0.5, 1.5, 3]]) {
            const lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + 2 * pad, ldc = N + pad;
            const A = randn(rng, (ta ? K : M) * lda), B = randn(rng, (tb ? N : K) * ldb);
            const C = beta === 0 ? new Float32Array(M * ldc).fill(Number.NaN) : randn(rng, M * ldc);
            const before = Float32Array.from(C);
            native._gemmTiledEmulate(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            const label = `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} ${M}x${N}x${K} alpha ${alpha} beta ${beta} pad ${pad}`;
            for (let i = 0; i < M; i++) {
              for (let j = 0; j < N; j++) {
                let s = 0, abs = 0;
                for (let k = 0; k < K; k++) {
                  const p = (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
                  s += p;
                  abs += Math.abs(p);
                }
                const c0 = beta === 0 ? 0 : beta * before[i * ldc + j];
                const want = alpha * s + c0, got = C[i * ldc + j];
                if (!(Math.abs(got - want) <= 2 ** -20 * (Math.abs(alpha) * abs + Math.abs(c0)) + 1e-30))
                  expect.fail(`${label}: (${i}, ${j}): got ${got}, expected ${want}`);
              }
              for (let j = N; j < ldc; j++) expect(Object.is(C[i * ldc + j], before[i * ldc + j]), `${label}: ldc padding`).toBe(true);
            }
          }
  });
});
