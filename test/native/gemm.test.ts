// tf::gemm against a float64 reference on fresh random inputs, for every transpose pair,
// every SIMD level this CPU has, and 1 and 2 threads.
//
// Tolerance: |C - ref| <= (K + 3) * 2^-24 * (|alpha| * sum_k |a_ik b_kj| + |beta c_ij|) per
// element: the worst-case rounding bound of a float32 sum of K + 2 products (any summation
// order), so a correct kernel cannot fail it and an indexing or edge-tile bug (an O(1) error)
// cannot pass it.
import { randomInt } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { backendInfo, native, setSimdLevel, setThreads, type SimdLevel } from '../../lib/native.js';

const seed = randomInt(2 ** 31);
// mulberry32: a small seeded generator, so a failure can be reproduced from the printed seed.
let state = seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randomIn = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

const LEVELS: SimdLevel[] = ['scalar', 'avx2', 'avx512'];
const detected = backendInfo().detectedSimd;
const levels = LEVELS.slice(0, LEVELS.indexOf(detected) + 1);
const initialThreads = backendInfo().threads;

afterAll(() => {
  setSimdLevel(detected);
  setThreads(initialThreads);
});

interface Problem {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  A: Float32Array;
  lda: number;
  B: Float32Array;
  ldb: number;
  C0: Float32Array;
  ldc: number;
}

function randomArray(length: number): Float32Array {
  const x = new Float32Array(length);
  for (let i = 0; i < length; i++) x[i] = random() * 2 - 1;
  return x;
}

function makeProblem(M: number, N: number, K: number, transA: boolean, transB: boolean, alpha: number, beta: number): Problem {
  const lda = Math.max(1, (transA ? M : K) + randomIn(0, 3));
  const ldb = Math.max(1, (transB ? K : N) + randomIn(0, 3));
  const ldc = N + randomIn(0, 3);
  const C0 = randomArray(M * ldc);
  if (beta === 0) C0.fill(NaN); // beta == 0 must not read C
  return {
    transA, transB, M, N, K, alpha, beta,
    A: randomArray((transA ? K : M) * lda), lda,
    B: randomArray((transB ? N : K) * ldb), ldb,
    C0, ldc,
  };
}

/** Reference result and per-element error bound, in float64. */
function reference(p: Problem): { want: Float64Array; bound: Float64Array } {
  const { M, N, K, A, B, lda, ldb, C0, ldc, alpha, beta } = p;
  const want = new Float64Array(M * N);
  const bound = new Float64Array(M * N);
  const eps = (K + 3) * 2 ** -24;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      let mag = 0;
      for (let k = 0; k < K; k++) {
        const a = p.transA ? A[k * lda + i] : A[i * lda + k];
        const b = p.transB ? B[j * ldb + k] : B[k * ldb + j];
        sum += a * b;
        mag += Math.abs(a * b);
      }
      const c = beta === 0 ? 0 : beta * C0[i * ldc + j];
      // alpha == 0 means A and B are not read (BLAS semantics), so NaN there does not propagate.
      want[i * N + j] = (alpha === 0 ? 0 : alpha * sum) + c;
      bound[i * N + j] = eps * ((alpha === 0 ? 0 : Math.abs(alpha) * mag) + Math.abs(c)) + 1e-30;
    }
  }
  return { want, bound };
}

function runGemm(p: Problem): Float32Array {
  const C = p.C0.slice();
  native._gemm(p.transA, p.transB, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, C, p.ldc);
  return C;
}

function check(p: Problem, C: Float32Array, ref: { want: Float64Array; bound: Float64Array }, label: string): void {
  const { M, N, ldc } = p;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const got = C[i * ldc + j];
      const err = Math.abs(got - ref.want[i * N + j]);
      if (!(err <= ref.bound[i * N + j])) {
        throw new Error(
          `${label}: C[${i}, ${j}] = ${got}, want ${ref.want[i * N + j]} (error ${err}, bound ${ref.bound[i * N + j]}; seed ${seed})`,
        );
      }
    }
    // Padding columns between N and ldc must be untouched.
    for (let j = N; j < ldc && i * ldc + j < C.length; j++) {
      if (!Object.is(C[i * ldc + j], p.C0[i * ldc + j])) throw new Error(`${label}: wrote padding C[${i}, ${j}] (seed ${seed})`);
    }
  }
}

