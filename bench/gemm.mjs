// GEMM throughput against numpy (OpenBLAS sgemm) on the same thread count, timed interleaved
// in one run (other processes on the machine slow both sides alike); best of several rounds.
//   npm run bench -- gemm [--m M --n N --k K] [--transA] [--transB] [--threads T] [--reps R]
// (--threads defaults to 2, --reps, the number of interleaved rounds, to 10.) With --threads 1,
// --clock cpu times both sides in process CPU time instead of wall time, which other processes
// on a shared machine barely disturb.
// With no shape: square 256..2048 and the GPT model's shapes (N = 1024 rows, d = 256 and 768).
// Prints one JSON line per shape: {bench:'gemm', metric:'gflops', value, unit, shape, m, n, k,
// transA, transB, threads, clock, gflops, numpy_gflops, ratio, simd} (numpy_gflops and ratio
// are null without python3 + numpy; ratio = gflops / numpy_gflops).
// `--device cuda` runs our device GEMMs instead (bench/_gemm_cuda.mjs).
import { backendInfo, setThreads } from '../dist/native.js';
import { startNumpy } from './_numpy.mjs';
import { checkGemm, gemmOperands, timeGemm } from './_gemm_timer.mjs';
import { runCudaGemm } from './_gemm_cuda.mjs';

/** The model's GEMMs for width C (linear layers on N = 1024 rows of a [B, T] batch). */
function modelShapes(C, N = 1024) {
  const H = 4 * C;
  const s = (name, m, n, k, transA, transB) => ({ name, m, n, k, transA, transB });
  return [
    s(`qkv C=${C}`, N, 3 * C, C, false, true),
    s(`attn proj C=${C}`, N, C, C, false, true),
    s(`fc C=${C}`, N, H, C, false, true),
    s(`fc proj C=${C}`, N, C, H, false, true),
    s(`qkv dx C=${C}`, N, C, 3 * C, false, false),
    s(`fc proj dx C=${C}`, N, H, C, false, false),
    s(`qkv dW C=${C}`, 3 * C, C, N, true, false),
    s(`fc dW C=${C}`, H, C, N, true, false),
    s(`fc proj dW C=${C}`, C, H, N, true, false),
  ];
}

function defaultShapes() {
  const square = [256, 512, 1024, 2048].map((d) => ({ name: `square ${d}`, m: d, n: d, k: d, transA: false, transB: false }));
  const lmHead = (V, C) => ({ name: `lm head V=${V} C=${C}`, m: 1024, n: V, k: C, transA: false, transB: true });
  return [...square, ...modelShapes(256), ...modelShapes(768), lmHead(8192, 768), lmHead(50257, 768)];
}

function positiveInteger(value, name) {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer, got ${value}`);
  return value;
}

export async function run(options = {}) {
  if (options.device === 'cuda') return runCudaGemm(options); // bench/_gemm_cuda.mjs
  const threads = positiveInteger(options.threads ?? 2, 'threads');
  const rounds = positiveInteger(options.reps ?? 10, 'reps');
  const clock = options.clock ?? 'wall';
  if (clock !== 'wall' && clock !== 'cpu') throw new RangeError(`--clock must be wall or cpu, got ${clock}`);
  if (clock === 'cpu' && threads !== 1) throw new RangeError('--clock cpu needs --threads 1 (CPU time adds up over threads)');
  let shapes;
  if (options.m !== undefined || options.n !== undefined || options.k !== undefined) {
    const [m, n, k] = ['m', 'n', 'k'].map((d) => positiveInteger(options[d], d));
    shapes = [{ name: 'custom', m, n, k, transA: options.transA === true, transB: options.transB === true }];
  } else {
    shapes = defaultShapes();
  }
  setThreads(threads);
  const numpy = await startNumpy({ threads });
  try {
    for (const shape of shapes) {
      const flops = 2 * shape.m * shape.n * shape.k;
      const operands = gemmOperands(shape);
      const warm = timeGemm(shape, operands, 1);
      checkGemm(shape, operands);
      // About 20 ms of work per side per round: short rounds, so the best of them is likely to
      // fall in a quiet moment of a shared machine.
      const inner = Math.max(1, Math.min(50, Math.round(0.02 / warm)));
      let ours = Infinity;
      let theirs = Infinity;
      if (numpy) await numpy.time(shape, 1);
      for (let r = 0; r < rounds; r++) {
        if (numpy) theirs = Math.min(theirs, await numpy.time(shape, inner, clock));
        ours = Math.min(ours, timeGemm(shape, operands, inner, clock));
      }
      const gflops = flops / ours / 1e9;
      const numpyGflops = numpy ? flops / theirs / 1e9 : null;
      console.log(
        JSON.stringify({
          bench: 'gemm',
          metric: 'gflops',
          value: round(gflops),
          unit: 'GFLOP/s',
          shape: shape.name,
          m: shape.m,
          n: shape.n,
          k: shape.k,
          transA: shape.transA,
          transB: shape.transB,
          threads,
          clock,
          gflops: round(gflops),
          numpy_gflops: numpyGflops === null ? null : round(numpyGflops),
          ratio: numpyGflops === null ? null : round(gflops / numpyGflops, 3),
          simd: backendInfo().simd,
        }),
      );
    }
  } finally {
    numpy?.close();
  }
}

function round(x, digits = 1) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
