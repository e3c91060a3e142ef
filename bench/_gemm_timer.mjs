// Times tokenfilter's GEMM (the raw _gemm binding) on one shape with fresh random operands.
import { native } from '../dist/native.js';

/** Random operands for op(A)[m, k] · op(B)[k, n] in the stored layouts the flags imply. */
export function gemmOperands({ m, n, k, transA, transB }) {
  const random = (length) => {
    const x = new Float32Array(length);
    for (let i = 0; i < length; i++) x[i] = Math.random() * 2 - 1;
    return x;
  };
  return {
    A: random(m * k),
    lda: transA ? m : k,
    B: random(k * n),
    ldb: transB ? k : n,
    C: new Float32Array(m * n),
  };
}

/** Best of `reps` runs of C = op(A) · op(B), in seconds. */
export function timeGemm(shape, operands, reps) {
  const { m, n, k, transA, transB } = shape;
  const { A, lda, B, ldb, C } = operands;
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    native._gemm(transA, transB, m, n, k, 1, A, lda, B, ldb, 0, C, n);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}