/** Runs one problem at every SIMD level and thread count and checks each result. */
function checkEverywhere(p: Problem): void {
  const ref = reference(p);
  for (const level of levels) {
    setSimdLevel(level);
    for (const threads of [1, 2]) {
      setThreads(threads);
      const label = `${level}, ${threads} thread(s), transA=${p.transA} transB=${p.transB} M=${p.M} N=${p.N} K=${p.K} alpha=${p.alpha} beta=${p.beta}`;
      check(p, runGemm(p), ref, label);
    }
  }
}

function sameBits(x: Float32Array, y: Float32Array): boolean {
  return Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) === 0;
}

const TRANSPOSES: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

describe('gemm', () => {
  it(`matches a float64 reference on odd and edge sizes (seed ${seed})`, () => {
    const sizes: Array<[number, number, number]> = [
      [1, 1, 1], [2, 7, 13], [13, 31, 33], [33, 65, 7], [65, 100, 257], [31, 1, 500], [1, 600, 300],
      [257, 33, 65], [100, 257, 800], // two depth blocks; large enough to run on 2 threads
      [4100, 3, 5], // several row blocks
      [7, 1100, 40], // several column blocks on a narrow A
      [600, 20, 400], // one column block: 2 threads split the rows
      [20, 3, 250_000], // K too deep to pack in one span
      [5000, 1, 500], [1, 3000, 800], // one column / one row of C, large enough to use 2 threads
      [randomIn(1, 300), randomIn(1, 300), randomIn(1, 300)],
    ];
    for (const [M, N, K] of sizes) {
      for (const [transA, transB] of TRANSPOSES) {
        const alpha = [1, -0.5, 1 + random()][randomIn(0, 2)];
        const beta = [0, 1, 0.3][randomIn(0, 2)];
        checkEverywhere(makeProblem(M, N, K, transA, transB, alpha, beta));
      }
    }
  });

  it('treats beta == 0 as overwrite, even over NaN, and K == 0 / alpha == 0 as C = beta * C', () => {
    for (const [transA, transB] of TRANSPOSES) {
      checkEverywhere(makeProblem(17, 45, 19, transA, transB, 1, 0));
      checkEverywhere(makeProblem(9, 40, 0, transA, transB, 1, 0.5));
      checkEverywhere(makeProblem(9, 40, 0, transA, transB, 1, 0));
      const p = makeProblem(5, 6, 7, transA, transB, 0, 2);
      p.A.fill(NaN); // alpha == 0: A and B are not read
      p.B.fill(NaN);
      checkEverywhere(p);
    }
  });

  it('runs a fused epilogue exactly once on every element of C, after its final value, on every path', () => {
    // the test epilogue of _gemm: c -> 2c + 1, counting visits per element
    const sizes: Array<[number, number, number]> = [
      [13, 31, 33], // small unpacked kernel (op(B) = B)
      [31, 1, 500], [1, 600, 300], [5000, 1, 500], // one column / one row of C
      [100, 257, 800], [600, 20, 400], [7, 1100, 40], // packed: two depth blocks, split rows, several column blocks
      [9, 40, 0], // K == 0
      [randomIn(1, 300), randomIn(1, 300), randomIn(1, 300)],
    ];
    for (const [M, N, K] of sizes) {
      for (const [transA, transB] of TRANSPOSES) {
        const p = makeProblem(M, N, K, transA, transB, 1, [0, 1][randomIn(0, 1)]);
        const ref = reference(p);
        const fused = { want: ref.want.map((w) => 2 * w + 1), bound: ref.bound.map((b) => 2 * b + 2 ** -23 * 4) };
        for (const level of levels) {
          setSimdLevel(level);
          for (const threads of [1, 2]) {
            setThreads(threads);
            const C = p.C0.slice();
            const visits = new Uint32Array(M * N);
            native._gemm(p.transA, p.transB, M, N, K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, C, p.ldc, visits);
            const label = `epilogue, ${level}, ${threads} thread(s), transA=${transA} transB=${transB} M=${M} N=${N} K=${K}`;
            const twice = visits.findIndex((v) => v !== 1);
            if (twice >= 0) throw new Error(`${label}: element ${twice} visited ${visits[twice]} times (seed ${seed})`);
            check(p, C, fused, label);
          }
        }
      }
    }
    expect(() => native._gemm(false, false, 2, 2, 2, 1, new Float32Array(4), 2, new Float32Array(4), 2, 0, new Float32Array(4), 2, new Uint32Array(3))).toThrow(
      /visits/,
    );
  });

  it('gives the same bits on every call and for 1 and 2 threads', () => {
    for (const level of levels) {
      setSimdLevel(level);
      const p = makeProblem(300, 200, 900, false, true, 1, 0);
      setThreads(1);
      const one = runGemm(p);
      setThreads(2);
      expect(sameBits(runGemm(p), one)).toBe(true);
      expect(sameBits(runGemm(p), one)).toBe(true);
    }
  });

  it('rejects bad arguments with errors naming them', () => {
    const A = new Float32Array(6);
    const B = new Float32Array(12);
    const C = new Float32Array(8);
    const call = (...overrides: Array<[number, unknown]>) => {
      const args: unknown[] = [false, false, 2, 4, 3, 1, A, 3, B, 4, 0, C, 4];
      for (const [i, v] of overrides) args[i] = v;
      return () => native._gemm(...args);
    };
    expect(call()).not.toThrow();
    expect(call([0, 1])).toThrow(TypeError);
    expect(call([0, 1])).toThrow(/transA/);
    expect(call([1, 'no'])).toThrow(/transB/);
    expect(call([2, -1])).toThrow(RangeError);
    expect(call([2, 1.5])).toThrow(TypeError);
    expect(call([3, 2 ** 40])).toThrow(/N must be in/);
    expect(call([4, NaN])).toThrow(/K must be an integer/);
    expect(call([5, NaN])).toThrow(/alpha/);
    expect(call([10, Infinity])).toThrow(/beta/);
    expect(call([7, 2])).toThrow(/lda must be >= 3/);
    expect(call([9, 3])).toThrow(/ldb must be >= 4/);
    expect(call([12, 3])).toThrow(/ldc must be >= 4/);
    expect(call([6, new Float32Array(5)])).toThrow(/A has length 5, but .* needs 6/);
    expect(call([6, new Float64Array(6)])).toThrow(/A must be a Float32Array/);
    expect(call([8, [1, 2, 3]])).toThrow(/B must be a Float32Array/);
    expect(call([8, new Float32Array(11)])).toThrow(/B has length 11/);
    expect(call([11, new Float32Array(7)])).toThrow(/C has length 7/);
    expect(call([12, 5])).toThrow(/C has length 8, but .* ldc = 5 needs 9/);
    // Transposed layouts: A stored [K, M] = [3, 2] needs lda >= 2 and 3 * lda - (lda - 2) floats.
    expect(call([0, true], [7, 2])).not.toThrow();
    expect(call([0, true], [7, 1])).toThrow(/lda must be >= 2/);
    expect(call([1, true], [9, 3])).not.toThrow();
    expect(call([1, true], [9, 2])).toThrow(/ldb must be >= 3/);
    expect(call([1, true], [8, new Float32Array(11)], [9, 3])).toThrow(/B has length 11/);
    const shared = new Float32Array(20);
    expect(call([6, shared.subarray(0, 6)], [11, shared.subarray(4, 12)])).toThrow(/C must not share memory with A/);
    expect(() => native._gemm(false, false, 1, 1, 1)).toThrow(/13 or 14 arguments/);
  });
});
