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

const clocks = {
  wall: () => Number(process.hrtime.bigint()) / 1e9,
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  },
};

/**
 * Best of `reps` runs of C = op(A) · op(B), in seconds of wall time (clock 'wall', the
 * default) or of process CPU time (clock 'cpu', meaningful with one thread).
 */
export function timeGemm(shape, operands, reps, clock = 'wall') {
  const { m, n, k, transA, transB } = shape;
  const { A, lda, B, ldb, C } = operands;
  const now = clocks[clock];
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    native._gemm(transA, transB, m, n, k, 1, A, lda, B, ldb, 0, C, n);
    best = Math.min(best, now() - t0);
  }
  return best;
}

/**
 * Checks 64 random entries of C (after a timed run) against a float64 dot product, so a
 * benchmark never reports the speed of a wrong result. Throws on a mismatch.
 */
export function checkGemm({ m, n, k, transA, transB }, { A, lda, B, ldb, C }) {
  for (let s = 0; s < 64; s++) {
    const i = Math.floor(Math.random() * m);
    const j = Math.floor(Math.random() * n);
    let sum = 0;
    let mag = 0;
    for (let p = 0; p < k; p++) {
      const ab = (transA ? A[p * lda + i] : A[i * lda + p]) * (transB ? B[j * ldb + p] : B[p * ldb + j]);
      sum += ab;
      mag += Math.abs(ab);
    }
    if (!(Math.abs(C[i * n + j] - sum) <= (k + 2) * 2 ** -24 * mag)) {
      throw new Error(`gemm ${m}x${n}x${k}: C[${i}, ${j}] = ${C[i * n + j]}, expected ${sum}`);
    }
  }
}
